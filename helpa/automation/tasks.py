"""The worker's rule job: time rules every minute."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("automation-time-rules")
def run_time_rules_every_minute() -> int:
    """The lock keeps a slow scan and the next minute's apart; the unique firing rows keep two
    workers from firing one episode twice even without it."""
    from .timed import run_time_rules

    return run_time_rules()


@db_task()
def run_time_rules_now() -> int:
    from .timed import run_time_rules

    return run_time_rules()


@db_periodic_task(crontab(minute="*"))
@lock_task("automation-sla")
def check_sla_every_minute() -> int:
    """SLA warnings and breaches (sla.check). The unique SLAEvent rows keep two workers from
    sending one warning twice even without the lock."""
    from .sla import check

    return check()


@db_periodic_task(crontab(minute="*"))
def open_recurring_tickets_every_minute() -> int:
    """No lock needed: each due time is a unique row, so two workers act on it once."""
    from .recurring import run_due

    return run_due()
