"""Housekeeping of the customer side (run by the Huey worker)."""

from datetime import datetime, timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .models import FormSubmission, LoginLink, TicketLink


def forget_old_keys(now: datetime | None = None) -> int:
    """Spent or expired sign-in links and day-old form keys are of no use any more; a ticket
    link stays until it expires (agents see and revoke them), then goes too."""
    now = now or timezone.now()
    day_ago = now - timedelta(days=1)
    removed, _ = FormSubmission.objects.filter(created_at__lt=day_ago).delete()
    spent, _ = LoginLink.objects.filter(expires_at__lt=day_ago).delete()
    expired, _ = TicketLink.objects.filter(expires_at__lt=day_ago).delete()
    return removed + spent + expired


@db_periodic_task(crontab(minute="17"))
def forget_old_keys_hourly() -> int:
    return forget_old_keys()
