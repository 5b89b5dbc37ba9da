"""Brand scopes (C3): rules, templates and canned responses of brand B are not applied or
offered on brand A's tickets; the rules file carries the brand id."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from helpa.automation import actions as automation_actions
from helpa.automation import engine, transfer
from helpa.automation.models import CannedResponse, Rule, TemplateUse, TicketTemplate
from helpa.crm.models import Brand
from helpa.tickets import actions
from helpa.tickets.models import Priority, Queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def brands(queue_support: Queue, queue_billing: Queue) -> tuple[Brand, Brand]:
    """Support answers for Acme, Billing for Beta."""
    acme = Brand.objects.create(code="ACME", name="Acme")
    beta = Brand.objects.create(code="BETA", name="Beta")
    queue_support.brand = acme
    queue_support.save()
    queue_billing.brand = beta
    queue_billing.save()
    return acme, beta


def test_a_rule_of_another_brand_does_not_apply(alice, brands, make_rule, queue_support) -> None:
    acme, beta = brands
    make_rule("Beta urgent", brand="BETA", actions=[{"action": "set_priority", "value": "high"}])
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hjälp")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.MEDIUM
    assert [r.name for r in engine.load_rules("new", queue_support.pk)] == []
    make_rule("Acme urgent", brand="ACME", actions=[{"action": "set_priority", "value": "high"}])
    assert [r.name for r in engine.load_rules("new", queue_support.pk)] == ["Acme urgent"]
    again = actions.open_ticket(alice, queue=queue_support, title="Hjälp igen")
    again.refresh_from_db()
    assert again.priority == Priority.HIGH


def test_moving_a_queue_to_another_brand_is_seen_by_the_cached_rules(
    brands, make_rule, queue_support
) -> None:
    acme, beta = brands
    make_rule("Beta only", brand="BETA")
    assert engine.load_rules("new", queue_support.pk) == []
    queue_support.brand = beta
    queue_support.save()
    assert [r.name for r in engine.load_rules("new", queue_support.pk)] == ["Beta only"]


def test_the_rules_file_carries_the_brand(brands, make_rule) -> None:
    make_rule("Acme rule", brand="acme")
    exported = transfer.export_rules()
    assert exported["rules"][0]["brand"] == "ACME"
    Rule.objects.all().delete()
    transfer.import_rules(json.dumps(exported))
    assert Rule.objects.get(name="Acme rule").brand.code == "ACME"
    exported["rules"][0]["brand"] = "NOPE"
    with pytest.raises(transfer.RuleErrors) as refused:
        transfer.import_rules(json.dumps(exported))
    assert refused.value.messages == [
        "Rule 1 “Acme rule”: there is no brand with the id “NOPE” (it may have been deleted)."
    ]
    exported["rules"][0].update(brand="BETA", queue="support")
    with pytest.raises(transfer.RuleErrors) as mixed:
        transfer.import_rules(json.dumps(exported))
    assert "does not belong to the brand “BETA”" in mixed.value.messages[0]


def test_canned_responses_and_templates_of_another_brand_are_not_offered(
    alice, alice_client, brands, queue_support
) -> None:
    acme, beta = brands
    CannedResponse.objects.create(name="Everyone", body="Hej")
    CannedResponse.objects.create(name="Acme thanks", body="Tack från Acme", brand=acme)
    CannedResponse.objects.create(name="Beta thanks", body="Tack från Beta", brand=beta)
    TicketTemplate.objects.create(name="Acme onboarding", title="Ny", brand=acme)
    beta_template = TicketTemplate.objects.create(name="Beta onboarding", title="Ny", brand=beta)
    ticket = actions.open_ticket(alice, queue=queue_support, title="Fråga")
    assert [r.name for r in automation_actions.responses_for(ticket)] == [
        "Acme thanks",
        "Everyone",
    ]
    assert [t.name for t in automation_actions.templates_for(ticket)] == ["Acme onboarding"]
    names = [
        r["name"]
        for r in alice_client.get(
            reverse("templates:canned_for_ticket", args=[ticket.number])
        ).json()["responses"]
    ]
    assert "Beta thanks" not in names and "Acme thanks" in names
    page = alice_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert "Acme onboarding" in page and "Beta onboarding" not in page
    # Forged: applying Beta's template to an Acme ticket is refused and changes nothing.
    response = alice_client.post(
        reverse("templates:apply", args=[ticket.number]), {"template": beta_template.pk}
    )
    assert response.status_code == 302
    assert not TemplateUse.objects.filter(ticket=ticket).exists()
    with pytest.raises(automation_actions.TemplateError):
        automation_actions.apply_template(alice, ticket, beta_template)
    with pytest.raises(automation_actions.TemplateError):
        automation_actions.open_from_template(alice, beta_template, queue=queue_support)
