"""SLA: due times on ticket events, pauses, warnings and breaches, the overview, the settings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from helpa.accounts.models import Role, Team, User
from helpa.automation import demo_sla, sla
from helpa.automation.models import (
    BusinessCalendar,
    CalendarException,
    CalendarQueue,
    HolidayCountry,
    SLAEvent,
    SLAPolicy,
    SLATarget,
)
from helpa.crm.models import Brand, Company
from helpa.mail.models import OutgoingMail
from helpa.tickets import actions
from helpa.tickets.models import (
    ArticleKind,
    HistoryEntry,
    Notification,
    Priority,
    Queue,
    Status,
    Ticket,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
H = 60


def at(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=STOCKHOLM)


# Wednesday 5 March 2025, 09:00: an ordinary working morning.
WEDNESDAY_9 = at(2025, 3, 5, 9)


@pytest.fixture
def office(db: None) -> BusinessCalendar:
    return BusinessCalendar.objects.create(
        name="Kontorstid", is_default=True, holiday_country=HolidayCountry.SE
    )


@pytest.fixture
def policies(office: BusinessCalendar) -> tuple[SLAPolicy, SLAPolicy]:
    high = SLAPolicy.objects.create(
        name="High",
        position=1,
        priorities=[Priority.HIGH],
        first_response_minutes=1 * H,
        resolution_minutes=8 * H,
        warning_minutes=15,
    )
    standard = SLAPolicy.objects.create(
        name="Standard",
        position=2,
        first_response_minutes=8 * H,
        next_response_minutes=4 * H,
        resolution_minutes=2 * 9 * H,
        warning_minutes=30,
    )
    return high, standard


@pytest.fixture
def lead(team_support: Team) -> User:
    """The team's admin: the team lead who hears of warnings."""
    user = User.objects.create_user(
        "lena@example.com", "pw", full_name="Lena Lead", role=Role.ADMIN
    )
    team_support.members.add(user)
    return user


def _open(alice: User, queue: Queue, **fields: Any) -> Ticket:
    fields.setdefault("owner", alice)
    fields.setdefault("status", Status.OPEN)
    return actions.open_ticket(alice, queue=queue, title="Invoice missing", **fields)


def _reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- Due times ----------------------------------------------------------------------------------


def test_due_times_on_a_new_ticket(policies, alice, queue_support) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
    ticket = _reload(ticket)
    assert ticket.first_response_due_at == at(2025, 3, 5, 17)
    assert ticket.resolution_due_at == at(2025, 3, 7, 9)
    assert ticket.next_response_due_at is None
    assert ticket.sla_due_at == ticket.first_response_due_at
    assert ticket.sla_warning_at == at(2025, 3, 5, 16, 30)
    # The SLA columns are no change of the ticket's own: no history, no new version.
    assert ticket.version == 1
    assert list(ticket.history.values_list("field", flat=True)) == ["created"]


def test_the_ticket_page_shows_the_targets(policies, alice, queue_support, agent_client) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
    with time_machine.travel(at(2025, 3, 5, 16, 45), tick=False):
        page = agent_client.get(f"/t/{ticket.number}/").content.decode()
    assert 'data-sla="warning"' in page  # first response in 15 minutes, inside its warning
    assert "First response: <time" in page and "2025-03-05 17:00" in page
    assert "Resolution: <time" in page and "2025-03-07 09:00" in page
    assert 'data-sla="ok"' in page


def test_the_first_matching_policy_counts(policies, alice, queue_support, company) -> None:
    high, standard = policies
    with time_machine.travel(WEDNESDAY_9, tick=False):
        urgent = _open(alice, queue_support, priority=Priority.HIGH)
        assert _reload(urgent).first_response_due_at == at(2025, 3, 5, 10)
        # A company condition: Acme's tickets get their own policy, above the others.
        acme = SLAPolicy.objects.create(name="Acme", position=0, first_response_minutes=15)
        acme.companies.add(company)
        for_acme = _open(alice, queue_support, company=company, priority=Priority.HIGH)
        assert _reload(for_acme).first_response_due_at == at(2025, 3, 5, 9, 15)
        # Raising the priority later chooses the policy again, from the creation time.
        normal = _open(alice, queue_support)
    with time_machine.travel(at(2025, 3, 5, 9, 30), tick=False):
        actions.update_ticket(alice, normal, {"priority": Priority.HIGH})
    assert _reload(normal).first_response_due_at == at(2025, 3, 5, 10)


