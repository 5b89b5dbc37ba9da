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


@db_periodic_task(crontab(minute="*"))
def poll_mailboxes_every_minute() -> dict[str, int]:
    """Fetch new mail from every active IMAP/POP3 mailbox. Each poll claims its mailbox (an
    expiring mark on the row, see fetch._claim), so a slow poll and the next minute's — or
    `helpa fetchmail` — never work on one mailbox at once."""
    from .fetch import poll_all

    totals = {"fetched": 0, "stored": 0, "duplicates": 0, "failed": 0, "errors": 0}
    for result in poll_all().values():
        totals["fetched"] += result.fetched
        totals["stored"] += result.stored
        totals["duplicates"] += result.duplicates
        totals["failed"] += result.failed
        totals["errors"] += bool(result.error)
    return totals


@db_periodic_task(crontab(hour="3", minute="50"))
@lock_task("mail-orphaned-files")
def remove_orphaned_raw_files_nightly() -> int:
    """Raw message files a killed process left without their row (see sweep)."""
    from .sweep import remove_orphaned_raw_files

    return remove_orphaned_raw_files()
