"""Templates and canned responses at work.

A ticket is opened from a template (with its sub-tickets), a template is applied to a ticket
(by an agent, or by a rule), a template is made from a ticket, and a canned response is filled
in for the ticket at hand. Every change to a ticket goes through the ticket actions, so it is in
the history with its author.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from helpa.accounts.models import User
from helpa.lib.html import text_to_html
from helpa.tickets import actions
from helpa.tickets.models import ArticleKind, HistoryEntry, Queue, Status, Ticket

from .models import CannedResponse, SubTicketTemplate, TemplateUse, TicketTemplate

# A template's sub-tickets may have sub-tickets of their own, this deep and no deeper.
MAX_SUB_TICKET_DEPTH = 3


class TemplateError(Exception):
    """A template cannot be used this way; the message says why, for the user."""


# --- Tickets from templates ---------------------------------------------------------------------


def template_fields(template: TicketTemplate) -> dict[str, Any]:
    """The ticket fields a template sets (those it leaves empty are not in the dict)."""
    fields: dict[str, Any] = {"priority": template.priority, "status": template.status}
    for name, value in (
        ("type", template.ticket_type),
        ("category", template.category),
        ("team", template.team),
        ("owner", template.owner),
    ):
        if value is not None:
            fields[name] = value
    return fields


@transaction.atomic
def open_from_template(
    actor: User | actions.Actor | None,
    template: TicketTemplate,
    *,
    queue: Queue | None = None,
    title: str = "",
    description: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    parent: Ticket | None = None,
    **fields: Any,
) -> Ticket:
    """Open a ticket from a template and its sub-tickets. `queue`, `title`, `description` and
    `fields` are what the agent chose on the form; what they leave out comes from the template."""
    queue = queue or template.queue
    if queue is None:
        raise TemplateError(_("Choose a queue: the template names none."))
    if brand_mismatch(template, queue):
        raise TemplateError(_("The template belongs to another brand than this ticket's queue."))
    ticket = actions.open_ticket(
        actor,
        queue=queue,
        title=title or template.title,
        description=template.description if description is None else description,
        attachments=attachments,
        parent=parent,
        **{**template_fields(template), **fields},
    )
    _record_use(actor, ticket, template)
    _open_sub_tickets(actor, ticket, template, path=(template.pk,))
    return ticket


def _record_use(
    actor: User | actions.Actor | None, ticket: Ticket, template: TicketTemplate
) -> None:
    who = actions.as_actor(actor)
    TemplateUse.objects.create(ticket=ticket, template=template)
    HistoryEntry.objects.create(
        ticket=ticket,
        actor=who.user,
        actor_name=who.name,
        field="template",
        new_value=template.name,
        version=ticket.version,
    )


def _sub_templates(template: TicketTemplate) -> list[TicketTemplate]:
    links = SubTicketTemplate.objects.filter(template=template).select_related(
        "sub_template", "sub_template__queue"
    )
    return [link.sub_template for link in links]


def _open_sub_tickets(
    actor: User | actions.Actor | None,
    parent: Ticket,
    template: TicketTemplate,
    *,
    path: tuple[int, ...],
) -> None:
    """Each sub-ticket template becomes a sub-ticket of `parent`, for the same contact. `path`:
    the templates above this one (a cycle saved before validation existed stops here)."""
    if len(path) > MAX_SUB_TICKET_DEPTH:
        return
    for sub in _sub_templates(template):
        if sub.pk in path:
            continue
        child = actions.open_ticket(
            actor,
            queue=sub.queue or parent.queue,
            title=sub.title,
            description=sub.description,
            parent=parent,
            contact=parent.contact,
            company=parent.company,
            **template_fields(sub),
        )
        _record_use(actor, child, sub)
        _open_sub_tickets(actor, child, sub, path=(*path, sub.pk))


@transaction.atomic
def apply_template(
    actor: User | actions.Actor | None, ticket: Ticket, template: TicketTemplate
) -> Ticket:
    """Apply a template to an existing ticket: its type, category, priority and team, its queue
    and owner when it names them (an owner only for a ticket nobody owns), its status unless it
    is New (a template must not send an open ticket back), its steps and solution beside the
    ticket, and its sub-tickets. Applying the same template again does nothing: the sub-tickets
    are not made twice. Returns the fresh ticket."""
    if brand_mismatch(template, template.queue or ticket.queue):
        raise TemplateError(_("The template belongs to another brand than this ticket's queue."))
    if TemplateUse.objects.filter(ticket=ticket, template=template).exists():
        return ticket
    changes: dict[str, Any] = {"priority": template.priority}
    for name, value in (
        ("type", template.ticket_type),
        ("category", template.category),
        ("team", template.team),
        ("queue", template.queue),
    ):
        if value is not None:
            changes[name] = value
    if template.owner is not None and ticket.owner_id is None:
        changes["owner"] = template.owner
    if template.status != Status.NEW:
        changes["status"] = template.status
    ticket = actions.update_ticket(actor, ticket, changes)
    _record_use(actor, ticket, template)
    _open_sub_tickets(actor, ticket, template, path=(template.pk,))
    return ticket


def _unique_template_name(name: str) -> str:
    name = name.strip()[:180] or _("Template")
    taken = set(TicketTemplate.objects.filter(name__startswith=name).values_list("name", flat=True))
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name} ({n})"
        n += 1
    return candidate


@transaction.atomic
def template_from_ticket(ticket: Ticket, name: str = "") -> TicketTemplate:
    """A template with the ticket's title, description and fields; its last public reply as the
    solution; its sub-tickets as sub-ticket templates. Owner and status stay for the agent."""
    last_reply = ticket.articles.filter(kind=ArticleKind.REPLY, deleted_at=None).last()
    template = TicketTemplate.objects.create(
        name=_unique_template_name(name or ticket.title),
        title=ticket.title,
        ticket_type=ticket.type,
        category=ticket.category,
        description=ticket.description,
        solution=last_reply.body_html if last_reply else "",
        priority=ticket.priority,
        queue=ticket.queue,
        team=ticket.team,
    )
    for position, child in enumerate(ticket.children.order_by("number")):
        sub = TicketTemplate.objects.create(
            name=_unique_template_name(f"{template.name} – {child.title}"),
            title=child.title,
            ticket_type=child.type,
            category=child.category,
            description=child.description,
            priority=child.priority,
            queue=child.queue if child.queue_id != ticket.queue_id else None,
            team=child.team,
        )
        SubTicketTemplate.objects.create(template=template, sub_template=sub, position=position)
    return template


def sub_template_cycle(template: TicketTemplate, sub_ids: Sequence[int]) -> TicketTemplate | None:
    """The first of `sub_ids` whose own sub-tickets lead back to `template` (a loop), or None."""
    if template.pk is None:
        return None
    children: dict[int, list[int]] = {}
    for parent_id, child_id in SubTicketTemplate.objects.values_list("template", "sub_template"):
        children.setdefault(parent_id, []).append(child_id)
    children[template.pk] = list(sub_ids)
    for start in sub_ids:
        seen: set[int] = set()
        stack = [start]
        while stack:
            current = stack.pop()
            if current == template.pk:
                return TicketTemplate.objects.get(pk=start)
            if current in seen:
                continue
            seen.add(current)
            stack.extend(children.get(current, []))
    return None


# --- Canned responses --------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
PLACEHOLDERS = (
    "contact.name",
    "contact.first_name",
    "company.name",
    "ticket.number",
    "ticket.title",
    "ticket.link",
    "agent.name",
    "agent.first_name",
)


def unknown_placeholders(text: str) -> list[str]:
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))


def _first_name(name: str) -> str:
    return name.split()[0] if name.strip() else ""


def placeholder_values(ticket: Ticket, agent: User) -> dict[str, str]:
    contact_name = ticket.contact.name if ticket.contact_id else ""
    agent_name = agent.full_name or agent.email
    return {
        "contact.name": contact_name,
        "contact.first_name": _first_name(contact_name),
        "company.name": ticket.company.name if ticket.company_id else "",
        "ticket.number": ticket.display_number,
        "ticket.title": ticket.title,
        # The portal page: it asks the customer to sign in. A reply's mail carries its own
        # link that opens without login.
        "ticket.link": settings.BASE_URL + reverse("portal:ticket", args=[ticket.number]),
        "agent.name": agent_name,
        "agent.first_name": _first_name(agent.full_name) or agent_name,
    }


def fill(text: str, values: dict[str, str]) -> str:
    """The text with each known placeholder replaced (an unknown one is left as written)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def filled_response(response: CannedResponse, ticket: Ticket, agent: User) -> dict[str, Any]:
    """A canned response ready for the reply editor: as plain text and as safe HTML."""
    text = fill(response.body, placeholder_values(ticket, agent))
    return {
        "id": response.pk,
        "name": response.name,
        "queue": response.queue.name if response.queue_id else "",
        "text": text,
        "html": text_to_html(text),
    }


