"""Report subscriptions: the pages, the timing in Stockholm time across summer time, and the
mail — built as the subscriber, claimed once, with charts as HTML tables and the Excel file.

The reports themselves are written elsewhere; these tests register a small one of their own.
Personas from helpa/conftest.py: `alice` works Support; `bob` works Billing only.
"""

from __future__ import annotations

import email
import email.policy
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.db.models import Count
from django.http import QueryDict
from django.template import Context, Template
from django.test import Client
from openpyxl import load_workbook

from helpa.accounts.models import Role, User
from helpa.mail.models import FailingAddress, OutgoingMail
from helpa.reports import access, periods, subscriptions
from helpa.reports.models import ReportSubscription
from helpa.reports.models.subscriptions import next_run
from helpa.reports.report import REPORTS, Chart, Report, Series, Table, register
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- Timing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frequency, hour, after, expected",
    [
        # Daily at 07:00 Stockholm: 06:00 UTC in winter, 05:00 UTC in summer.
        ("daily", 7, "2026-03-27 06:00", "2026-03-28 06:00"),
        # Summer time begins on Sunday 29 March 2026 at 02:00: 07:00 is then 05:00 UTC.
        ("daily", 7, "2026-03-28 06:00", "2026-03-29 05:00"),
        ("daily", 7, "2026-03-28 05:59", "2026-03-28 06:00"),
        # …and ends on Sunday 25 October 2026 at 03:00.
        ("daily", 7, "2026-10-24 05:00", "2026-10-25 06:00"),
        # Just after midnight local time is still the previous day in UTC.
        ("daily", 0, "2026-06-30 22:30", "2026-07-01 22:00"),
        ("daily", 0, "2026-06-30 21:30", "2026-06-30 22:00"),
        # Weekly: Mondays. 2026-03-25 is a Wednesday; 30 March is the first Monday of summer.
        ("weekly", 7, "2026-03-25 12:00", "2026-03-30 05:00"),
        ("weekly", 7, "2026-03-23 05:00", "2026-03-23 06:00"),
        ("weekly", 7, "2026-03-23 06:00", "2026-03-30 05:00"),
        # Monthly: the 1st. 1 November is winter time again.
        ("monthly", 7, "2026-10-01 05:00", "2026-11-01 06:00"),
        ("monthly", 7, "2026-09-30 12:00", "2026-10-01 05:00"),
        ("monthly", 8, "2026-12-15 12:00", "2027-01-01 07:00"),
    ],
)
def test_next_mailing_time_in_stockholm(
    frequency: str, hour: int, after: str, expected: str
) -> None:
    assert next_run(frequency, hour, utc(after)) == utc(expected)


# --- A small report for the tests --------------------------------------------------------------


def tickets_by_queue(user: User, params: QueryDict) -> Report:
    """New tickets per queue in the period, of the queues the user's reports cover."""
    period = periods.from_params(params)
    counts = list(
        Ticket.objects.filter(
            access.queue_scope_q(user),
            created_at__gte=period.start_at(),
            created_at__lt=period.end_before(),
        )
        .values_list("queue__name")
        .annotate(n=Count("id"))
        .order_by("queue__name")
    )
    labels = [name for name, _n in counts]
    return Report(
        "New tickets",
        description=period.label(),
        charts=[Chart("New tickets per queue", labels, [Series("New", [n for _q, n in counts])])],
        tables=[Table("Per queue", ["Queue", "New"], [[name, n] for name, n in counts])],
        tiles=[("New tickets", sum(n for _q, n in counts), "")],
    )


@pytest.fixture
def test_report() -> Iterator[str]:
    register("test_new", "New tickets (test)", "reports_subscriptions:index")(tickets_by_queue)
    yield "test_new"
    REPORTS.pop("test_new", None)


@pytest.fixture
def march_tickets(alice: User, bob: User, support: Queue, billing: Queue) -> None:
    """Week 10 of 2026 is Monday 2 March – Sunday 8 March (Stockholm time)."""
    for when, queue, who, title in [
        ("2026-03-01T23:30:00+01:00", support, alice, "Sunday before: not in the week"),
        ("2026-03-02T00:30:00+01:00", support, alice, "Monday just after midnight"),
        ("2026-03-08T23:59:00+01:00", support, alice, "=SUM(A1:A9) last minute of Sunday"),
        ("2026-03-05T12:00:00+01:00", billing, bob, "Billing: not Alice's"),
        ("2026-03-09T06:00:00+01:00", support, alice, "Monday of the mail: not in the week"),
    ]:
        with time_machine.travel(datetime.fromisoformat(when), tick=False):
            actions.open_ticket(who, queue=queue, title=title)


