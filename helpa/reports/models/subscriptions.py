"""Report subscriptions (issue 7 §5): a user asks for a report, with its parameters, by mail
daily, weekly or monthly. The worker (subscriptions.py) claims each subscription when it falls
due and mails the report, built as that user, covering the period just ended."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import User


class Frequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly, on Mondays")
    MONTHLY = "monthly", _("Monthly, on the 1st")


def _first_day_after(frequency: str, day: date) -> date:
    """The first mailing day after `day`: tomorrow, next Monday, or the 1st of next month."""
    if frequency == Frequency.DAILY:
        return day + timedelta(days=1)
    if frequency == Frequency.WEEKLY:
        return day + timedelta(days=7 - day.weekday())
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _is_mailing_day(frequency: str, day: date) -> bool:
    if frequency == Frequency.WEEKLY:
        return day.weekday() == 0
    if frequency == Frequency.MONTHLY:
        return day.day == 1
    return True


def next_run(frequency: str, hour: int, after: datetime) -> datetime:
    """The first mailing time strictly after `after`: `hour` o'clock local time (the
    installation's zone, Europe/Stockholm by default) on the next mailing day. Counted in local
    days and hours, so a 07:00 mail stays at 07:00 across the change to and from summer time."""
    today = timezone.localtime(after).date()
    day = today if _is_mailing_day(frequency, today) else _first_day_after(frequency, today)
    while True:
        at = timezone.make_aware(datetime.combine(day, time(hour)))
        if at > after:
            return at
        day = _first_day_after(frequency, day)


class ReportSubscription(models.Model):
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="report_subscriptions", verbose_name=_("user")
    )
    # A key of report.REPORTS.
    report = models.CharField(_("report"), max_length=50)
    # The report's parameters as a query string (filters, and a period relative to the day of
    # sending such as period=last_week), exactly as the report page reads them.
    parameters = models.CharField(_("parameters"), max_length=2000, blank=True)
    frequency = models.CharField(
        _("how often"), max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    hour = models.PositiveSmallIntegerField(_("at hour"), default=7)
    next_run_at = models.DateTimeField(_("next mail"))
    last_sent_at = models.DateTimeField(_("last mailed"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["report", "pk"]
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        indexes = [
            # The worker's question every five minutes: which active subscriptions are due?
            models.Index(
                fields=["next_run_at"], name="report_sub_due_idx", condition=Q(active=True)
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(hour__lte=23), name="report_sub_hour_valid")
        ]

    def __str__(self) -> str:
        return f"{self.report} ({self.frequency})"

    def schedule(self, after: datetime | None = None) -> None:
        """Set the next mailing time after `after` (now); the caller saves."""
        self.next_run_at = next_run(self.frequency, self.hour, after or timezone.now())
