"""The worker's automation jobs: time rules every minute, reminders every five minutes,
retention every night."""

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


@db_periodic_task(crontab(minute="*/5"))
@lock_task("automation-reminders")
def send_reminders_every_five_minutes() -> int:
    """Reminders to contacts who keep a ticket waiting, and the automatic resolving after them.
    The unique reminder row per wait and the claimed countdown keep two workers from doing
    anything twice even without the lock."""
    from .reminders import run_reminders

    outcome = run_reminders()
    return outcome.reminded + outcome.resolved


@db_periodic_task(crontab(hour="3", minute="40"))
@lock_task("automation-retention")
def run_retention_daily() -> int:
    """Delete or anonymise the tickets past their queue's retention, at night."""
    from .retention import run_retention

    return sum(result.count for result in run_retention())


@db_task()
def rework_sla_of_active_tickets() -> int:
    """After an admin changed the SLA policies or calendars: the active tickets' due times."""
    from .sla import rework_active_tickets

    return rework_active_tickets()