def _subscribe(user: User, key: str, **fields: object) -> ReportSubscription:
    sub = ReportSubscription(
        user=user,
        report=key,
        parameters=fields.pop("parameters", "period=last_week"),
        frequency=fields.pop("frequency", "weekly"),
        hour=fields.pop("hour", 7),
        **fields,
    )
    sub.schedule(after=utc("2026-03-02 07:00"))  # the first mail: Monday 9 March, 07:00
    sub.save()
    return sub


def _message(mail: OutgoingMail) -> email.message.EmailMessage:
    mail.raw.open("rb")
    try:
        return email.message_from_bytes(mail.raw.read(), policy=email.policy.default)
    finally:
        mail.raw.close()


MONDAY_MORNING = utc("2026-03-09 06:02")  # 07:02 in Stockholm


def test_a_due_subscription_mails_the_period_just_ended_as_its_user(
    alice: User, test_report: str, march_tickets: None
) -> None:
    sub = _subscribe(alice, test_report)
    assert sub.next_run_at == utc("2026-03-09 06:00")
    with time_machine.travel(MONDAY_MORNING, tick=False):
        assert subscriptions.send_due() == 1
    mail = OutgoingMail.objects.get()
    assert mail.kind == OutgoingMail.Kind.AGENT and mail.recipients == ["alice@example.com"]
    assert mail.subject == "Report: New tickets"
    message = _message(mail)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    # Last week, Monday 2 – Sunday 8 March: two Support tickets; Billing is not Alice's.
    assert "2026-03-02 – 2026-03-08" in html
    assert "Support" in html and "Billing" not in html
    assert "<svg" not in html
    # The chart is a table of bars drawn with inline styles: one bar, the chart's full width.
    assert f"width:{subscriptions.BAR_WIDTH_PX}px" in html
    assert "Support: 2" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(attachment.get_content()))["Per queue"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Queue", "New"],
        ["Support", 2],
    ]
    sub.refresh_from_db()
    assert sub.last_sent_at == MONDAY_MORNING
    assert sub.next_run_at == utc("2026-03-16 06:00")


def test_sending_twice_mails_once(alice: User, test_report: str, march_tickets: None) -> None:
    _subscribe(alice, test_report)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        assert subscriptions.send_due() == 1
        assert subscriptions.send_due() == 0
    assert OutgoingMail.objects.count() == 1


def test_two_workers_claim_a_subscription_once(alice: User, test_report: str) -> None:
    sub = _subscribe(alice, test_report)
    mine, theirs = (ReportSubscription.objects.get(pk=sub.pk) for _n in range(2))
    assert subscriptions._claim(mine, MONDAY_MORNING) is True
    assert subscriptions._claim(theirs, MONDAY_MORNING) is False


def test_nothing_is_due_before_its_hour(alice: User, test_report: str) -> None:
    _subscribe(alice, test_report)
    with time_machine.travel(utc("2026-03-09 05:59"), tick=False):
        assert subscriptions.send_due() == 0
    assert not OutgoingMail.objects.exists()


@pytest.mark.parametrize("change", ["deactivated", "customer", "bounced", "paused", "no_report"])
def test_who_may_not_have_the_report_gets_nothing(
    alice: User, test_report: str, march_tickets: None, change: str
) -> None:
    sub = _subscribe(alice, test_report)
    if change == "deactivated":
        User.objects.filter(pk=alice.pk).update(is_active=False)
    elif change == "customer":
        User.objects.filter(pk=alice.pk).update(role=Role.CUSTOMER)
    elif change == "bounced":
        FailingAddress.objects.create(address="alice@example.com")
    elif change == "paused":
        ReportSubscription.objects.filter(pk=sub.pk).update(active=False)
    elif change == "no_report":
        ReportSubscription.objects.filter(pk=sub.pk).update(report="gone")
    with time_machine.travel(MONDAY_MORNING, tick=False):
        assert subscriptions.send_due() == 0
    assert not OutgoingMail.objects.exists()
    sub.refresh_from_db()
    assert sub.last_sent_at is None


def test_an_agent_who_left_the_team_gets_the_report_without_its_tickets(
    alice: User, team_support, test_report: str, march_tickets: None
) -> None:
    _subscribe(alice, test_report)
    team_support.members.remove(alice)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        subscriptions.send_due()
    html = _message(OutgoingMail.objects.get()).get_body(("html",)).get_content()
    assert "Support" not in html and "Nothing in this period." in html


