"""Rules run on ticket events, inside the transaction of the change (subscribed in
AutomationConfig.ready), so a new ticket and what its rules did commit together.

"new": a ticket opened by an agent is looked at when it is created (its description is the
text). A ticket opened from outside — mail, portal, contact form — gets its text as the first
customer message a moment later in the same transaction, so its rules wait for that message.
Should none come, they run after the commit instead.

"reply": a customer message on an existing ticket.

The mail pipeline may publish "mail.received" before it threads a message (see README,
"Rules"): the rules then answer what only mail can do (no auto-reply, another auto-reply text,
a new ticket for a reply), and the mail's own subject, sender and To/Cc count for the rules
that run on the ticket event that follows.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from helpa.lib import events
from helpa.mail.parsing import ParsedMail
from helpa.tickets.models import Article, ArticleKind, Channel, Queue, Ticket

from . import demo_sla, demo_templates, engine, sla
from .models import (
    BusinessCalendar,
    CalendarException,
    CalendarQueue,
    Event,
    Rule,
    RuleAction,
    RuleLine,
    SLAPolicy,
)

log = logging.getLogger(__name__)
_local = threading.local()
PENDING_SECONDS = 60.0


def _pending() -> dict[int, float]:
    if not hasattr(_local, "pending"):
        _local.pending = {}
    return _local.pending


@dataclass
class _MailInHand:
    parsed: ParsedMail
    queue_id: int
    ticket_id: int | None
    at: float


def run_rules(
    event: str,
    ticket: Ticket,
    *,
    article: Article | None = None,
    parsed: ParsedMail | None = None,
    update_caller: bool = True,
) -> engine.Outcome | None:
    """Evaluate and apply the event's rules on a ticket. Loads the rules once."""
    rules = engine.load_rules(event, ticket.queue_id)
    if not rules:
        return None
    if parsed is not None:
        facts = engine.facts_for_mail(parsed, ticket.queue, ticket)
    else:
        facts = engine.facts_for_tickets([ticket.pk], needs=engine.fields_used(rules))[ticket.pk]
        if article is not None and article.author_contact_id not in (None, ticket.contact_id):
            # Someone else than the ticket's contact wrote (a colleague of theirs, CC'd).
            author = article.author_contact
            facts.from_addresses = [author.email.lower()] if author.email else []
            facts.from_names = [author.name] if author.name else []
    evaluation = engine.evaluate(rules, facts)
    return engine.apply(evaluation, ticket, event=event, update_caller=update_caller)


# Before the rules: a rule that changes the new ticket (its priority, say) then moves the SLA
# due times along through "ticket.changed", from the ones written here.
@events.subscribe("ticket.created", when="inside")
def sla_on_new_ticket(ticket: Ticket, **_payload: Any) -> None:
    sla.on_created(ticket)


@events.subscribe("ticket.created", when="inside")
def rules_on_new_ticket(ticket: Ticket, actor: Any, **_payload: Any) -> None:
    if engine.rules_running():
        return
    user = getattr(actor, "user", None)
    if user is not None and user.is_agent:
        run_rules(Event.NEW, ticket, update_caller=False)
        return
    pending = _pending()
    now = time.monotonic()
    for pk, at in list(pending.items()):  # a creation that rolled back leaves its mark behind
        if now - at > PENDING_SECONDS:
            del pending[pk]
    pending[ticket.pk] = now
    transaction.on_commit(lambda: _new_without_message(ticket.pk))


def _new_without_message(ticket_id: int) -> None:
    if _pending().pop(ticket_id, None) is None:
        return
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return
    try:
        with transaction.atomic():
            run_rules(Event.NEW, ticket)
    except Exception:  # noqa: BLE001 — the ticket is stored; a failing rule is only logged
        log.exception("rules on the new ticket %s failed", ticket_id)


