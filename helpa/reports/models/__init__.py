"""The reports app's models, one module per part (statistics facts, surveys, subscriptions)."""

from .facts import FactsState, TicketFact  # noqa: F401
from .subscriptions import ReportSubscription  # noqa: F401
from .surveys import SurveyAnswer, SurveyBlock, SurveyInvitation, SurveyProfile  # noqa: F401
