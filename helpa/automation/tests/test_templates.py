"""Templates: a ticket (and its sub-tickets) from a template, a template applied or made from a
ticket, the settings pages and who may use them."""

import pytest
from django.urls import reverse

from helpa.automation import actions
from helpa.automation.models import SubTicketTemplate, TemplateUse, TicketTemplate
from helpa.tickets import actions as ticket_actions
from helpa.tickets.models import (
    Category,
    HistoryEntry,
    Priority,
    Status,
    Ticket,
    TicketType,
)


@pytest.fixture
def onboarding(queue_support, queue_billing, alice):
    """A new employee: the main ticket in Support with steps, two sub-tickets (one in Billing),
    and a sub-sub-ticket."""
    kind = TicketType.objects.create(name="Service request")
    main = TicketTemplate.objects.create(
        name="Onboarding",
        title="New employee",
        ticket_type=kind,
        priority=Priority.HIGH,
        queue=queue_support,
        description="<p>Who starts, and when?</p>",
        instructions="Order a laptop\n\nCreate the accounts\n  Book the introduction  ",
        solution="<p>Welcome aboard! Your accounts are ready.</p>",
    )
    laptop = TicketTemplate.objects.create(name="Laptop", title="Order a laptop")
    salary = TicketTemplate.objects.create(
        name="Salary", title="Add to the payroll", queue=queue_billing
    )
    bag = TicketTemplate.objects.create(name="Laptop bag", title="Order a bag")
    SubTicketTemplate.objects.create(template=main, sub_template=salary, position=2)
    SubTicketTemplate.objects.create(template=main, sub_template=laptop, position=1)
    SubTicketTemplate.objects.create(template=laptop, sub_template=bag)
    return main


def test_a_ticket_from_a_template_has_its_fields_steps_and_sub_tickets(
    onboarding, alice, contact, queue_support, queue_billing
) -> None:
    ticket = actions.open_from_template(alice, onboarding, contact=contact)

    assert ticket.title == "New employee"
    assert ticket.type.name == "Service request"
    assert ticket.priority == Priority.HIGH
    assert ticket.queue == queue_support
    assert ticket.description == "<p>Who starts, and when?</p>"
    assert onboarding.steps == ["Order a laptop", "Create the accounts", "Book the introduction"]
    children = list(ticket.children.order_by("number"))
    # In the template's order; in their own queue, else the main ticket's; same contact.
    assert [(c.title, c.queue, c.contact) for c in children] == [
        ("Order a laptop", queue_support, contact),
        ("Add to the payroll", queue_billing, contact),
    ]
    assert [c.title for c in children[0].children.all()] == ["Order a bag"]
    assert TemplateUse.objects.filter(ticket=ticket, template=onboarding).exists()
    assert HistoryEntry.objects.filter(
        ticket=ticket, field="template", new_value="Onboarding", actor=alice
    ).exists()


def test_the_agent_s_choices_win_over_the_template(onboarding, alice, queue_support) -> None:
    ticket = actions.open_from_template(
        alice, onboarding, title="New employee: Stina", priority=Priority.LOW
    )
    assert ticket.title == "New employee: Stina"
    assert ticket.priority == Priority.LOW


def test_a_template_without_a_queue_needs_one_from_the_agent(alice, queue_support) -> None:
    template = TicketTemplate.objects.create(name="Loose", title="Anything")
    with pytest.raises(actions.TemplateError):
        actions.open_from_template(alice, template)
    assert not Ticket.objects.exists()
    ticket = actions.open_from_template(alice, template, queue=queue_support)
    assert ticket.queue == queue_support


def test_a_loop_of_sub_tickets_saved_before_validation_stops(alice, queue_support) -> None:
    a = TicketTemplate.objects.create(name="A", title="A", queue=queue_support)
    b = TicketTemplate.objects.create(name="B", title="B")
    SubTicketTemplate.objects.create(template=a, sub_template=b)
    SubTicketTemplate.objects.create(template=b, sub_template=a)
    ticket = actions.open_from_template(alice, a)
    assert Ticket.objects.count() == 2  # A and its B; B's A is the loop
    assert ticket.children.get().title == "B"