@events.subscribe("ticket.article_added", when="inside")
def rules_on_customer_message(ticket: Ticket, article: Article, **_payload: Any) -> None:
    if engine.rules_running() or article.kind != ArticleKind.CUSTOMER:
        return
    is_new = _pending().pop(ticket.pk, None) is not None
    event = Event.NEW if is_new else Event.REPLY
    run_rules(event, ticket, article=article, parsed=_take_mail(ticket, is_new))


@receiver([post_save, post_delete], sender=Queue)  # a queue's brand decides its rules
@receiver([post_save, post_delete], sender=Rule)
@receiver([post_save, post_delete], sender=RuleLine)
@receiver([post_save, post_delete], sender=RuleAction)
def forget_cached_rules(**_kwargs: Any) -> None:
    engine.rule_cache.forget()


# --- The mail pipeline's questions -------------------------------------------------------------


def decide(
    parsed: ParsedMail, queue: Queue, ticket: Ticket | None = None
) -> tuple[engine.Evaluation, engine.Outcome]:
    """What the rules say about a mail before it becomes a ticket (no `ticket`) or a reply to
    `ticket`. Changes nothing."""
    event = Event.REPLY if ticket is not None else Event.NEW
    rules = engine.load_rules(event, queue.pk if ticket is None else ticket.queue_id)
    if not rules:
        return engine.Evaluation([]), engine.Outcome()
    facts = engine.facts_for_mail(parsed, queue, ticket)
    evaluation = engine.evaluate(rules, facts)
    return evaluation, engine.outcome_of(evaluation)


@events.subscribe("mail.received", when="inside")
def answer_the_mail_pipeline(
    parsed: ParsedMail,
    queue: Queue,
    ticket: Ticket | None,
    decision: dict[str, Any],
    **_payload: Any,
) -> None:
    """Fill in `decision` (a dict the pipeline passes) and keep the mail for the rules of the
    ticket event that follows."""
    if engine.rules_running():
        return
    evaluation, outcome = decide(parsed, queue, ticket)
    decision.update(outcome.decision(evaluation.names))
    _local.mail = _MailInHand(
        parsed=parsed,
        queue_id=queue.pk,
        ticket_id=None if ticket is None or outcome.force_new_ticket else ticket.pk,
        at=time.monotonic(),
    )


def _take_mail(ticket: Ticket, is_new: bool) -> ParsedMail | None:
    """The mail published just before this customer message, if it is this message's."""
    mail: _MailInHand | None = getattr(_local, "mail", None)
    _local.mail = None
    if mail is None or time.monotonic() - mail.at > PENDING_SECONDS:
        return None
    if (
        is_new
        and mail.ticket_id is None
        and mail.queue_id == ticket.queue_id
        and ticket.channel == Channel.EMAIL
    ):
        return mail.parsed
    if not is_new and mail.ticket_id == ticket.pk:
        return mail.parsed
    return None


# --- SLA: due times on ticket events, in the change's transaction (see sla.py) ------------------


@events.subscribe("ticket.changed", when="inside")
def sla_on_change(ticket: Ticket, fields: list[str], **_payload: Any) -> None:
    sla.on_changed(ticket, fields)


@events.subscribe("ticket.article_added", when="inside")
def sla_on_message(ticket: Ticket, article: Article, **_payload: Any) -> None:
    sla.on_article_added(ticket, article)


@receiver([post_save, post_delete], sender=SLAPolicy)
@receiver([post_save, post_delete], sender=BusinessCalendar)
@receiver([post_save, post_delete], sender=CalendarException)
@receiver([post_save, post_delete], sender=CalendarQueue)
@receiver(m2m_changed, sender=SLAPolicy.queues.through)
@receiver(m2m_changed, sender=SLAPolicy.companies.through)
@receiver(m2m_changed, sender=SLAPolicy.brands.through)
def forget_cached_sla(**_kwargs: Any) -> None:
    sla.forget()


events.subscribe("demo_data.loaded", when="inside")(demo_sla.load)
events.subscribe("demo_data.loaded", when="inside")(demo_templates.load)
