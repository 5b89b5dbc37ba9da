"""The worker's survey job: invitations every five minutes."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="*/5"))
@lock_task("reports-surveys")
def send_survey_invitations_every_five_minutes() -> int:
    """The lock keeps a slow pass and the next apart; the unique invitation per ticket keeps
    two workers from inviting twice even without it."""
    from .surveys import run_surveys

    outcome = run_surveys()
    return outcome.invited + outcome.skipped