def test_a_rule_that_raises_the_priority_chooses_the_policy(
    policies, make_rule, alice, queue_support
) -> None:
    make_rule("Urgent", actions=[{"action": "set_priority", "value": "high"}])
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
    ticket = _reload(ticket)
    assert ticket.priority == Priority.HIGH
    assert ticket.first_response_due_at == at(2025, 3, 5, 10)


def test_a_brand_condition(policies, alice, queue_support, queue_billing) -> None:
    acme = Brand.objects.create(code="ACME", name="Acme")
    queue_support.brand = acme
    queue_support.save()
    vip = SLAPolicy.objects.create(name="Acme", position=0, first_response_minutes=30)
    vip.brands.add(acme)
    queue_billing.teams.add(*queue_support.teams.all())
    with time_machine.travel(WEDNESDAY_9, tick=False):
        branded = _open(alice, queue_support)
        plain = _open(alice, queue_billing)
    assert _reload(branded).first_response_due_at == at(2025, 3, 5, 9, 30)
    assert _reload(plain).first_response_due_at == at(2025, 3, 5, 17)  # Standard: 8 h


def test_a_queue_condition_and_a_queue_calendar(policies, alice, queue_support) -> None:
    night = BusinessCalendar.objects.create(
        name="Night", hours=[[[22 * H, 24 * H]]] * 7, holiday_country=""
    )
    CalendarQueue.objects.create(calendar=night, queue=queue_support)
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
    # The standard policy has no calendar of its own: the queue's night calendar counts.
    assert _reload(ticket).first_response_due_at == at(2025, 3, 9, 0)  # 4 nights of 2 h


def test_without_policies_nothing_is_written(office, alice, queue_support) -> None:
    ticket = _open(alice, queue_support)
    assert _reload(ticket).sla_due_at is None


def test_first_response_met_by_an_agent_reply(policies, alice, queue_support) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
    with time_machine.travel(at(2025, 3, 5, 10), tick=False):
        actions.add_note(alice, ticket, "<p>Looking into it</p>")  # internal: not an answer
        assert _reload(ticket).first_response_due_at is not None
        actions.add_reply(alice, ticket, "<p>We are on it.</p>")
    ticket = _reload(ticket)
    assert ticket.first_response_due_at is None
    assert ticket.sla_due_at == ticket.resolution_due_at == at(2025, 3, 7, 9)
    with time_machine.travel(at(2025, 3, 6, 9), tick=False):
        assert sla.check() == 0  # nothing missed
    assert not HistoryEntry.objects.filter(ticket=ticket, field="sla_breached").exists()


def test_next_response_after_each_customer_message(policies, alice, queue_support, contact):
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support, contact=contact)
        actions.add_reply(alice, ticket, "<p>Which invoice?</p>")
    with time_machine.travel(at(2025, 3, 5, 15), tick=False):
        actions.add_article(None, ticket, ArticleKind.CUSTOMER, "<p>Number 42</p>", contact=contact)
    assert _reload(ticket).next_response_due_at == at(2025, 3, 6, 10)  # 2 h today, 2 h Thursday
    with time_machine.travel(at(2025, 3, 5, 16), tick=False):
        # A second message before the answer: the first unanswered one counts.
        actions.add_article(None, ticket, ArticleKind.CUSTOMER, "<p>Hello?</p>", contact=contact)
    assert _reload(ticket).next_response_due_at == at(2025, 3, 6, 10)
    with time_machine.travel(at(2025, 3, 6, 9, 45), tick=False):
        assert sla.check() == 1  # the warning of the next response
        actions.add_reply(alice, ticket, "<p>Found it.</p>")
    assert _reload(ticket).next_response_due_at is None
    # The answered cycle is over: the next message may warn again.
    assert not SLAEvent.objects.filter(ticket=ticket, target=SLATarget.NEXT_RESPONSE).exists()


