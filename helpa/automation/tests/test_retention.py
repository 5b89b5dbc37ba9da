"""Retention: closed tickets deleted or anonymised per queue, legal holds, the preview, the log,
the settings pages and the command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from helpa.accounts.models import User
from helpa.automation import retention
from helpa.automation.models import QueuePolicy, RetentionAction, RetentionRun
from helpa.crm.models import Company, Contact
from helpa.mail.models import InboundMail, OutgoingMail, save_raw
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    HistoryEntry,
    Queue,
    Status,
    Ticket,
)

NOW = datetime(2026, 6, 1, 3, 40, tzinfo=UTC)


def at(when: datetime) -> time_machine.travel:
    return time_machine.travel(when, tick=False)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def closed(alice: User, contact: Contact):
    """A ticket of Carl's, with a file, a received and a sent mail, closed `days` before NOW."""

    def make(queue: Queue, days: float, title: str = "Printer jammed", **fields) -> Ticket:
        with at(days_ago(days + 5)):
            ticket = actions.open_ticket(
                alice,
                queue=queue,
                title=title,
                description="<p>Carl's printer on floor 3</p>",
                owner=alice,
                contact=fields.pop("contact", contact),
                attachments=[SimpleUploadedFile("log.txt", b"carl's log", "text/plain")],
                **fields,
            )
            actions.add_article(
                None,
                ticket,
                ArticleKind.CUSTOMER,
                "<p>It is still jammed, Carl</p>",
                contact=ticket.contact,
                author_name="Carl Customer",
            )
            actions.add_reply(alice, ticket, "<p>We are on it, Carl.</p>", time_spent_minutes=15)
            inbound = InboundMail(
                source="pipe",
                dedupe_key=f"test:{ticket.number}",
                from_address="carl@example.com",
                subject=title,
                state="stored",
                ticket=ticket,
            )
            save_raw(inbound.raw, b"From: carl@example.com\r\n\r\nhello")
            inbound.save()
        with at(days_ago(days)):
            return actions.close_ticket(alice, ticket)

    return make


def stored_files(ticket: Ticket) -> list[Path]:
    """Every file on disk that belongs to a ticket: attachments and raw mail."""
    names = [
        *Attachment.objects.filter(ticket=ticket).values_list("file", flat=True),
        *InboundMail.objects.filter(ticket=ticket).values_list("raw", flat=True),
        *OutgoingMail.objects.filter(ticket=ticket).values_list("raw", flat=True),
    ]
    paths = [Path(settings.MEDIA_ROOT) / name for name in names]
    assert len(paths) >= 3 and all(p.exists() for p in paths), paths
    return paths


def fts_rows(ticket_id: int) -> int:
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM tickets_ticket_fts WHERE rowid = %s", [ticket_id])
        return cursor.fetchone()[0]


def run(capture) -> list[retention.QueueResult]:
    """A run as the nightly job does it; stored files go when each batch commits."""
    with at(NOW), capture(execute=True):
        return retention.run_retention()


@pytest.fixture
def delete_after_90(queue_support: Queue) -> QueuePolicy:
    return QueuePolicy.objects.create(
        queue=queue_support, retention_days=90, retention_action=RetentionAction.DELETE
    )


def test_deletes_exactly_the_tickets_closed_more_than_n_days_ago(
    delete_after_90,
    closed,
    queue_support,
    queue_billing,
    alice,
    admin,
    django_capture_on_commit_callbacks,
) -> None:
    old = closed(queue_support, 120, "Old one")
    just_over = closed(queue_support, 90.01, "Just over")
    just_under = closed(queue_support, 89.99, "Just under")
    other_queue = closed(queue_billing, 400, "Billing, retention off")
    with at(days_ago(300)):
        still_open = actions.open_ticket(alice, queue=queue_support, title="Open for ages")
    held = closed(queue_support, 200, "Held")
    actions.set_legal_hold(admin, held, True)
    hold_company = Company.objects.create(name="Lawsuit AB", legal_hold=True)
    via_company = closed(queue_support, 200, "Company held", company=hold_company)
    colleague = Contact.objects.create(
        name="Lisa", email="lisa@lawsuit.example", company=hold_company
    )
    via_contact = closed(queue_support, 200, "Contact's company held", contact=colleague)
    gone_files = stored_files(old) + stored_files(just_over)
    kept = [just_under, other_queue, held, via_company, via_contact]
    kept_files = [path for ticket in kept for path in stored_files(ticket)]

    [result] = run(django_capture_on_commit_callbacks)

    assert (result.queue, result.count, result.held) == ("Support", 2, 3)
    assert not Ticket.objects.filter(pk__in=[old.pk, just_over.pk]).exists()
    assert set(Ticket.objects.values_list("pk", flat=True)) == {t.pk for t in [*kept, still_open]}
    assert not any(path.exists() for path in gone_files)
    assert all(path.exists() for path in kept_files)
    assert not InboundMail.objects.filter(subject__in=["Old one", "Just over"]).exists()
    assert fts_rows(old.pk) == 0 and (connection.vendor != "sqlite" or fts_rows(held.pk) == 1)
    [logged] = RetentionRun.objects.all()
    assert (logged.queue, logged.action, logged.count, logged.held) == (
        queue_support,
        "delete",
        2,
        3,
    )
    assert logged.closed_before == days_ago(90) and logged.finished_at is not None