def test_a_report_that_fails_is_tried_again_and_others_still_go(
    alice: User, ada: User, test_report: str, march_tickets: None
) -> None:
    def broken(user: User, params: QueryDict) -> Report:
        raise RuntimeError("boom")

    register("broken", "Broken", "reports_subscriptions:index")(broken)
    try:
        failing = _subscribe(alice, "broken")
        _subscribe(ada, test_report)
        with time_machine.travel(MONDAY_MORNING, tick=False):
            assert subscriptions.send_due() == 1
    finally:
        REPORTS.pop("broken", None)
    assert OutgoingMail.objects.get().recipients == ["ada@example.com"]
    failing.refresh_from_db()
    assert failing.next_run_at == utc("2026-03-09 06:00")  # still due: the claim rolled back


def test_send_due_queries_do_not_grow_with_subscriptions(
    alice: User, test_report: str, django_assert_max_num_queries
) -> None:
    for _n in range(5):
        _subscribe(alice, test_report)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        with django_assert_max_num_queries(1 + 5 * 8):
            assert subscriptions.send_due() == 5


def test_the_periodic_task_sends(alice: User, test_report: str, march_tickets: None) -> None:
    from helpa.reports.tasks_subscriptions import mail_due_report_subscriptions

    _subscribe(alice, test_report)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        mail_due_report_subscriptions.call_local()
    assert OutgoingMail.objects.count() == 1


# --- The pages ---------------------------------------------------------------------------------


def test_subscribe_link_brings_the_report_and_its_filters(
    alice_client: Client, test_report: str
) -> None:
    link = Template(
        '{% include "reports/_subscribe.html" with report_key="test_new" report_query=q %}'
    ).render(Context({"q": "queue=3&period=custom&from=2026-01-01&to=2026-01-31"}))
    assert "report=test_new" in link
    href = link.split('href="')[1].split('"')[0].replace("&amp;", "&")
    page = alice_client.get(href).content.decode()
    # The filters are kept; the fixed dates give way to a period relative to the mailing day.
    assert 'name="filters" value="queue=3"' in page
    assert '<option value="test_new" selected>' in page
    response = alice_client.post(
        "/reports/subscriptions/new/",
        {
            "report": "test_new",
            "period": "last_month",
            "frequency": "monthly",
            "hour": "8",
            "filters": "queue=3&export=xlsx",
            "active": "on",
        },
    )
    assert response.status_code == 302
    sub = ReportSubscription.objects.get()
    assert sub.user == User.objects.get(email="alice@example.com")
    assert QueryDict(sub.parameters) == QueryDict("queue=3&period=last_month")
    assert sub.frequency == "monthly" and sub.hour == 8 and sub.active
    index = alice_client.get("/reports/subscriptions/").content.decode()
    assert "New tickets (test)" in index and "Last month" in index and "queue 3" in index


def test_bad_input_is_a_form_error(alice_client: Client, test_report: str) -> None:
    response = alice_client.post(
        "/reports/subscriptions/new/",
        {"report": "nope", "period": "custom", "frequency": "hourly", "hour": "25"},
    )
    assert response.status_code == 200
    assert response.content.decode().count('class="errors"') == 4
    assert not ReportSubscription.objects.exists()


def test_one_sees_and_changes_only_ones_own_subscriptions(
    alice: User, bob: User, alice_client: Client, bob_client: Client, test_report: str
) -> None:
    sub = _subscribe(alice, test_report)
    assert "New tickets (test)" not in bob_client.get("/reports/subscriptions/").content.decode()
    assert bob_client.get(f"/reports/subscriptions/{sub.pk}/").status_code == 404
    assert bob_client.post(f"/reports/subscriptions/{sub.pk}/", {}).status_code == 404
    assert bob_client.post(f"/reports/subscriptions/{sub.pk}/delete/").status_code == 404
    assert ReportSubscription.objects.filter(pk=sub.pk).exists()
    edit = alice_client.post(
        f"/reports/subscriptions/{sub.pk}/",
        {"report": "test_new", "period": "yesterday", "frequency": "daily", "hour": "6"},
    )
    assert edit.status_code == 302
    sub.refresh_from_db()
    assert sub.frequency == "daily" and not sub.active and sub.parameters == "period=yesterday"
    assert alice_client.post(f"/reports/subscriptions/{sub.pk}/delete/").status_code == 302
    assert not ReportSubscription.objects.exists()


def test_subscriptions_are_for_agents(carl_client: Client, client: Client) -> None:
    assert carl_client.get("/reports/subscriptions/").status_code == 403
    assert client.get("/reports/subscriptions/").status_code == 302