def test_the_clock_pauses_while_waiting(policies, alice, queue_support) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
        actions.add_reply(alice, ticket, "<p>Can you send the invoice?</p>")
    with time_machine.travel(at(2025, 3, 5, 10), tick=False):
        actions.set_status(alice, ticket, Status.WAITING)
    paused = _reload(ticket)
    assert paused.sla_paused_at == at(2025, 3, 5, 10)
    assert paused.resolution_due_at == at(2025, 3, 7, 9)
    with time_machine.travel(at(2025, 3, 7, 12), tick=False):
        assert sla.check() == 0  # past the due time, but the clock stands still
    # Waiting from Wednesday 10:00 to Thursday 10:00: 9 business hours later than before.
    with time_machine.travel(at(2025, 3, 6, 10), tick=False):
        actions.set_status(alice, paused, Status.OPEN)
    resumed = _reload(ticket)
    assert resumed.sla_paused_at is None
    assert resumed.resolution_due_at == at(2025, 3, 10, 9)
    assert resumed.sla_due_at == resumed.resolution_due_at


def test_a_policy_may_keep_the_clock_running(policies, alice, queue_support) -> None:
    SLAPolicy.objects.filter(name="Standard").update(pause_on_waiting=False)
    sla.forget()
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
        actions.set_status(alice, ticket, Status.WAITING)
    assert _reload(ticket).sla_paused_at is None
    with time_machine.travel(at(2025, 3, 5, 10), tick=False):
        actions.set_status(alice, ticket, Status.ON_HOLD)  # on hold still pauses
    assert _reload(ticket).sla_paused_at == at(2025, 3, 5, 10)


def test_a_customer_message_while_waiting_gets_the_full_time(
    policies, alice, queue_support, contact
):
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support, contact=contact)
        actions.add_reply(alice, ticket, "<p>Which invoice?</p>")
        ticket = actions.set_status(alice, ticket, Status.WAITING)
    with time_machine.travel(at(2025, 3, 6, 13), tick=False):
        # As the mail pipeline does it: the message first, then the status back to Open.
        actions.add_article(None, ticket, ArticleKind.CUSTOMER, "<p>Number 42</p>", contact=contact)
        actions.update_ticket(None, ticket, {"status": Status.OPEN})
    # Counted from the message, not from when the ticket began to wait: 4 business hours.
    assert _reload(ticket).next_response_due_at == at(2025, 3, 6, 17)


def test_resolving_ends_every_target(policies, alice, queue_support) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support)
        actions.set_status(alice, ticket, Status.RESOLVED)
    ticket = _reload(ticket)
    assert ticket.first_response_due_at is ticket.resolution_due_at is ticket.sla_due_at is None


def test_the_sla_subscribers_add_few_queries(
    policies, alice, queue_support, contact, django_assert_max_num_queries
) -> None:
    """On a desk with policies (read a moment ago), SLA costs a ticket event at most one
    UPDATE; a message one read of the SLA columns more, an answer one DELETE more."""
    ticket = _open(alice, queue_support, contact=contact)
    actions.add_reply(alice, ticket, "<p>Hi</p>")
    article = actions.add_article(None, ticket, ArticleKind.CUSTOMER, "<p>x</p>", contact=contact)
    reply = actions.add_reply(alice, ticket, "<p>y</p>")
    sla.setup()
    with django_assert_max_num_queries(1):
        sla.on_created(ticket)
    ticket.status = Status.WAITING
    with django_assert_max_num_queries(1):
        sla.on_changed(ticket, ["status"])
    with django_assert_max_num_queries(2):
        sla.on_article_added(ticket, article)
    with django_assert_max_num_queries(3):
        sla.on_article_added(ticket, reply)
    # The whole creation: the SLA adds one statement.
    with django_assert_max_num_queries(30) as captured:
        _open(alice, queue_support)
    sla_statements = [
        q
        for q in captured.captured_queries
        if q["sql"].startswith("UPDATE") and "first_response_due_at" in q["sql"]
    ]
    assert len(sla_statements) == 1


# --- Warnings and breaches ---------------------------------------------------------------------


