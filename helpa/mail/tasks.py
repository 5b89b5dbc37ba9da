"""Background jobs of the mail channel: drain the outbox, poll the mailboxes."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("mail-outbox")
def send_outbox_every_minute() -> int:
    from .outbox import send_due

    return send_due()


@db_task()
def send_outbox_now() -> int:
    """Woken after a commit that queued mail, so a reply leaves at once, not within a minute."""
    from .outbox import send_due

    return send_due()
