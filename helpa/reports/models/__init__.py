"""The reports app's models, one module per part (statistics facts, surveys, subscriptions)."""

from .facts import FactsState, TicketFact  # noqa: F401
