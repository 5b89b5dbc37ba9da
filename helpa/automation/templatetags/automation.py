"""Templates on the agents' ticket pages (helpa/tickets templates include ours): the tickets
app knows nothing of templates, so the pages ask for them here."""

from django import template

from helpa.automation.actions import templates_for
from helpa.automation.models import RecurringTicket, TemplateUse, TicketTemplate
from helpa.tickets.models import Ticket

register = template.Library()


@register.simple_tag
def active_templates() -> list[TicketTemplate]:
    """The templates an agent may start a ticket from or apply."""
    return list(TicketTemplate.objects.filter(is_active=True).only("pk", "name", "queue_id"))


@register.simple_tag
def templates_for_ticket(ticket: Ticket) -> list[TicketTemplate]:
    """The templates an agent may apply to this ticket (of every brand or of its brand)."""
    return templates_for(ticket)


@register.simple_tag
def template_uses(ticket: Ticket) -> list[TemplateUse]:
    """The templates a ticket was made from or had applied, newest first: their steps and
    solution are shown beside it."""
    return list(TemplateUse.objects.filter(ticket=ticket).select_related("template"))


@register.simple_tag
def ticket_schedule(ticket: Ticket) -> RecurringTicket | None:
    """The schedule that sets this ticket back to New or Open, if it repeats."""
    return RecurringTicket.objects.filter(ticket=ticket).first()