def test_applying_a_template_sets_its_fields_once(onboarding, alice, ticket) -> None:
    ticket_actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
    ticket.refresh_from_db()

    fresh = actions.apply_template(alice, ticket, onboarding)
    assert fresh.priority == Priority.HIGH
    assert fresh.type.name == "Service request"
    assert fresh.status == Status.OPEN  # a template's New never sends an open ticket back
    assert fresh.children.count() == 2
    again = actions.apply_template(alice, fresh, onboarding)
    assert again.children.count() == 2  # not twice
    assert TemplateUse.objects.filter(ticket=ticket).count() == 1


def test_a_template_made_from_a_ticket(alice, ticket) -> None:
    billing = Category.objects.create(name="Billing")
    ticket_actions.update_ticket(alice, ticket, {"category": billing, "priority": Priority.HIGH})
    ticket_actions.add_reply(alice, ticket, "<p>Turn it off and on again.</p>")
    ticket_actions.open_ticket(alice, queue=ticket.queue, title="Order toner", parent=ticket)
    ticket.refresh_from_db()

    template = actions.template_from_ticket(ticket, "Printer jam")
    assert template.name == "Printer jam"
    assert template.title == ticket.title
    assert template.category == billing
    assert template.priority == Priority.HIGH
    assert template.solution == "<p>Turn it off and on again.</p>"
    sub = template.sub_ticket_links.get().sub_template
    assert sub.title == "Order toner"
    assert sub.queue is None  # the main ticket's queue
    # A second one from the same ticket gets a name of its own.
    assert actions.template_from_ticket(ticket, "Printer jam").name == "Printer jam (2)"


# --- Pages -----------------------------------------------------------------------------------


def test_settings_pages_are_for_admins(alice_client, carl_client, onboarding) -> None:
    urls = [
        reverse("templates:template_list"),
        reverse("templates:template_new"),
        reverse("templates:template_edit", args=[onboarding.pk]),
        reverse("templates:canned_list"),
        reverse("templates:canned_new"),
    ]
    for client in (alice_client, carl_client):
        for url in urls:
            assert client.get(url).status_code in (302, 403), url
    assert (
        alice_client.post(reverse("templates:template_delete", args=[onboarding.pk])).status_code
        == 403
    )
    assert TicketTemplate.objects.filter(pk=onboarding.pk).exists()


def _template_post(**overrides) -> dict:
    data = {
        "name": "Password reset",
        "title": "Reset a password",
        "priority": "2",
        "status": "new",
        "description": "<p>ok</p><script>alert(1)</script>",
        "instructions": "Check the identity\nReset",
        "solution": "",
        "is_active": "on",
        "subs-TOTAL_FORMS": "1",
        "subs-INITIAL_FORMS": "0",
        "subs-MIN_NUM_FORMS": "0",
        "subs-MAX_NUM_FORMS": "1000",
        "subs-0-sub_template": "",
        "subs-0-position": "0",
    }
    data.update(overrides)
    return data


def test_an_admin_writes_a_template(ada_client) -> None:
    response = ada_client.post(reverse("templates:template_new"), _template_post())
    template = TicketTemplate.objects.get(name="Password reset")
    assert response.status_code == 302
    assert "<script>" not in template.description  # sanitised
    assert template.steps == ["Check the identity", "Reset"]
    assert ada_client.get(reverse("templates:template_list")).content.count(b"Password reset") == 1


