"""Shared test personas, so that tests read like the helpdesk they describe.

- `queue_support`, `queue_billing`: two queues.
- `team_support`: the team that works queue_support.
- `alice`: an agent in team_support; `bob_agent`: an agent in no team (sees no queue).
- `admin` (Ada): sees everything.
- `customer` (Carl): a portal login, linked to the crm `contact` of `company` (Acme AB).

Older tests use the shorter names `support`, `billing`, `ada`, `carl`, `carl_contact`, `acme`
(aliases of the above) and `bob`, an agent in the Billing team.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from helpa.accounts.models import Role, Team, User
from helpa.crm.models import Company, Contact
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path) -> None:
    """Attachments a test stores go to its own directory, never the installation's data dir."""
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise() -> Iterator[None]:
    """A request in Swedish leaves Swedish active in this thread; the next test starts over."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _no_settings_from_an_earlier_test() -> None:
    """The mail pipeline keeps settings rows for a few seconds; a test starts without them."""
    from helpa.api import webhooks
    from helpa.automation import sla
    from helpa.mail.models import _recent
    from helpa.portal.models import _recent as _recent_portal

    _recent.forget()
    _recent_portal.forget()
    # A test starts on an empty database, without SLA policies: the SLA subscribers know it
    # without a query, as on a running desk that read its policies a moment ago.
    sla.forget(known_empty=True)
    webhooks.forget(known_empty=True)  # no webhooks either: ticket events ask nothing of them


# --- Queues and teams -------------------------------------------------------------------------


@pytest.fixture
def queue_support(db: None) -> Queue:
    return Queue.objects.create(name="Support", slug="support")


@pytest.fixture
def queue_billing(db: None) -> Queue:
    return Queue.objects.create(name="Billing", slug="billing")


@pytest.fixture
def team_support(queue_support: Queue) -> Team:
    team = Team.objects.create(name="Support team")
    queue_support.teams.add(team)
    return team


# --- People -------------------------------------------------------------------------------------


@pytest.fixture
def alice(team_support: Team) -> User:
    """An agent in the Support team, which works the Support queue."""
    user = User.objects.create_user(
        "alice@example.com", "pw", full_name="Alice Agent", role=Role.AGENT
    )
    team_support.members.add(user)
    return user


@pytest.fixture
def bob_agent(db: None) -> User:
    """An agent in no team: no queue's tickets are his."""
    return User.objects.create_user(
        "bob.agent@example.com", "pw", full_name="Bob Agent", role=Role.AGENT
    )


@pytest.fixture
def admin(db: None) -> User:
    return User.objects.create_user("ada@example.com", "pw", full_name="Ada Admin", role=Role.ADMIN)


@pytest.fixture
def company(db: None) -> Company:
    return Company.objects.create(name="Acme AB", organisation_number="556677-8899")


@pytest.fixture
def customer(company: Company) -> User:
    """A customer with a portal login, linked to a crm contact of Acme AB."""
    user = User.objects.create_user(
        "carl@example.com", "pw", full_name="Carl Customer", role=Role.CUSTOMER
    )
    Contact.objects.create(
        name="Carl Customer", email="carl@example.com", company=company, user=user
    )
    return user


@pytest.fixture
def contact(customer: User) -> Contact:
    return customer.contact


@pytest.fixture
def ticket(alice: User, queue_support: Queue) -> Ticket:
    """A new, unowned ticket in Support."""
    return actions.open_ticket(alice, queue=queue_support, title="Printer on floor 3 is jammed")


@pytest.fixture
def agent_client(alice: User) -> Client:
    return _client(alice)


# --- The older names ------------------------------------------------------------------------


@pytest.fixture
def support(queue_support: Queue) -> Queue:
    return queue_support


@pytest.fixture
def billing(queue_billing: Queue) -> Queue:
    return queue_billing


@pytest.fixture
def bob(queue_billing: Queue) -> User:
    """An agent in the Billing team only: Support tickets are not his."""
    user = User.objects.create_user("bob@example.com", "pw", full_name="Bob Berg", role=Role.AGENT)
    team = Team.objects.create(name="Billing team")
    team.members.add(user)
    queue_billing.teams.add(team)
    return user


@pytest.fixture
def ada(admin: User) -> User:
    return admin


@pytest.fixture
def acme(company: Company) -> Company:
    return company


@pytest.fixture
def carl(customer: User) -> User:
    return customer


@pytest.fixture
def carl_contact(contact: Contact) -> Contact:
    return contact


@pytest.fixture
def alice_client(alice: User) -> Client:
    return _client(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return _client(bob)


@pytest.fixture
def ada_client(admin: User) -> Client:
    return _client(admin)


@pytest.fixture
def carl_client(customer: User) -> Client:
    return _client(customer)
