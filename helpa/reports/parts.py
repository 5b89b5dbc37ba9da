"""The parts of the reports app that register something at start-up (event subscribers,
reports offered for subscriptions). One import line per part."""

from . import tasks_subscriptions  # noqa: F401  (mails subscribed reports every 5 minutes)