def test_warning_and_breach_once_each(policies, alice, lead, queue_support, team_support):
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support, priority=Priority.HIGH, team=team_support)
    with time_machine.travel(at(2025, 3, 5, 9, 40), tick=False):
        assert sla.check() == 0
    with time_machine.travel(at(2025, 3, 5, 9, 46), tick=False):
        assert sla.check() == 1
        assert sla.check() == 0  # the job runs again a minute later: no second warning
    notices = Notification.objects.filter(ticket=ticket, kind=Notification.Kind.SLA)
    assert sorted(n.user.email for n in notices) == ["alice@example.com", "lena@example.com"]
    assert "First response is due at 2025-03-05 10:00" in notices[0].text
    mails = OutgoingMail.objects.filter(ticket=ticket, kind=OutgoingMail.Kind.AGENT)
    assert mails.count() == 2
    assert "SLA warning" in mails[0].subject
    with time_machine.travel(at(2025, 3, 5, 10, 1), tick=False):
        assert sla.check() == 1
        assert sla.check() == 0
    breaches = HistoryEntry.objects.filter(ticket=ticket, field="sla_breached")
    assert [(b.actor_name, b.new_value) for b in breaches] == [("SLA", "first_response")]
    assert _reload(ticket).version == 1  # recorded, not a change of the ticket
    assert mails.count() == 2  # a breach is written down, not mailed


def test_a_breach_found_late_skips_the_warning(policies, alice, queue_support) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support, priority=Priority.HIGH)
    with time_machine.travel(at(2025, 3, 5, 12), tick=False):
        assert sla.check() == 1
    kinds = set(SLAEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == {SLAEvent.Kind.BREACH}


def test_one_breach_row_per_ticket_and_target(policies, alice, queue_support) -> None:
    ticket = _open(alice, queue_support)
    due = ticket.first_response_due_at
    SLAEvent.objects.create(ticket=ticket, target="first_response", kind="breach", due_at=due)
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAEvent.objects.create(ticket=ticket, target="first_response", kind="breach", due_at=due)


def test_two_workers_at_once_record_a_breach_once(policies, alice, queue_support, monkeypatch):
    """Both read "not yet recorded"; the second's claim then fails on the unique row."""
    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support, priority=Priority.HIGH)
    real_claim = sla._claim
    raced = []

    def claim_after_the_other_worker(*args: Any) -> bool:
        if not raced:
            raced.append(True)
            assert sla.check() == 1  # the other worker, between our read and our claim
        return real_claim(*args)

    monkeypatch.setattr(sla, "_claim", claim_after_the_other_worker)
    with time_machine.travel(at(2025, 3, 5, 12), tick=False):
        assert sla.check() == 0
    assert HistoryEntry.objects.filter(ticket=ticket, field="sla_breached").count() == 1


def test_the_periodic_task_runs_the_check(policies, alice, queue_support) -> None:
    from helpa.automation.tasks import check_sla_every_minute

    with time_machine.travel(WEDNESDAY_9, tick=False):
        ticket = _open(alice, queue_support, priority=Priority.HIGH)
    with time_machine.travel(at(2025, 3, 5, 12), tick=False):
        check_sla_every_minute.call_local()
    assert HistoryEntry.objects.filter(ticket=ticket, field="sla_breached").count() == 1


# --- The overview -----------------------------------------------------------------------------


def _rows(html: str) -> list[tuple[str, str]]:
    """(ticket number, SLA state) of each overview row, in order."""
    rows = []
    for number, body in re.findall(r'<tr id="row-(\d+)"(.*?)</tr>', html, re.S):
        state = re.search(r'data-sla="(\w+)"', body)
        rows.append((number, state.group(1) if state else ""))
    return rows


def test_the_overview_sorts_by_time_left(policies, alice, queue_support, agent_client) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        normal = _open(alice, queue_support)  # due 17:00
        urgent = _open(alice, queue_support, priority=Priority.HIGH)  # due 10:00
        none = _open(alice, queue_support, status=Status.RESOLVED)  # no target
    with time_machine.travel(at(2025, 3, 5, 9, 20), tick=False):
        late = _open(alice, queue_support, priority=Priority.HIGH)  # due 10:20
    with time_machine.travel(at(2025, 3, 5, 10, 10), tick=False):
        html = agent_client.get("/tickets/?view=all&sort=sla").content.decode()
        rows = _rows(html)
        assert rows == [
            (str(urgent.number), "breached"),
            (str(late.number), "warning"),
            (str(normal.number), "ok"),
            (str(none.number), ""),
        ]
        assert "−10 min" in html and "10 min" in html and "6 h 50 min" in html
        reverse_rows = _rows(agent_client.get("/tickets/?view=all&sort=-sla").content.decode())
    assert [n for n, _s in reverse_rows] == [
        str(normal.number),
        str(late.number),
        str(urgent.number),
        str(none.number),
    ]


# --- Demo data ---------------------------------------------------------------------------------