def test_anonymise_keeps_the_row_without_personal_data(
    queue_support, closed, alice, django_capture_on_commit_callbacks
) -> None:
    QueuePolicy.objects.create(queue=queue_support, retention_days=365)  # anonymise: default
    ticket = closed(queue_support, 400, "Carl's broken printer")
    with at(days_ago(399)):
        actions.update_ticket(alice, ticket, {"title": "Carl Customer's printer, floor 3"})
    files = stored_files(ticket)

    [result] = run(django_capture_on_commit_callbacks)

    assert result.count == 1
    kept = Ticket.objects.get(pk=ticket.pk)
    assert kept.title == "[removed]" and kept.description == "" and kept.contact is None
    assert kept.anonymised_at == NOW
    # What statistics need stays.
    assert (kept.status, kept.queue, kept.owner, kept.closed_at) == (
        Status.CLOSED,
        queue_support,
        alice,
        ticket.closed_at,
    )
    assert sum(a.time_spent_minutes for a in Article.objects.filter(ticket=kept)) == 15
    texts = [
        f"{a.body_html} {a.body_text} {a.author_name} {a.author_contact_id}"
        for a in Article.objects.filter(ticket=kept)
    ]
    texts += [
        f"{h.old_value} {h.new_value} {h.actor_name}"
        for h in HistoryEntry.objects.filter(ticket=kept)
    ]
    assert texts and not any("Carl" in t or "printer" in t for t in texts), texts
    assert not Attachment.objects.filter(ticket=kept).exists()
    assert not InboundMail.objects.filter(ticket=kept).exists()
    assert not OutgoingMail.objects.filter(ticket=kept).exists()
    assert not any(path.exists() for path in files)
    assert HistoryEntry.objects.get(ticket=kept, field="anonymised").actor_name == "Retention"
    assert not Ticket.objects.filter(title__icontains="printer").exists()
    # Done once: the next night has nothing left to do.
    [again] = run(django_capture_on_commit_callbacks)
    assert again.count == 0
    assert RetentionRun.objects.count() == 2


def test_the_preview_lists_what_the_run_then_removes(
    delete_after_90, closed, queue_support, admin, ada_client, django_capture_on_commit_callbacks
) -> None:
    due = [closed(queue_support, d, f"Due {d}") for d in (300, 100, 200)]
    held = closed(queue_support, 150, "Held")
    actions.set_legal_hold(admin, held, True)
    closed(queue_support, 10, "Young")
    with at(NOW):
        preview = retention.preview(delete_after_90)
        page = ada_client.get(reverse("retention:preview", args=[queue_support.pk]))
    assert preview.count == 3 and preview.held == 1
    assert [t.pk for t in preview.first] == [due[0].pk, due[2].pk, due[1].pk]  # oldest first
    html = page.content.decode()
    assert "The next run would delete 3 tickets closed before 2026-03-03" in html
    assert "1 more is kept on legal hold" in html
    assert all(f"#{t.number}" in html for t in due) and "Young" not in html
    assert f"#{held.number}" not in html

    [result] = run(django_capture_on_commit_callbacks)

    assert result.count == preview.count
    assert not Ticket.objects.filter(pk__in=[t.pk for t in preview.first]).exists()
    assert Ticket.objects.filter(title__in=["Held", "Young"]).count() == 2


