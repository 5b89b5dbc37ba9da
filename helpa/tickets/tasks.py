"""Background jobs of the ticket core (run by the Huey worker that `make run` starts)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import actions


@db_periodic_task(crontab(minute="*"))
def wake_on_hold_tickets_every_minute() -> int:
    return actions.wake_on_hold_tickets()


@db_task()
def wake_on_hold_tickets_now() -> int:
    """The same job on demand (lets an operator, or a test, run it without waiting a minute)."""
    return actions.wake_on_hold_tickets()
