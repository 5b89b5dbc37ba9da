"""The worker's reports jobs: statistics facts every minute."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("reports-facts")
def refresh_facts_every_minute() -> int:
    """The lock keeps a long catch-up and the next minute's run apart; the upsert is
    idempotent, so two runs at once would only do the same work twice."""
    from .facts import refresh

    return refresh()
