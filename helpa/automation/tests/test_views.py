"""Settings → Rules: admins only; the editor, the switch, the tester and the dry run."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpa.automation.models import Rule
from helpa.automation.tests.conftest import mail
from helpa.tickets import actions
from helpa.tickets.models import Category, Priority, Ticket


@pytest.fixture
def billing_category(db: None) -> Category:
    return Category.objects.create(name="Billing")


@pytest.fixture
def invoices(make_rule, billing_category):
    return make_rule(
        "Invoices",
        active=False,
        lines=[
            {"fields": ["subject", "body"], "values": ["faktura", "betalning"]},
            {"fields": ["from"], "values": ["*@klarna.se"]},
        ],
        actions=[
            {"action": "set_priority", "value": "high"},
            {"action": "set_category", "value": "Billing"},
        ],
    )


def test_agents_and_customers_get_403(alice_client, carl_client, invoices) -> None:
    urls = [
        reverse("automation:list"),
        reverse("automation:new"),
        reverse("automation:edit", args=[invoices.pk]),
        reverse("automation:tester"),
        reverse("automation:dry_run", args=[invoices.pk]) + "?days=30",
        reverse("automation:export"),
    ]
    for client in (alice_client, carl_client):
        for url in urls:
            assert client.get(url).status_code == 403, url
        assert client.post(reverse("automation:toggle", args=[invoices.pk])).status_code == 403
        assert client.post(reverse("automation:tester"), {"ticket_number": 1}).status_code == 403
    assert not Rule.objects.get().is_active


def test_list_shows_rules_with_hits(ada_client, invoices) -> None:
    Rule.objects.filter(pk=invoices.pk).update(hit_count=37, last_hit_at=timezone.now())
    page = ada_client.get(reverse("automation:list")).content.decode()
    assert "Invoices" in page and "<td>37</td>" in page
    assert (
        reverse("automation:list")
        in ada_client.get(reverse("administration:settings")).content.decode()
    )


def test_create_a_rule_in_the_editor(ada_client, billing_category) -> None:
    post = {
        "name": "Invoices",
        "weight": "10",
        "events": ["new", "reply"],
        "queue": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-fields_": ["subject", "body"],
        "lines-0-values": "faktura\nbetalning",
        "lines-1-fields_": ["from"],
        "lines-1-values": "*@klarna.se",
        "lines-2-values": "",
        "actions-TOTAL_FORMS": "2",
        "actions-INITIAL_FORMS": "0",
        "actions-0-action": "set_priority",
        "actions-0-value": "high",
        "actions-1-action": "set_category",
        "actions-1-value": "Billing",
    }
    response = ada_client.post(reverse("automation:new"), post)
    rule = Rule.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "automation:edit", args=[rule.pk]
    )
    assert not rule.is_active and rule.events == ["new", "reply"]
    assert [(x.fields, x.values) for x in rule.lines.all()] == [
        (["subject", "body"], ["faktura", "betalning"]),
        (["from"], ["*@klarna.se"]),
    ]
    page = ada_client.get(response.url).content.decode()
    assert "faktura\nbetalning" in page and 'value="Invoices"' in page


def test_editor_shows_errors_and_keeps_the_input(ada_client, invoices) -> None:
    post = {
        "name": "Invoices",
        "weight": "10",
        "events": ["new"],
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-fields_": ["subject"],
        "lines-0-values": "^faktura$",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-0-action": "set_queue",
        "actions-0-value": "nowhere",
    }
    response = ada_client.post(reverse("automation:edit", args=[invoices.pk]), post)
    page = response.content.decode()
    assert response.status_code == 200
    assert "looks like a regular expression" in page
    assert "there is no queue “nowhere”" in page
    assert "^faktura$" in page
    assert list(Rule.objects.get().lines.values_list("values", flat=True)) == [
        ["faktura", "betalning"],
        ["*@klarna.se"],
    ]


def test_tester_with_a_pasted_mail(ada_client, invoices, support_address) -> None:
    raw = mail().decode()
    response = ada_client.post(
        reverse("automation:tester"), {"raw_mail": raw, "include_inactive": "on"}
    )
    page = response.content.decode()
    assert "✓ subject, body: faktura | betalning — matched: faktura (subject)" in page
    assert "✓ from: *@klarna.se — matched: *@klarna.se (from)" in page
    assert "applies" in page
    assert "&quot;priority&quot;: &quot;high&quot;" in page
    assert "&quot;category&quot;: &quot;Billing&quot;" in page
    # Switched off, it is left out unless asked for.
    page = ada_client.post(reverse("automation:tester"), {"raw_mail": raw}).content.decode()
    assert "No rules for this event." in page
    assert not Ticket.objects.exists()


def test_tester_with_a_ticket(ada_client, alice, queue_support, invoices) -> None:
    ticket = actions.open_ticket(alice, queue=queue_support, title="Din faktura")
    page = ada_client.post(
        reverse("automation:tester"), {"ticket_number": ticket.number, "include_inactive": "on"}
    ).content.decode()
    assert "✗ from: *@klarna.se" in page and "no match" in page
    page = ada_client.post(reverse("automation:tester"), {"ticket_number": 999}).content.decode()
    assert "There is no ticket with that number." in page
    page = ada_client.post(reverse("automation:tester"), {}).content.decode()
    assert "Paste a mail or give a ticket number." in page


def test_dry_run_then_switch_on(ada_client, invoices, deliver, klarna_contact) -> None:
    for i in range(3):
        deliver(mail(subject=f"Faktura {i}"))
    deliver(mail(subject="Hej", body="Bara en fråga", extra="X-N: 1\r\n"))
    old = deliver(mail(subject="Gammal faktura"))
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert Ticket.objects.filter(priority=Priority.HIGH).count() == 0  # the rule is off

    url = reverse("automation:dry_run", args=[invoices.pk])
    page = ada_client.get(url + "?days=30").content.decode()
    assert "Would have matched 3 tickets of 4 from the last 30 days." in page
    page = ada_client.get(url + "?days=60").content.decode()
    assert "Would have matched 4 tickets of 5 from the last 60 days." in page
    assert Ticket.objects.filter(priority=Priority.HIGH).count() == 0  # nothing changed

    ada_client.post(reverse("automation:toggle", args=[invoices.pk]), {"back": "edit"})
    assert Rule.objects.get().is_active
    ticket = deliver(mail(subject="Ännu en faktura"))
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH


def test_export_download(ada_client, invoices) -> None:
    response = ada_client.get(reverse("automation:export"))
    assert response["Content-Disposition"] == 'attachment; filename="rules.json"'
    assert response.json()["rules"][0]["name"] == "Invoices"


def test_delete(ada_client, invoices) -> None:
    ada_client.post(reverse("automation:delete", args=[invoices.pk]))
    assert not Rule.objects.exists()