def test_runs_in_batches(
    delete_after_90, closed, queue_support, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    for n in range(5):
        closed(queue_support, 100 + n, f"Old {n}")
    [result] = run(django_capture_on_commit_callbacks)
    assert result.count == 5 and not Ticket.objects.exists()


def test_nothing_happens_with_retention_off(
    queue_support, closed, django_capture_on_commit_callbacks
) -> None:
    QueuePolicy.objects.create(queue=queue_support, remind_after_days=3)
    ticket = closed(queue_support, 5000)
    assert run(django_capture_on_commit_callbacks) == []
    assert Ticket.objects.filter(pk=ticket.pk).exists() and not RetentionRun.objects.exists()


def test_the_command_dry_run_changes_nothing(delete_after_90, closed, queue_support) -> None:
    ticket = closed(queue_support, 100)
    out = StringIO()
    with at(NOW):
        call_command("retention", "run", "--dry-run", stdout=out)
    assert "Support: would delete 1 tickets closed before 2026-03-03" in out.getvalue()
    assert Ticket.objects.filter(pk=ticket.pk).exists() and not RetentionRun.objects.exists()
    out = StringIO()
    with at(NOW):
        call_command("retention", "run", stdout=out)
    assert "Support: deleted 1 tickets" in out.getvalue()
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert RetentionRun.objects.get().count == 1


# --- The pages ----------------------------------------------------------------------------------


def test_agents_and_customers_get_403(alice_client, carl_client, queue_support, ticket) -> None:
    urls = [
        reverse("retention:settings"),
        reverse("retention:edit", args=[queue_support.pk]),
        reverse("retention:preview", args=[queue_support.pk]),
    ]
    for client in (alice_client, carl_client):
        for url in urls:
            assert client.get(url).status_code == 403, url
        assert client.post(urls[1], {"retention_days": "1"}).status_code == 403
        hold = reverse("retention:legal_hold", args=[ticket.number])
        assert client.post(hold, {"hold": "1"}).status_code == 403
    assert not QueuePolicy.objects.exists()
    assert not Ticket.objects.get(pk=ticket.pk).legal_hold


def test_settings_page_lists_queues_and_the_run_log(ada_client, queue_support, queue_billing):
    QueuePolicy.objects.create(
        queue=queue_support, remind_after_days=3, resolve_after_days=4, retention_days=365
    )
    RetentionRun.objects.create(
        queue=queue_support,
        queue_name="Support",
        action="anonymise",
        closed_before=days_ago(365),
        finished_at=NOW,
        count=42,
        held=7,
    )
    html = ada_client.get(reverse("retention:settings")).content.decode()
    assert "after 3 days" in html and "4 days after the reminder" in html
    assert "closed more than 365 days ago" in html and "Billing" in html
    assert "<td>42</td>" in html and "<td>7</td>" in html
    nav = ada_client.get(reverse("automation:list")).content.decode()
    assert reverse("retention:settings") in nav


def _post(client, queue: Queue, **data: str):
    form = {
        "remind_after_days": "",
        "resolve_after_days": "",
        "reminder_text": "",
        "retention_days": "",
        "retention_action": "anonymise",
        **data,
    }
    return client.post(reverse("retention:edit", args=[queue.pk]), form)


@pytest.mark.parametrize("field", ["remind_after_days", "resolve_after_days", "retention_days"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_zero_or_negative_days_are_refused(ada_client, queue_support, field, value) -> None:
    data = {"remind_after_days": "3", field: value}
    response = _post(ada_client, queue_support, **data)
    assert response.status_code == 200
    assert "The number of days must be 1 or more." in response.content.decode()
    assert not QueuePolicy.objects.exists()


def test_other_bad_input_is_explained(ada_client, queue_support) -> None:
    page = _post(ada_client, queue_support, remind_after_days="three").content.decode()
    assert "Enter a whole number of days." in page
    page = _post(ada_client, queue_support, resolve_after_days="4").content.decode()
    assert "Resolving counts from the reminder" in page
    assert not QueuePolicy.objects.exists()


def test_a_short_retention_needs_confirmation(ada_client, queue_support) -> None:
    page = _post(ada_client, queue_support, retention_days="7").content.decode()
    assert "tick the box to confirm" in page and not QueuePolicy.objects.exists()
    response = _post(
        ada_client,
        queue_support,
        retention_days="7",
        retention_action="delete",
        confirm_short_retention="on",
    )
    assert response.status_code == 302
    policy = QueuePolicy.objects.get()
    assert (policy.retention_days, policy.retention_action) == (7, "delete")
    # 30 days and more need no box; empty switches it off again.
    assert _post(ada_client, queue_support, retention_days="30").status_code == 302
    assert _post(ada_client, queue_support).status_code == 302
    assert not QueuePolicy.objects.get().retention_on


def test_saving_reminder_settings(ada_client, queue_support) -> None:
    response = _post(
        ada_client,
        queue_support,
        remind_after_days="3",
        resolve_after_days="4",
        reminder_text="Still there? {link}",
    )
    assert response.status_code == 302
    policy = QueuePolicy.objects.get()
    assert (policy.remind_after_days, policy.resolve_after_days) == (3, 4)
    assert policy.reminder_text == "Still there? {link}" and not policy.retention_on


def test_an_admin_puts_a_ticket_on_legal_hold(ada_client, admin, ticket) -> None:
    url = reverse("retention:legal_hold", args=[ticket.number])
    response = ada_client.post(url, {"hold": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[ticket.number])
    assert Ticket.objects.get(pk=ticket.pk).legal_hold
    entry = HistoryEntry.objects.get(ticket=ticket, field="legal_hold")
    assert (entry.actor, entry.new_value) == (admin, "yes")
    snippet = ada_client.post(url, {"hold": "0"}, headers={"HX-Request": "true"})
    assert "Put on legal hold" in snippet.content.decode()
    assert not Ticket.objects.get(pk=ticket.pk).legal_hold
    assert ada_client.get(url).status_code == 405
