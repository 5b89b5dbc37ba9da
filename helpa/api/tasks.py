"""Background jobs of the API: send the outgoing webhooks."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("webhook-deliveries")
def send_webhooks_every_minute() -> int:
    """Retries fall due here; so does anything a worker left when it stopped."""
    from .webhooks import send_due

    return send_due()


@db_task()
def send_webhooks_now() -> int:
    """Woken after a commit that wrote deliveries, so an event leaves at once."""
    from .webhooks import send_due

    return send_due()
