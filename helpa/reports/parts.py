"""The parts of the reports app that register something at start-up (event subscribers,
reports offered for subscriptions). One import line per part."""

from . import statistics  # noqa: F401  registers the statistics report
