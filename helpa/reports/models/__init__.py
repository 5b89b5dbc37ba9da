"""The reports app's models, one module per part (statistics facts, surveys, subscriptions)."""

from .surveys import SurveyAnswer, SurveyBlock, SurveyInvitation, SurveyProfile  # noqa: F401
