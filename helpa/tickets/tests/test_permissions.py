"""Who may open which tickets (`visible_to`) and which belong in their lists (`listed_for`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from helpa.accounts.models import Team, User
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket


@pytest.fixture
def support_ticket(alice: User, queue_support: Queue) -> Ticket:
    return actions.open_ticket(alice, queue=queue_support, title="Printer jammed")


@pytest.fixture
def billing_ticket(admin: User, queue_billing: Queue) -> Ticket:
    return actions.open_ticket(admin, queue=queue_billing, title="Invoice twice")


@pytest.fixture
def colleague(team_support: Team) -> User:
    """Alice's colleague in the Support team."""
    user = User.objects.create_user("sam@example.com", "pw", full_name="Sam Support")
    team_support.members.add(user)
    return user


def _visible(user: object) -> set[Ticket]:
    return set(Ticket.objects.visible_to(user))


def test_an_agent_sees_the_queues_of_their_teams(
    alice: User, support_ticket: Ticket, billing_ticket: Ticket
) -> None:
    assert _visible(alice) == {support_ticket}


def test_an_agent_in_no_team_sees_nothing(
    bob_agent: User, support_ticket: Ticket, billing_ticket: Ticket
) -> None:
    assert _visible(bob_agent) == set()


def test_joining_a_team_that_works_a_queue_shows_its_tickets(
    bob_agent: User, team_support: Team, support_ticket: Ticket, billing_ticket: Ticket
) -> None:
    team_support.members.add(bob_agent)
    assert _visible(bob_agent) == {support_ticket}
    team_support.queues.add(billing_ticket.queue)  # the team takes on Billing as well
    assert _visible(bob_agent) == {support_ticket, billing_ticket}
    assert Ticket.objects.visible_to(bob_agent).count() == 2  # no duplicates through the joins


def test_an_admin_sees_every_queue(
    admin: User, support_ticket: Ticket, billing_ticket: Ticket
) -> None:
    assert _visible(admin) == {support_ticket, billing_ticket}


def test_customers_inactive_agents_and_strangers_see_nothing(
    customer: User, alice: User, support_ticket: Ticket, billing_ticket: Ticket
) -> None:
    assert _visible(customer) == set()
    assert _visible(AnonymousUser()) == set()
    alice.is_active = False
    alice.save()
    assert _visible(alice) == set()


def test_a_draft_is_seen_only_by_its_author(
    alice: User, colleague: User, admin: User, queue_support: Queue, support_ticket: Ticket
) -> None:
    draft = actions.open_ticket(alice, queue=queue_support, title="Half written", is_draft=True)
    assert _visible(alice) == {support_ticket, draft}
    assert _visible(colleague) == {support_ticket}
    assert _visible(admin) == {support_ticket}  # not even an admin

    actions.update_ticket(alice, draft, {"is_draft": False})  # published
    assert _visible(colleague) == {support_ticket, draft}


def test_hidden_until_leaves_the_lists_until_then(
    alice: User, colleague: User, queue_support: Queue, support_ticket: Ticket
) -> None:
    until = timezone.now() + timedelta(days=3)
    hidden = actions.open_ticket(
        alice, queue=queue_support, title="Check again on Friday", hidden_until=until
    )

    for user in (alice, colleague):
        assert hidden in Ticket.objects.visible_to(user)  # may still be opened by its number
        assert set(Ticket.objects.listed_for(user)) == {support_ticket}
    with time_machine.travel(until + timedelta(minutes=1)):
        assert set(Ticket.objects.listed_for(alice)) == {support_ticket, hidden}
    assert set(Ticket.objects.listed_for(alice, now=until)) == {support_ticket, hidden}
