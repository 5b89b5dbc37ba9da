"""The parts of the reports app that register something at start-up (event subscribers,
reports offered for subscriptions). One import line per part."""

from . import survey_report, surveys, tasks_surveys  # noqa: F401,E402  (surveys)
