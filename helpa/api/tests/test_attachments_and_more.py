"""A ticket's files (listed, downloaded, uploaded with a reply or note), its sub-tickets and its
time entries through the API: what a token sees and may do, and what is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.tickets import actions
from helpa.tickets.models import (
    Attachment,
    HelpdeskSettings,
    HistoryEntry,
    Queue,
    Ticket,
    TimeEntry,
)

TICKETS = "/api/v1/tickets/"
PDF = b"%PDF-1.4 the invoice\n" + bytes(range(256))


def url(ticket: Ticket, rest: str = "") -> str:
    return f"{TICKETS}{ticket.number}/{rest}"


def upload(name: str = "invoice.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def billing_ticket(admin: User, queue_billing: Queue) -> Ticket:
    ticket = actions.open_ticket(admin, queue=queue_billing, title="Invoice 4711 is wrong")
    actions.add_note(admin, ticket, "<p>scan</p>", attachments=[upload("secret.pdf")])
    actions.add_note(admin, ticket, "<p>worked</p>", time_spent_minutes=15)
    return ticket


def _billing_attachment(ticket: Ticket) -> Attachment:
    return Attachment.objects.get(ticket=ticket)


# --- Attachments ---------------------------------------------------------------------------------


def test_a_file_sent_with_a_note_is_listed_and_downloads_byte_for_byte(alice_api, ticket):
    response = alice_api.post(
        url(ticket, "note/"),
        {"body": "The scan", "format": "text", "files": [upload(), upload("b.txt", b"hello")]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    note = response.json()
    assert [a["filename"] for a in note["attachments"]] == ["invoice.pdf", "b.txt"]

    listed = alice_api.get(url(ticket, "attachments/")).json()["results"]
    assert [(a["filename"], a["size"], a["article"]) for a in listed] == [
        ("invoice.pdf", len(PDF), note["id"]),
        ("b.txt", 5, note["id"]),
    ]
    download = alice_api.get(listed[0]["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert "sandbox" in download["Content-Security-Policy"]
    # A client that asks for the file's own type gets it too.
    assert alice_api.get(listed[1]["download_url"], HTTP_ACCEPT="text/plain").status_code == 200


def test_a_reply_may_be_only_a_file(alice_api, ticket):
    response = alice_api.post(url(ticket, "reply/"), {"files": [upload()]}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "reply"
    assert Attachment.objects.filter(ticket=ticket).count() == 1
    empty = alice_api.post(url(ticket, "reply/"), {"body": " "}, format="multipart")
    assert empty.status_code == 400 and list(empty.json()["errors"]) == ["body"]


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(alice_api, ticket, settings):
    HelpdeskSettings.objects.update_or_create(pk=1, defaults={"max_attachment_mb": 1})
    big = upload("big.bin", b"x" * (1024 * 1024 + 1))
    response = alice_api.post(
        url(ticket, "reply/"), {"body": "see file", "files": [upload(), big]}, format="multipart"
    )
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == ["files"]
    assert "big.bin" in body["errors"]["files"][0] and "1.0" in body["errors"]["files"][0]
    assert not Attachment.objects.exists()
    assert ticket.articles.count() == 0
    assert not [f for f in Path(settings.MEDIA_ROOT).rglob("*") if f.is_file()]


def test_an_empty_file_is_refused(alice_api, ticket):
    response = alice_api.post(
        url(ticket, "note/"), {"body": "x", "files": [upload("empty.txt", b"")]}, format="multipart"
    )
    assert response.status_code == 400
    assert "empty.txt" in response.json()["errors"]["files"][0]
    assert not Attachment.objects.exists()


def test_another_queues_files_do_not_exist(alice_api, ticket, billing_ticket):
    actions.add_note(ticket.created_by, ticket, "<p>mine</p>", attachments=[upload()])
    theirs = _billing_attachment(billing_ticket)
    assert alice_api.get(url(billing_ticket, "attachments/")).status_code == 404
    assert (
        alice_api.get(url(billing_ticket, f"attachments/{theirs.pk}/download/")).status_code == 404
    )
    # Nor through a ticket alice may see: the id must belong to the ticket in the URL.
    response = alice_api.get(url(ticket, f"attachments/{theirs.pk}/download/"))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    refused = alice_api.post(
        url(billing_ticket, "note/"), {"files": [upload()]}, format="multipart"
    )
    assert refused.status_code == 404
    assert Attachment.objects.filter(ticket=billing_ticket).count() == 1


def test_an_admin_downloads_an_internal_notes_file(admin, api_for, billing_ticket):
    attachment = _billing_attachment(billing_ticket)
    response = api_for(admin).get(url(billing_ticket, f"attachments/{attachment.pk}/download/"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


def test_a_read_only_token_lists_and_downloads_but_does_not_upload(alice, api_for, ticket):
    actions.add_note(alice, ticket, "<p>x</p>", attachments=[upload()])
    client = api_for(alice, Scope.READ)
    listed = client.get(url(ticket, "attachments/")).json()["results"]
    assert client.get(listed[0]["download_url"]).status_code == 200
    for rest in ("reply/", "note/"):
        response = client.post(url(ticket, rest), {"files": [upload()]}, format="multipart")
        assert response.status_code == 403
    assert Attachment.objects.filter(ticket=ticket).count() == 1


def test_a_customer_gets_nothing(customer, alice, ticket):
    actions.add_reply(alice, ticket, "<p>x</p>", attachments=[upload()])
    attachment = Attachment.objects.get(ticket=ticket)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(customer)
    for path in (
        url(ticket, "attachments/"),
        url(ticket, f"attachments/{attachment.pk}/download/"),
        url(ticket, "children/"),
        url(ticket, "time-entries/"),
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(url(ticket, "reply/"), {"files": [upload()]}).status_code == 403
    assert Attachment.objects.filter(ticket=ticket).count() == 1


@pytest.mark.parametrize("count", [2, 20])
def test_the_attachment_list_costs_a_fixed_number_of_queries(
    alice, alice_api, ticket, count, django_assert_max_num_queries
):
    for i in range(count):
        actions.add_note(alice, ticket, f"<p>{i}</p>", attachments=[upload(f"f{i}.pdf")])
    alice_api.get("/api/v1/me/")  # the token's "last used" is written once a minute
    # token+user, the user's queues, the ticket, the page
    with django_assert_max_num_queries(4):
        response = alice_api.get(url(ticket, "attachments/"))
    assert len(response.json()["results"]) == count


# --- Sub-tickets ---------------------------------------------------------------------------------


def test_a_sub_ticket_is_opened_with_a_parent_and_listed(alice, alice_api, ticket, queue_support):
    response = alice_api.post(
        TICKETS,
        {"title": "Order toner", "queue": queue_support.pk, "parent": ticket.number},
        format="json",
    )
    assert response.status_code == 201, response.json()
    child = response.json()
    assert child["parent"] == ticket.number
    assert HistoryEntry.objects.filter(ticket=ticket, field="child_added").exists()
    children = alice_api.get(url(ticket, "children/")).json()["results"]
    assert [c["number"] for c in children] == [child["number"]]
    assert alice_api.get(url(ticket)).json()["children"] == [child["number"]]


def test_the_parent_must_be_a_ticket_the_user_sees(alice_api, queue_support, billing_ticket):
    response = alice_api.post(
        TICKETS,
        {"title": "Sneaky", "queue": queue_support.pk, "parent": billing_ticket.number},
        format="json",
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["parent"]
    assert not Ticket.objects.filter(title="Sneaky").exists()
    assert alice_api.get(url(billing_ticket, "children/")).status_code == 404


def test_the_parent_cannot_be_changed_afterwards(alice, alice_api, ticket, queue_support):
    other = actions.open_ticket(alice, queue=queue_support, title="Other")
    response = alice_api.patch(url(ticket), {"parent": other.number}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["parent"]
    ticket.refresh_from_db()
    assert ticket.parent_id is None


def test_sub_tickets_in_another_queue_are_not_listed(
    alice, admin, alice_api, ticket, queue_support, queue_billing
):
    mine = actions.open_ticket(alice, queue=queue_support, title="Mine", parent=ticket)
    actions.open_ticket(admin, queue=queue_billing, title="Theirs", parent=ticket)
    children = alice_api.get(url(ticket, "children/")).json()["results"]
    assert [c["number"] for c in children] == [mine.number]
    # Nor named on the ticket itself: not even the number of a ticket she may not open.
    assert alice_api.get(url(ticket)).json()["children"] == [mine.number]


@pytest.mark.parametrize("count", [2, 20])
def test_the_children_list_costs_a_fixed_number_of_queries(
    alice, alice_api, ticket, queue_support, count, django_assert_max_num_queries
):
    for i in range(count):
        actions.open_ticket(alice, queue=queue_support, title=f"C{i}", parent=ticket, owner=alice)
    alice_api.get("/api/v1/me/")
    # token+user, the user's queues (for the ticket and for its children), the ticket, the page
    with django_assert_max_num_queries(5):
        response = alice_api.get(url(ticket, "children/"))
    assert len(response.json()["results"]) == count


# --- Time entries --------------------------------------------------------------------------------


def test_time_entries_are_listed(alice, alice_api, ticket, billing_ticket):
    note = actions.add_note(alice, ticket, "<p>fixed</p>", time_spent_minutes=30)
    actions.add_reply(alice, ticket, "<p>done</p>", time_spent_minutes=5, billable=False)
    entries = alice_api.get(url(ticket, "time-entries/")).json()["results"]
    assert [(e["minutes"], e["billable"], e["user"]) for e in entries] == [
        (30, True, alice.pk),
        (5, False, alice.pk),
    ]
    assert entries[0]["article"] == note.pk and entries[0]["worked_on"]
    assert alice_api.get(url(billing_ticket, "time-entries/")).status_code == 404


def test_a_note_logs_non_billable_time(alice_api, ticket):
    response = alice_api.post(
        url(ticket, "note/"),
        {"body": "x", "time_spent_minutes": 12, "billable": False},
        format="json",
    )
    assert response.status_code == 201
    entry = TimeEntry.objects.get(ticket=ticket)
    assert (entry.minutes, entry.billable) == (12, False)


@pytest.mark.parametrize("count", [2, 20])
def test_the_time_entry_list_costs_a_fixed_number_of_queries(
    alice, alice_api, ticket, count, django_assert_max_num_queries
):
    for i in range(count):
        actions.add_note(alice, ticket, f"<p>{i}</p>", time_spent_minutes=i + 1)
    alice_api.get("/api/v1/me/")
    with django_assert_max_num_queries(4):  # token+user, the user's queues, the ticket, the page
        response = alice_api.get(url(ticket, "time-entries/"))
    assert len(response.json()["results"]) == count
