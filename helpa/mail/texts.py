"""The words of automatic mails, in the contact's language where we know it."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from helpa.portal.links import ticket_link_url
from helpa.tickets.models import Ticket

from .models import QueueMail


def ticket_link(ticket: Ticket) -> str:
    """The agent's page of a ticket (for mail to colleagues)."""
    return settings.BASE_URL + reverse("tickets:detail", args=[ticket.number])


def contact_link(ticket: Ticket) -> str:
    """For mail to the ticket's contact: a fresh ticket link that opens without login (every
    mail renews it), or the portal page when the ticket has no contact."""
    return ticket_link_url(ticket, ticket.contact)


def auto_reply(ticket: Ticket, queue_mail: QueueMail, rule_text: str = "") -> tuple[str, str]:
    """The auto-reply's subject and text: a rule's text, the queue's own, or the standard one
    (placeholders {number}, {title}, {link} in each)."""
    values = {"number": ticket.display_number, "title": ticket.title, "link": contact_link(ticket)}
    with override(settings.LANGUAGE_CODE):
        subject = queue_mail.auto_reply_subject or _("We have received your message")
        body = (
            rule_text
            or queue_mail.auto_reply_body
            or _(
                "Hello,\n\n"
                "Thank you for your message. We have registered it as ticket {number} "
                "and will get back to you as soon as we can.\n\n"
                "Subject: {title}\n\n"
                "Follow your request and add information here: {link}\n\n"
                "Please keep the ticket number in the subject when you write to us about it."
            )
        )
    return subject, _fill(body, values)


def rejection(subject: str, limit_mb: int) -> tuple[str, str]:
    with override(settings.LANGUAGE_CODE):
        return (
            _("Your message was not delivered: %(subject)s") % {"subject": subject[:150]},
            _(
                "Hello,\n\n"
                'Your message "%(subject)s" is larger than the %(limit)s MB we accept, so it '
                "has not been registered. Please send it again with smaller attachments, or "
                "send the files as links.\n"
            )
            % {"subject": subject[:150], "limit": limit_mb},
        )


def _fill(template: str, values: dict[str, str]) -> str:
    """Fill {placeholders} an admin typed; an unknown or broken placeholder stays as typed."""
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def fill(template: str, values: dict[str, str]) -> str:
    """Placeholders in a text an admin or agent typed (signatures, greetings)."""
    return _fill(template, values)


def follow_link(ticket: Ticket) -> tuple[str, str]:
    """The words before the ticket link at the foot of a reply, and the link."""
    with override(settings.LANGUAGE_CODE):
        words = _("Follow your request %(number)s and add information here:") % {
            "number": ticket.display_number
        }
    return words, contact_link(ticket)


def reply_link_notice(ticket: Ticket) -> str:
    """The "link only" mail to a contact: that there is an answer, and where to read it."""
    values = {"number": ticket.display_number, "title": ticket.title, "link": contact_link(ticket)}
    with override(settings.LANGUAGE_CODE):
        return (
            _(
                "Hello,\n\n"
                "There is a new answer to your request %(number)s (%(title)s).\n\n"
                "Read it here: %(link)s\n"
            )
            % values
        )


def failing_note(failing: list[tuple[str, str, datetime]]) -> str:
    """Why a mail waits for an agent: its addresses bounced before (shown on the reply)."""
    with override(settings.LANGUAGE_CODE):
        lines = [
            _("%(address)s bounced on %(date)s: %(reason)s")
            % {
                "address": address,
                "date": timezone.localtime(bounced_at).strftime("%Y-%m-%d"),
                "reason": reason or _("no reason given"),
            }
            for address, reason, bounced_at in failing
        ]
        return " ".join(
            [
                _("Earlier mail to these addresses bounced; send anyway?"),
                *lines,
            ]
        )


def assigned_notice(ticket: Ticket, actor: str, language: str) -> tuple[str, str]:
    """The mail an agent gets when a colleague (or a rule) assigns a ticket to them."""
    values = {
        "actor": actor,
        "number": ticket.display_number,
        "title": ticket.title,
        "link": ticket_link(ticket),
    }
    with override(language or settings.LANGUAGE_CODE):
        subject = _("Assigned to you: %(title)s") % values
        body = _("%(actor)s assigned ticket %(number)s to you.\n\n%(title)s\n%(link)s\n") % values
    return subject, body


def mention_notice(ticket: Ticket, actor: str, excerpt: str, language: str) -> tuple[str, str]:
    """The mail an agent gets when a colleague mentions them in a ticket's discussion."""
    values = {
        "actor": actor,
        "number": ticket.display_number,
        "title": ticket.title,
        "link": ticket_link(ticket),
        "excerpt": excerpt,
    }
    with override(language or settings.LANGUAGE_CODE):
        subject = _("%(actor)s mentioned you: %(title)s") % values
        body = (
            _(
                "%(actor)s mentioned you on ticket %(number)s (%(title)s):\n\n"
                "%(excerpt)s\n\n"
                "%(link)s\n"
            )
            % values
        )
    return subject, body


def sign_in_link(url: str, purpose: str, language: str) -> tuple[str, str]:
    """The portal's one-time link: to sign in, or to verify a newly registered address."""
    with override(language or settings.LANGUAGE_CODE):
        if purpose == "verify":
            subject = _("Verify your e-mail address")
            body = _(
                "Hello,\n\n"
                "Open this link to verify your address and log in to your account:\n\n"
                "%(link)s\n\n"
                "The link works once, for three days. If you did not register, ignore this mail."
            )
        else:
            subject = _("Your login link")
            body = _(
                "Hello,\n\n"
                "Open this link to log in:\n\n"
                "%(link)s\n\n"
                "The link works once, for 30 minutes. If you did not ask for it, ignore this mail."
            )
    return subject, body % {"link": url}


def alarm(ticket: Ticket, rule: str, text: str) -> tuple[str, str]:
    """A rule's alarm (to agents and team leads: the agent page's link)."""
    values = {"rule": rule, "title": ticket.title, "number": ticket.display_number}
    with override(settings.LANGUAGE_CODE):
        subject = _("Alarm: %(title)s") % values
        intro = _("The rule “%(rule)s” raised an alarm on ticket %(number)s (%(title)s).") % values
    parts = [intro, text.strip(), ticket_link(ticket)]
    return subject, "\n\n".join(p for p in parts if p) + "\n"


def sla_warning(
    ticket: Ticket, target_text: str, due_at: datetime, language: str
) -> tuple[str, str]:
    """An SLA target about to be missed (to the owner and the team leads). `target_text` is an
    untranslated label ("First response"), translated here."""
    with override(language or settings.LANGUAGE_CODE):
        values = {
            "target": _(target_text),
            "title": ticket.title,
            "number": ticket.display_number,
            "due": timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M"),
        }
        subject = _("SLA warning: %(title)s") % values
        intro = _("%(target)s on ticket %(number)s (%(title)s) is due at %(due)s.") % values
    return subject, f"{intro}\n\n{ticket_link(ticket)}\n"
