"""The worker's part of report subscriptions (imported by parts.py, so Huey knows the task)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="*/5"))
@lock_task("reports-subscriptions")
def mail_due_report_subscriptions() -> int:
    from .subscriptions import send_due

    return send_due()
