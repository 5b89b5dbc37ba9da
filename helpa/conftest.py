"""Shared test personas: alice works the Support queue, bob works Billing, ada is the admin,
carl is a customer. Tests read like the helpdesk they describe."""

from __future__ import annotations

import pytest
from django.test import Client

from helpa.accounts.models import Role, Team, User
from helpa.crm.models import Company, Contact
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket


@pytest.fixture
def support(db: None) -> Queue:
    return Queue.objects.create(name="Support", slug="support")


@pytest.fixture
def billing(db: None) -> Queue:
    return Queue.objects.create(name="Billing", slug="billing")


@pytest.fixture
def alice(support: Queue) -> User:
    """An agent in the Support team, which works the Support queue."""
    user = User.objects.create_user(
        "alice@example.com", "pw", full_name="Alice Agent", role=Role.AGENT
    )
    team = Team.objects.create(name="Support team")
    team.members.add(user)
    support.teams.add(team)
    return user


@pytest.fixture
def bob(billing: Queue) -> User:
    """An agent in the Billing team only: Support tickets are not his."""
    user = User.objects.create_user("bob@example.com", "pw", full_name="Bob Berg", role=Role.AGENT)
    team = Team.objects.create(name="Billing team")
    team.members.add(user)
    billing.teams.add(team)
    return user


@pytest.fixture
def ada(db: None) -> User:
    return User.objects.create_user("ada@example.com", "pw", full_name="Ada Admin", role=Role.ADMIN)


@pytest.fixture
def acme(db: None) -> Company:
    return Company.objects.create(name="Acme AB", organisation_number="556677-8899")


@pytest.fixture
def carl(acme: Company) -> User:
    """A customer with a portal login."""
    user = User.objects.create_user(
        "carl@example.com", "pw", full_name="Carl Customer", role=Role.CUSTOMER
    )
    Contact.objects.create(name="Carl Customer", email="carl@example.com", company=acme, user=user)
    return user


@pytest.fixture
def carl_contact(carl: User) -> Contact:
    return carl.contact


@pytest.fixture
def ticket(alice: User, support: Queue) -> Ticket:
    """A new, unowned ticket in Support."""
    return actions.open_ticket(alice, queue=support, title="Printer on floor 3 is jammed")


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def ada_client(ada: User) -> Client:
    client = Client()
    client.force_login(ada)
    return client


@pytest.fixture
def carl_client(carl: User) -> Client:
    client = Client()
    client.force_login(carl)
    return client