def _brand_of_ticket_q(ticket: Ticket) -> Q:
    """Templates and canned responses of every brand, or of the ticket's queue's brand."""
    return Q(brand__isnull=True) | Q(
        brand_id__in=Queue.objects.filter(pk=ticket.queue_id).values("brand_id")
    )


def templates_for(ticket: Ticket) -> list[TicketTemplate]:
    """The active templates an agent may apply on this ticket: those of every brand and those
    of its queue's brand."""
    return list(
        TicketTemplate.objects.filter(is_active=True)
        .filter(_brand_of_ticket_q(ticket))
        .only("pk", "name", "queue_id", "brand_id")
    )


def brand_mismatch(template: TicketTemplate, queue: Queue | None) -> bool:
    """A template of one brand used on a ticket of a queue of another brand (or no brand)."""
    return template.brand_id is not None and (queue is None or queue.brand_id != template.brand_id)


def responses_for(ticket: Ticket) -> list[CannedResponse]:
    """The active canned responses offered on this ticket: its queue's and the global ones, of
    every brand or of its queue's brand."""
    return list(
        CannedResponse.objects.filter(is_active=True)
        .filter(Q(queue__isnull=True) | Q(queue_id=ticket.queue_id))
        .filter(_brand_of_ticket_q(ticket))
        .select_related("queue")
        .order_by("name", "id")
    )