def test_demo_calendar_and_policies(alice, queue_support) -> None:
    with time_machine.travel(WEDNESDAY_9, tick=False):
        old = _open(alice, queue_support, priority=Priority.HIGH)
        demo_sla.load()
    calendar = BusinessCalendar.objects.get()
    assert calendar.is_default and calendar.holiday_country == "SE"
    assert calendar.hours[0] == [[480, 1020]] and calendar.hours[5] == []
    targets = list(
        SLAPolicy.objects.values_list("priorities", "first_response_minutes", "resolution_minutes")
    )
    assert targets == [([Priority.HIGH], 60, 480), ([], 480, 5 * 9 * 60)]
    assert _reload(old).first_response_due_at == at(2025, 3, 5, 10)  # given its due times


# --- Settings → Calendars and SLA --------------------------------------------------------------


def _calendar_post(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Support hours",
        "is_default": "on",
        "holiday_country": "SE",
        "mon": "08:00-12:00, 13:00-17:00",
        "tue": "08-17",
        "wed": "08-17",
        "thu": "08-17",
        "fri": "08-15",
        "sat": "",
        "sun": "",
        "exceptions-TOTAL_FORMS": "2",
        "exceptions-INITIAL_FORMS": "0",
        "exceptions-MIN_NUM_FORMS": "0",
        "exceptions-MAX_NUM_FORMS": "1000",
        "exceptions-0-position": "2",
        "exceptions-0-is_open": "0",
        "exceptions-0-on_date": "2025-12-23",
        "exceptions-0-weekday": "",
        "exceptions-0-start_time": "",
        "exceptions-0-end_time": "",
        "exceptions-0-note": "Inventory",
        "exceptions-1-position": "1",
        "exceptions-1-is_open": "1",
        "exceptions-1-on_date": "2025-12-23",
        "exceptions-1-weekday": "",
        "exceptions-1-start_time": "09:00",
        "exceptions-1-end_time": "12:00",
        "exceptions-1-note": "Morning shift",
    }
    data.update(overrides)
    return data


def test_agents_may_not_open_the_sla_settings(alice_client: Client, office) -> None:
    for url in [
        reverse("sla:overview"),
        reverse("sla:calendar_new"),
        reverse("sla:calendar_edit", args=[office.pk]),
        reverse("sla:policy_new"),
    ]:
        assert alice_client.get(url).status_code == 403
    assert alice_client.post(reverse("sla:calendar_new"), _calendar_post()).status_code == 403
    assert Client().get(reverse("sla:overview")).status_code == 302  # to the login


def test_an_admin_makes_a_calendar(ada_client: Client, queue_support: Queue) -> None:
    page = ada_client.get(reverse("sla:overview")).content.decode()
    assert "Calendars and SLA" in page
    response = ada_client.post(
        reverse("sla:calendar_new"), _calendar_post(queues=str(queue_support.pk))
    )
    calendar = BusinessCalendar.objects.get()
    assert response.url == reverse("sla:calendar_edit", args=[calendar.pk])
    assert calendar.hours[0] == [[480, 720], [780, 1020]]
    assert calendar.hours[4] == [[480, 900]] and calendar.hours[6] == []
    assert calendar.is_default and calendar.holiday_country == "SE"
    # The exceptions in their order: the open morning first.
    assert list(CalendarException.objects.values_list("note", "is_open")) == [
        ("Morning shift", True),
        ("Inventory", False),
    ]
    assert CalendarQueue.objects.get().queue == queue_support
    page = ada_client.get(reverse("sla:calendar_edit", args=[calendar.pk])).content.decode()
    assert "08:00–12:00, 13:00–17:00" in page and "Morning shift" in page
    overview = ada_client.get(reverse("sla:overview")).content.decode()
    assert "Support hours" in overview and "Support" in overview


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mon": "17:00-08:00"}, "Monday: “17:00-08:00” ends before it starts."),
        ({"tue": "08-12, 11-13"}, "Tuesday: The ranges 08:00–12:00, 11:00–13:00 overlap."),
        ({"wed": "all day"}, "“all day” is not a time range"),
        ({"holiday_country": "US"}, "Unknown country “US”"),
        ({"exceptions-0-on_date": ""}, "An exception needs either a date or a weekday."),
        ({"exceptions-1-end_time": "08:00"}, "An exception&#x27;s range ends before it starts."),
        ({"exceptions-1-end_time": ""}, "Give both times"),
    ],
)
def test_bad_calendars_are_explained(ada_client: Client, overrides, message) -> None:
    response = ada_client.post(reverse("sla:calendar_new"), _calendar_post(**overrides))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="Support hours"' in page  # the form keeps what was typed
    assert not BusinessCalendar.objects.exists()


