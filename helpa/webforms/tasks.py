"""Housekeeping of the contact forms (run by the Huey worker)."""

from datetime import datetime, timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .models import BlockedSubmission, Submission
from .tokens import MAX_AGE_SECONDS

# A form token is refused after a day, so after two nobody can replay one and the rate limits
# (ten minutes) have long forgotten it: the row, with its IP address, goes.
SUBMISSIONS_KEPT = timedelta(seconds=MAX_AGE_SECONDS) + timedelta(days=1)
# The forms list counts refusals of the last seven days; a month is enough to look back on.
BLOCKED_KEPT = timedelta(days=30)


def forget_old_submissions(now: datetime | None = None) -> int:
    now = now or timezone.now()
    submissions, _ = Submission.objects.filter(created_at__lt=now - SUBMISSIONS_KEPT).delete()
    blocked, _ = BlockedSubmission.objects.filter(created_at__lt=now - BLOCKED_KEPT).delete()
    return submissions + blocked


@db_periodic_task(crontab(minute="23"))
def forget_old_submissions_hourly() -> int:
    return forget_old_submissions()
