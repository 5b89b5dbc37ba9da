"""Recurring tickets: due times in local wall-clock time (across summer time), month ends,
once per due time even with two workers, one catch-up after downtime, and the pages."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from helpa.automation import recurring
from helpa.automation.models import Frequency, RecurringRun, RecurringTicket, TicketTemplate
from helpa.tickets import actions
from helpa.tickets.models import ArticleKind, Status, Ticket

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


@pytest.fixture
def backup_check(queue_support) -> TicketTemplate:
    return TicketTemplate.objects.create(
        name="Backup check", title="Check last night's backup", queue=queue_support
    )


def schedule(template=None, **fields) -> RecurringTicket:
    fields.setdefault("name", "Schedule")
    fields.setdefault("time_of_day", time(8, 0))
    fields.setdefault("starts_on", date(2026, 3, 2))  # a Monday
    made = RecurringTicket(template=template, **fields)
    recurring.schedule_next(made, local(2026, 3, 1, 0, 0))
    made.save()
    return made


def upcoming(s: RecurringTicket, after: datetime, n: int) -> list[datetime]:
    found = []
    for due in recurring.occurrences(s, after):
        found.append(due)
        if len(found) == n:
            break
    return found


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Mondays and Thursdays at 08:00, every week: across the change to summer time on
        # 29 March 2026 the wall clock stays at 08:00 (the UTC offset moves from +1 to +2).
        (
            {"frequency": Frequency.WEEKLY, "weekdays": [0, 3]},
            [local(2026, 3, 26, 8), local(2026, 3, 30, 8), local(2026, 4, 2, 8)],
        ),
        # Every second week on Monday, counted from the first week.
        (
            {"frequency": Frequency.WEEKLY, "interval": 2, "weekdays": [0]},
            [local(2026, 3, 30, 8), local(2026, 4, 13, 8), local(2026, 4, 27, 8)],
        ),
        # Every 10 days from 2 March.
        (
            {"frequency": Frequency.DAILY, "interval": 10},
            [local(2026, 4, 1, 8), local(2026, 4, 11, 8), local(2026, 4, 21, 8)],
        ),
        # The 31st every month: the last day in shorter months.
        (
            {"frequency": Frequency.MONTHLY, "day_of_month": 31},
            [local(2026, 3, 31, 8), local(2026, 4, 30, 8), local(2026, 5, 31, 8)],
        ),
        # Quarterly on the 15th.
        (
            {"frequency": Frequency.MONTHLY, "interval": 3, "day_of_month": 15},
            [local(2026, 6, 15, 8), local(2026, 9, 15, 8), local(2026, 12, 15, 8)],
        ),
    ],
)
def test_due_times(backup_check, fields, expected) -> None:
    s = schedule(backup_check, **fields)
    found = upcoming(s, local(2026, 3, 25, 12), 3)
    assert found == expected
    assert [d.utcoffset() for d in found] == [d.utcoffset() for d in expected]


def test_february_and_a_leap_year(backup_check) -> None:
    s = schedule(backup_check, frequency=Frequency.MONTHLY, day_of_month=30)
    assert upcoming(s, local(2027, 2, 1), 1) == [local(2027, 2, 28, 8)]
    assert upcoming(s, local(2028, 2, 1), 1) == [local(2028, 2, 29, 8)]


def test_an_end_date_ends_it(backup_check) -> None:
    s = schedule(backup_check, frequency=Frequency.DAILY, ends_on=date(2026, 3, 4))
    assert upcoming(s, local(2026, 3, 1), 10) == [
        local(2026, 3, 2, 8),
        local(2026, 3, 3, 8),
        local(2026, 3, 4, 8),
    ]


def test_a_due_time_opens_one_ticket_and_a_second_run_none(backup_check) -> None:
    s = schedule(backup_check, frequency=Frequency.DAILY)
    assert s.next_run_at == local(2026, 3, 2, 8)
    with time_machine.travel(local(2026, 3, 2, 8, 0, 30), tick=False):
        assert recurring.run_due() == 1
        assert recurring.run_due() == 0
    ticket = Ticket.objects.get()
    assert ticket.title == "Check last night's backup"
    assert ticket.history.filter(actor_name="Recurring: Schedule").exists()
    s.refresh_from_db()
    assert s.next_run_at == local(2026, 3, 3, 8)
    assert RecurringRun.objects.get().ticket == ticket


def test_two_workers_on_one_due_time_act_once(backup_check) -> None:
    s = schedule(backup_check, frequency=Frequency.DAILY)
    RecurringRun.objects.create(schedule=s, due_at=s.next_run_at)  # the other worker's row
    with time_machine.travel(local(2026, 3, 2, 8, 1), tick=False):
        assert recurring.run_due() == 0
    assert not Ticket.objects.exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        RecurringRun.objects.create(schedule=s, due_at=s.next_run_at)


def test_after_downtime_it_catches_up_once(backup_check) -> None:
    s = schedule(backup_check, frequency=Frequency.DAILY)
    # The worker was down from Monday to Thursday noon: one ticket, then Friday 08:00.
    with time_machine.travel(local(2026, 3, 5, 12), tick=False):
        assert recurring.run_due() == 1
        assert recurring.run_due() == 0
    assert Ticket.objects.count() == 1
    s.refresh_from_db()
    assert s.next_run_at == local(2026, 3, 6, 8)


def test_a_repeating_ticket_comes_back(alice, ticket) -> None:
    actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.RESOLVED})
    s = RecurringTicket(
        name="Repeat",
        ticket=ticket,
        frequency=Frequency.DAILY,
        interval=7,
        reopen_status=Status.OPEN,
        time_of_day=time(9, 0),
        starts_on=date(2026, 3, 2),
    )
    recurring.schedule_next(s, local(2026, 3, 1))
    s.save()
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        assert recurring.run_due() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.articles.filter(kind=ArticleKind.NOTE, body_text__contains="Repeat").exists()
    s.refresh_from_db()
    assert s.next_run_at == local(2026, 3, 9, 9)


def test_a_repeating_ticket_without_owner_comes_back_as_new(ticket) -> None:
    s = RecurringTicket.objects.create(
        name="Repeat",
        ticket=ticket,
        frequency=Frequency.DAILY,
        reopen_status=Status.OPEN,
        time_of_day=time(9, 0),
        starts_on=date(2026, 3, 2),
        next_run_at=local(2026, 3, 2, 9),
    )
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        assert recurring.run_due() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert s.runs.count() == 1


# --- Pages ---------------------------------------------------------------------------------------


def test_an_admin_makes_a_schedule_and_sees_its_next_due_times(ada_client, backup_check) -> None:
    data = {
        "name": "Backups",
        "template": backup_check.pk,
        "frequency": "weekly",
        "interval": "1",
        "weekdays": ["0", "3"],
        "time_of_day": "08:00",
        "starts_on": "2030-01-07",
        "is_active": "on",
    }
    response = ada_client.post(reverse("templates:recurring_new"), data)
    s = RecurringTicket.objects.get(name="Backups")
    assert response.status_code == 302
    assert s.weekdays == [0, 3]
    assert s.next_run_at == local(2030, 1, 7, 8)
    page = ada_client.get(reverse("templates:recurring_edit", args=[s.pk])).content.decode()
    assert "2030-01-10 08:00" in page  # the Thursday after


def test_bad_schedules_are_explained(ada_client, backup_check) -> None:
    response = ada_client.post(
        reverse("templates:recurring_new"),
        {
            "name": "Bad",
            "template": backup_check.pk,
            "frequency": "monthly",
            "interval": "0",
            "day_of_month": "32",
            "time_of_day": "08:00",
            "starts_on": "2030-01-07",
            "ends_on": "2029-01-01",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Repeat every 1 or more." in text
    assert "A day of the month is 1 to 31." in text
    assert "The end comes before the start." in text
    assert not RecurringTicket.objects.exists()


def test_the_schedule_pages_are_for_admins(alice_client) -> None:
    assert alice_client.get(reverse("templates:recurring_list")).status_code in (302, 403)


def test_an_agent_makes_a_ticket_repeat_and_stops_it(alice_client, bob_client, ticket) -> None:
    url = reverse("templates:repeat", args=[ticket.number])
    assert bob_client.get(url).status_code == 404
    response = alice_client.post(
        url,
        {
            "interval": "14",
            "reopen_status": "new",
            "time_of_day": "07:30",
            "starts_on": "2030-05-02",
        },
    )
    assert response.status_code == 302
    s = RecurringTicket.objects.get(ticket=ticket)
    assert s.next_run_at == local(2030, 5, 2, 7, 30)
    page = alice_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert "Repeats every 14 days" in page
    alice_client.post(url, {"stop": "1"})
    assert not RecurringTicket.objects.exists()
