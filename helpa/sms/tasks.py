"""Background jobs of the SMS channel: send the outbox."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("sms-outbox")
def send_sms_every_minute() -> int:
    """Retries fall due here; so does anything a worker left when it stopped."""
    from .outbox import send_due

    return send_due()


@db_task()
def send_sms_now() -> int:
    """Woken after a commit that wrote SMS, so a reply leaves at once."""
    from .outbox import send_due

    return send_due()