def test_bad_template_input_is_explained_and_kept(ada_client, onboarding) -> None:
    # A status past New without an owner; the template as its own sub-ticket.
    response = ada_client.post(
        reverse("templates:template_edit", args=[onboarding.pk]),
        _template_post(name="Onboarding", status="open", **{"subs-0-sub_template": onboarding.pk}),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "only with an owner" in text
    assert "Reset a password" in text  # what the admin wrote is still in the form
    onboarding.refresh_from_db()
    assert onboarding.title == "New employee"


def test_a_loop_through_another_template_is_refused(ada_client, onboarding) -> None:
    laptop = TicketTemplate.objects.get(name="Laptop")
    bag = TicketTemplate.objects.get(name="Laptop bag")
    # Laptop bag → Onboarding would close the loop Onboarding → Laptop → Laptop bag.
    response = ada_client.post(
        reverse("templates:template_edit", args=[bag.pk]),
        _template_post(name="Laptop bag", **{"subs-0-sub_template": onboarding.pk}),
    )
    assert response.status_code == 400
    assert "loop" in response.content.decode()
    assert not SubTicketTemplate.objects.filter(template=bag).exists()
    assert laptop.sub_ticket_links.count() == 1


def test_a_sub_ticket_template_cannot_be_deleted_from_under_its_main(
    ada_client, onboarding
) -> None:
    laptop = TicketTemplate.objects.get(name="Laptop")
    response = ada_client.post(reverse("templates:template_delete", args=[laptop.pk]), follow=True)
    assert "remove it there first" in response.content.decode()
    assert TicketTemplate.objects.filter(pk=laptop.pk).exists()


def test_an_agent_starts_from_a_template_on_the_new_ticket_page(alice_client, onboarding) -> None:
    page = alice_client.get(reverse("tickets:new")).content.decode()
    assert reverse("templates:ticket_from_template", args=[onboarding.pk]) in page

    form = alice_client.get(reverse("templates:ticket_from_template", args=[onboarding.pk]))
    assert form.status_code == 200
    assert 'value="New employee"' in form.content.decode()
    assert "Order a laptop" in form.content.decode()  # what saving also opens

    response = alice_client.post(
        reverse("templates:ticket_from_template", args=[onboarding.pk]),
        {
            "title": "New employee: Stina",
            "queue": onboarding.queue_id,
            "status": "new",
            "priority": "3",
            "type": onboarding.ticket_type_id,
        },
    )
    ticket = Ticket.objects.get(title="New employee: Stina")
    assert response.status_code == 302
    assert ticket.children.count() == 2


def test_one_click_creates_the_ticket_in_the_template_s_queue(
    alice_client, bob_client, onboarding
) -> None:
    url = reverse("templates:ticket_from_template_now", args=[onboarding.pk])
    assert bob_client.post(url).status_code == 403  # Bob does not work Support
    assert not Ticket.objects.exists()
    response = alice_client.post(url)
    ticket = Ticket.objects.get(parent=None)
    assert response.url == reverse("tickets:detail", args=[ticket.number])
    assert ticket.title == "New employee"


def test_the_ticket_page_shows_steps_and_offers_templates(alice_client, onboarding, alice) -> None:
    ticket = actions.open_from_template(alice, onboarding)
    page = alice_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert "Create the accounts" in page
    assert "Welcome aboard!" in page
    assert reverse("templates:apply", args=[ticket.number]) in page
    assert reverse("templates:save_as", args=[ticket.number]) not in page  # admins only


def test_applying_from_the_ticket_page(alice_client, bob_client, onboarding, ticket) -> None:
    url = reverse("templates:apply", args=[ticket.number])
    assert bob_client.post(url, {"template": onboarding.pk}).status_code == 404  # not his ticket
    alice_client.post(url, {"template": "x"})
    assert not TemplateUse.objects.exists()
    alice_client.post(url, {"template": onboarding.pk})
    assert TemplateUse.objects.filter(ticket=ticket, template=onboarding).exists()


def test_an_admin_saves_a_ticket_as_a_template(ada_client, alice_client, ticket) -> None:
    url = reverse("templates:save_as", args=[ticket.number])
    assert alice_client.post(url, {"name": "Jam"}).status_code == 403
    response = ada_client.post(url, {"name": "Jam"})
    template = TicketTemplate.objects.get(name="Jam")
    assert response.url == reverse("templates:template_edit", args=[template.pk])


def test_a_rule_applies_a_template(make_rule, onboarding, alice, queue_support) -> None:
    make_rule("Onboard", actions=[{"action": "apply_template", "value": "onboarding"}])
    ticket = ticket_actions.open_ticket(alice, queue=queue_support, title="A new colleague")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert ticket.children.count() == 2
    use = TemplateUse.objects.get(ticket=ticket)
    assert use.template == onboarding
    assert HistoryEntry.objects.filter(
        ticket=ticket, field="template", actor_name="Rule: Onboard"
    ).exists()


def test_a_rule_naming_an_unknown_template_is_refused(make_rule) -> None:
    from helpa.automation.transfer import RuleErrors

    with pytest.raises(RuleErrors, match="no template"):
        make_rule("Ghost", actions=[{"action": "apply_template", "value": "Nothing"}])


def test_steps_and_solution_never_reach_the_customer(
    onboarding, alice, contact, carl_client
) -> None:
    ticket = actions.open_from_template(alice, onboarding, contact=contact)
    page = carl_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert "New employee" in page  # the customer's own ticket
    assert "Welcome aboard" not in page
    assert "Create the accounts" not in page
