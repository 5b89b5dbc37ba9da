"""Mailing subscribed reports (issue 7 §5).

Every five minutes the worker asks which active subscriptions are due and claims each with a
conditional UPDATE of its next_run_at (STYLE.md §7): of two workers, one claims it and the
other updates nothing. The claim, the report and its mail are one transaction, so a report
that fails to build leaves the subscription due for the next run and nothing half-sent.

A report is built as the subscribed user (`REPORTS[key].build(user, params)`), so it holds what
they may see today, not what they saw when they subscribed; a deactivated user, or one who is no
longer an agent, gets nothing. The mail has the tiles, each chart drawn as an HTML table with
bars of inline style (mail clients do not show SVG), the first rows of each table, and the
whole report as an Excel file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpa.accounts.models import User
from helpa.mail import outbound
from helpa.mail.models import FailingAddress, OutgoingMail

from . import exports
from .models import ReportSubscription
from .models.subscriptions import next_run
from .report import REPORTS, Chart, Report, ReportKind

log = logging.getLogger(__name__)

# The first rows of each table in the mail body; the attached file has them all.
MAIL_TABLE_ROWS = 20
BAR_COLOURS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096"]
BAR_WIDTH_PX = 240


@dataclass
class Bar:
    series: str
    value: float | None
    width: int  # pixels, 0 for nothing
    colour: str


def chart_rows(chart: Chart) -> list[tuple[str, list[Bar]]]:
    """A chart as rows of bars for mail: each label with one bar per series, scaled to the
    largest value of the chart."""
    values = [v for s in chart.series for v in s.values if v is not None]
    largest = max((abs(v) for v in values), default=0) or 1
    rows = []
    for i, label in enumerate(chart.labels):
        bars = []
        for n, series in enumerate(chart.series):
            value = series.values[i] if i < len(series.values) else None
            width = round(BAR_WIDTH_PX * abs(value) / largest) if value else 0
            bars.append(Bar(series.name, value, width, BAR_COLOURS[n % len(BAR_COLOURS)]))
        rows.append((label, bars))
    return rows


def report_url(kind: ReportKind, parameters: str) -> str:
    try:
        path = reverse(kind.url_name)
    except NoReverseMatch:
        path = reverse("reports_subscriptions:index")
    return settings.BASE_URL + path + (f"?{parameters}" if parameters else "")


def render_mail(subscription: ReportSubscription, kind: ReportKind, report: Report) -> dict:
    """Subject, text and HTML of one report's mail, in the subscriber's language."""
    with translation.override(subscription.user.language or settings.LANGUAGE_CODE):
        context = {
            "report": report,
            "kind": kind,
            "charts": [(chart, chart_rows(chart)) for chart in report.charts],
            "tables": [(t, t.rows[:MAIL_TABLE_ROWS], len(t.rows)) for t in report.tables],
            "url": report_url(kind, subscription.parameters),
            "manage_url": settings.BASE_URL + reverse("reports_subscriptions:index"),
            "subscription": subscription,
        }
        return {
            "subject": _("Report: %(title)s") % {"title": report.title},
            "text": render_to_string("reports/mail/subscription.txt", context),
            "html": render_to_string("reports/mail/subscription.html", context),
            "filename": exports.filename(report.title, "xlsx"),
        }


def may_receive(user: User) -> bool:
    return bool(user.is_active and user.is_agent and user.email)


def mail_report(subscription: ReportSubscription) -> OutgoingMail | None:
    """Build the subscribed report as its user and put its mail in the outbox (in the caller's
    transaction). None when nothing is to be sent: the user may not have it, the report is
    gone, or the address bounced before."""
    user = subscription.user
    kind = REPORTS.get(subscription.report)
    if kind is None or not may_receive(user):
        return None
    if FailingAddress.objects.filter(address=user.email.lower()).exists():
        log.warning("no report to %s: the address bounced before", user.email)
        return None
    with translation.override(user.language or settings.LANGUAGE_CODE):
        report = kind.build(user, QueryDict(subscription.parameters))
    mail = render_mail(subscription, kind, report)
    return outbound.queue_mail(
        kind=OutgoingMail.Kind.AGENT,
        queue=None,
        to=[(str(user), user.email)],
        subject=mail["subject"],
        text=mail["text"],
        html=mail["html"],
        attachments=[
            outbound.Attachment(mail["filename"], exports.XLSX_TYPE, exports.xlsx_bytes(report))
        ],
    )


def _claim(subscription: ReportSubscription, now: datetime) -> bool:
    """Move the subscription on to its next time, if nobody else did since we read it."""
    following = next_run(subscription.frequency, subscription.hour, now)
    claimed = ReportSubscription.objects.filter(
        pk=subscription.pk, active=True, next_run_at=subscription.next_run_at
    ).update(next_run_at=following)
    subscription.next_run_at = following
    return claimed == 1


def send_due(now: datetime | None = None, limit: int = 200) -> int:
    """Mail every subscription due at `now`; returns how many mails were queued."""
    now = now or timezone.now()
    due = list(
        ReportSubscription.objects.filter(active=True, next_run_at__lte=now)
        .select_related("user")
        .order_by("next_run_at", "pk")[:limit]
    )
    sent = 0
    for subscription in due:
        try:
            with transaction.atomic():
                if not _claim(subscription, now):
                    continue  # another worker has it
                if mail_report(subscription) is None:
                    continue
                ReportSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=now)
                sent += 1
        except Exception:  # noqa: BLE001 — one broken report must not stop the others' mail
            # The claim rolled back with it: the next run tries again.
            log.exception("could not mail report subscription %s", subscription.pk)
    return sent