def test_one_queue_one_calendar(ada_client: Client, office, queue_support: Queue) -> None:
    CalendarQueue.objects.create(calendar=office, queue=queue_support)
    response = ada_client.post(
        reverse("sla:calendar_new"), _calendar_post(queues=str(queue_support.pk), is_default="")
    )
    assert "already has the calendar “Kontorstid”" in response.content.decode()


def test_a_new_default_calendar_replaces_the_old(ada_client: Client, office) -> None:
    response = ada_client.post(reverse("sla:calendar_new"), _calendar_post())
    assert response.status_code == 302, response.content.decode()
    assert list(
        BusinessCalendar.objects.filter(is_default=True).values_list("name", flat=True)
    ) == ["Support hours"]


def _policy_post(**overrides: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "VIP",
        "position": "5",
        "is_active": "on",
        "priorities": [str(Priority.HIGH)],
        "first_response_minutes": "30",
        "next_response_minutes": "",
        "resolution_minutes": "240",
        "calendar": "",
        "pause_on_waiting": "on",
        "warning_minutes": "10",
    }
    data.update(overrides)
    return data


def test_an_admin_makes_a_policy(
    ada_client: Client, office, queue_support: Queue, company: Company
) -> None:
    response = ada_client.post(
        reverse("sla:policy_new"),
        _policy_post(queues=[str(queue_support.pk)], companies=[str(company.pk)]),
    )
    policy = SLAPolicy.objects.get()
    assert response.url == reverse("sla:policy_edit", args=[policy.pk])
    assert policy.priorities == [Priority.HIGH]
    assert list(policy.queues.all()) == [queue_support]
    assert list(policy.companies.all()) == [company]
    assert (policy.first_response_minutes, policy.resolution_minutes) == (30, 240)
    assert policy.pause_on_waiting and not policy.pause_on_hold
    listed = ada_client.get(reverse("sla:overview")).content.decode()
    assert "VIP" in listed and "priority High" in listed and "Acme AB" in listed
    # The calendar a policy uses cannot be deleted from under it.
    SLAPolicy.objects.filter(pk=policy.pk).update(calendar=office)
    ada_client.post(reverse("sla:calendar_delete", args=[office.pk]))
    assert BusinessCalendar.objects.filter(pk=office.pk).exists()
    ada_client.post(reverse("sla:policy_delete", args=[policy.pk]))
    assert not SLAPolicy.objects.exists()


def test_a_changed_policy_reaches_the_open_tickets(
    ada_client: Client, policies, alice, queue_support, django_capture_on_commit_callbacks
) -> None:
    high, _standard = policies
    with time_machine.travel(WEDNESDAY_9, tick=False):
        urgent = _open(alice, queue_support, priority=Priority.HIGH)
        done = _open(alice, queue_support, priority=Priority.HIGH)
        actions.set_status(alice, done, Status.CLOSED)
    assert _reload(urgent).first_response_due_at == at(2025, 3, 5, 10)
    with (
        time_machine.travel(at(2025, 3, 5, 9, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = ada_client.post(
            reverse("sla:policy_edit", args=[high.pk]),
            _policy_post(name="High", position="1", first_response_minutes="120"),
        )
    assert response.status_code == 302, response.content.decode()[-3000:]
    high.refresh_from_db()
    assert high.first_response_minutes == 120
    # Two business hours from its creation now (the worker ran it: immediate in tests).
    assert _reload(urgent).first_response_due_at == at(2025, 3, 5, 11)
    assert _reload(done).first_response_due_at is None  # closed tickets are left alone


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"first_response_minutes": "-5"}, "Minutes cannot be negative."),
        ({"warning_minutes": "-1"}, "Minutes cannot be negative."),
        (
            {"first_response_minutes": "", "resolution_minutes": ""},
            "Set at least one target.",
        ),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_policies_are_explained(ada_client: Client, office, overrides, message) -> None:
    response = ada_client.post(reverse("sla:policy_new"), _policy_post(**overrides))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="10"' in page or 'value="-1"' in page  # what was typed stays
    assert not SLAPolicy.objects.exists()
