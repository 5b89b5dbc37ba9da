from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from helpa.portal.links import active_ticket_links
from helpa.portal.models import Look, PortalSettings, look_for
from helpa.tickets.models import Article, Ticket

register = template.Library()


@register.simple_tag
def portal_settings() -> PortalSettings:
    """The installation's customer-side look (name, logo, colours) for portal/base.html."""
    return PortalSettings.current()


@register.simple_tag
def customer_look(ticket: Ticket | None = None) -> Look:
    """The look of a customer page: of the ticket's brand on a ticket's page, else the
    installation's (portal/base.html)."""
    return look_for(ticket.queue if isinstance(ticket, Ticket) else None)


@register.simple_tag
def customer_html(article: Article, ticket: Ticket, attachment_url: str) -> SafeString:
    """An article's (already sanitised) HTML for the customer: images pasted into it point at
    the agent side's file URLs, which a customer cannot open; point them at this page's."""
    agent_prefix = reverse("tickets:attachment", args=[ticket.number, 0]).rsplit("0/", 1)[0]
    return mark_safe(article.body_html.replace(agent_prefix, attachment_url))  # noqa: S308


@register.simple_tag
def active_customer_links(ticket: Ticket) -> int:
    """How many mailed ticket links still open `ticket` (for the agent's ticket page)."""
    return active_ticket_links(ticket)
