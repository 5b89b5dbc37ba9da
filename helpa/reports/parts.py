"""The parts of the reports app that register something at start-up (event subscribers,
reports offered for subscriptions, worker tasks). One line per part; the statistics' worker
task lives in tasks.py, which the worker finds by itself."""

from . import (  # noqa: F401
    slareport,  # the "sla" report
    statistics,  # the "statistics" report
    survey_report,  # the "surveys" report
    surveys,  # privacy export and anonymisation of survey answers
    tasks_subscriptions,  # mails subscribed reports every 5 minutes
    tasks_surveys,  # sends survey invitations every 5 minutes
    timeentries,  # keeps the ticket columns copied onto time entries current
    timereport,  # the "time" report
)
