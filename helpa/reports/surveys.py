"""Satisfaction surveys at work: inviting the contacts of closed tickets, recording their
answers, and the person's answers in GDPR exports and anonymisation.

Inviting (every five minutes, tasks_surveys.py) asks the database which closed tickets are due
for which profile (see SurveyProfile), and claims each ticket by creating its one invitation
row (unique per ticket) in the same transaction as the mail in the outbox: two workers invite
once, and a rolled-back invitation sends nothing. A ticket is invited only when

- it is closed (not merely resolved: a resolved ticket may still come back) at least the
  profile's delay ago, and after the profile was created (no survey for last year's tickets);
- it is not a merged duplicate, and an agent replied publicly on it (no survey for spam that
  was closed unanswered);
- its contact has an address that is not on the block list (address or domain), that was not
  invited within the profile's "every N days", and that the loop protection still mails.

A ticket that fails the address tests gets a row too, marked `skipped`: it is decided once.

Recording: the page's GET records nothing (a mail scanner follows every link); only the
submitted form does, once — the unique answer per invitation decides a race.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from helpa.automation.models import TemplateUse
from helpa.lib.events import subscribe
from helpa.lib.tokens import new_token, token_hash
from helpa.mail import outbound, texts
from helpa.mail.ingest import may_send_automatic_mail
from helpa.mail.models import OutgoingMail
from helpa.tickets.models import Article, ArticleKind, Status, Ticket

from .models.surveys import SurveyAnswer, SurveyBlock, SurveyInvitation, SurveyProfile

log = logging.getLogger(__name__)
BATCH = 500
LINK_DAYS = 30  # an invitation's link works this long


# --- Who is due -------------------------------------------------------------------------------


def active_profiles() -> list[SurveyProfile]:
    """Active profiles, most specific first: tied to templates, then of a brand, then general
    (see SurveyProfile). The first profile to claim a ticket wins."""
    profiles = list(SurveyProfile.objects.filter(is_active=True).prefetch_related("templates"))
    for profile in profiles:
        profile.template_ids = [t.pk for t in profile.templates.all()]  # type: ignore[attr-defined]
    return sorted(
        profiles,
        key=lambda p: (not p.template_ids, p.brand_id is None, p.pk),  # type: ignore[attr-defined]
    )


def _agent_replied() -> Exists:
    return Exists(
        Article.objects.filter(
            ticket=OuterRef("pk"),
            kind=ArticleKind.REPLY,
            author__isnull=False,
            deleted_at__isnull=True,
        )
    )


def due_tickets(
    profile: SurveyProfile, profiles: list[SurveyProfile], now: datetime
) -> QuerySet[Ticket]:
    """The tickets `profile` should invite for now (its own delay and creation time), leaving
    out those a more specific profile covers."""
    tickets = (
        Ticket.objects.filter(
            status=Status.CLOSED,
            closed_at__lte=now - timedelta(hours=profile.delay_hours),
            closed_at__gte=profile.created_at,
            merged_into__isnull=True,
            is_draft=False,
            contact__isnull=False,
        )
        .exclude(contact__email="")
        .filter(_agent_replied())
        .exclude(Exists(SurveyInvitation.objects.filter(ticket=OuterRef("pk"))))
    )
    template_ids: list[int] = profile.template_ids  # type: ignore[attr-defined]
    if template_ids:
        tickets = tickets.filter(
            Exists(TemplateUse.objects.filter(ticket=OuterRef("pk"), template_id__in=template_ids))
        )
        if profile.brand_id:
            tickets = tickets.filter(queue__brand_id=profile.brand_id)
        return tickets.order_by("closed_at", "pk")
    tied = sorted({t for p in profiles for t in p.template_ids})  # type: ignore[attr-defined]
    if tied:
        tickets = tickets.exclude(
            Exists(TemplateUse.objects.filter(ticket=OuterRef("pk"), template_id__in=tied))
        )
    if profile.brand_id:
        tickets = tickets.filter(queue__brand_id=profile.brand_id)
    else:
        branded = sorted(
            {p.brand_id for p in profiles if p.brand_id and not p.template_ids}  # type: ignore[attr-defined]
        )
        if branded:
            tickets = tickets.exclude(queue__brand_id__in=branded)
    return tickets.order_by("closed_at", "pk")


@dataclass
class Outcome:
    invited: int = 0
    skipped: int = 0


def run_surveys(now: datetime | None = None) -> Outcome:
    """One pass: invite every due ticket. Safe to run in several workers at once."""
    now = now or timezone.now()
    outcome = Outcome()
    profiles = active_profiles()
    for profile in profiles:
        for ticket_id in due_tickets(profile, profiles, now).values_list("pk", flat=True)[:BATCH]:
            result = invite(profile, ticket_id, now)
            if result is not None:
                if result.skipped:
                    outcome.skipped += 1
                else:
                    outcome.invited += 1
    return outcome


# --- Inviting ---------------------------------------------------------------------------------


def normalise_block(value: str) -> str:
    """A block-list entry as stored: an address in lower case, or a bare domain
    ("@example.com" and "example.com" both block the domain)."""
    value = (value or "").strip().lower()
    return value[1:] if value.startswith("@") else value


def is_blocked(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1]
    return SurveyBlock.objects.filter(value__in=[address, domain]).exists()


def asked_recently(address: str, days: int, now: datetime) -> bool:
    return SurveyInvitation.objects.filter(
        address=address, skipped="", created_at__gt=now - timedelta(days=days)
    ).exists()


def _skip_reason(profile: SurveyProfile, ticket: Ticket, address: str, now: datetime) -> str:
    if is_blocked(address):
        return SurveyInvitation.Skipped.BLOCKED
    if profile.min_days_between and asked_recently(address, profile.min_days_between, now):
        return SurveyInvitation.Skipped.RECENT
    if not may_send_automatic_mail(address, ticket):
        return SurveyInvitation.Skipped.MAIL_LIMIT
    return ""


def invite(profile: SurveyProfile, ticket_id: int, now: datetime) -> SurveyInvitation | None:
    """Claim the ticket (its unique invitation row) and queue the mail, in one transaction.
    None when the ticket is no longer due or another worker claimed it first."""
    try:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("queue", "contact")
                .filter(pk=ticket_id, status=Status.CLOSED)
                .first()
            )
            if ticket is None or ticket.contact is None:
                return None
            address = outbound.clean_address(ticket.contact.email)
            if not address:
                return None
            invitation = SurveyInvitation(
                ticket=ticket,
                profile=profile,
                contact=ticket.contact,
                queue=ticket.queue,
                address=address,
            )
            invitation.created_at = now
            invitation.skipped = _skip_reason(profile, ticket, address, now)
            if invitation.skipped:
                invitation.save()
                return invitation
            raw, invitation.token_hash = new_token()
            invitation.expires_at = now + timedelta(days=LINK_DAYS)
            invitation.save()
            invitation.mail = mail_invitation(profile, ticket, address, raw)
            invitation.save(update_fields=["mail"])
            return invitation
    except IntegrityError:
        return None  # another worker invited for this ticket a moment ago


def survey_url(raw_token: str) -> str:
    return settings.BASE_URL + reverse("survey_public:survey", args=[raw_token])


def invitation_content(
    profile: SurveyProfile, ticket: Ticket, raw_token: str
) -> tuple[str, str, str]:
    """The invitation's subject, text and HTML, in the contact's language."""
    contact = ticket.contact
    link = survey_url(raw_token)
    values = {
        "name": contact.name if contact else "",
        "number": str(ticket.display_number),
        "title": ticket.title,
    }
    language = (contact.language if contact else "") or settings.LANGUAGE_CODE
    with override(language):
        context: dict[str, Any] = {
            "ticket": ticket,
            "profile": profile,
            "intro": texts.fill(profile.invitation_text.strip(), values),
            "link": link,
            # The faces in the mail open the page with the score chosen: still nothing is
            # recorded until the customer submits it (a scanner follows every link).
            "faces": [(score, f"{link}?csat={score}") for score in range(1, 6)]
            if profile.ask_csat
            else [],
            "footer": outbound.brand_footer(ticket.queue),
        }
        subject = render_to_string("reports/surveys/mail/invitation_subject.txt", context)
        text = render_to_string("reports/surveys/mail/invitation.txt", context)
        html = render_to_string("reports/surveys/mail/invitation.html", context)
    subject = " ".join(subject.split())
    return outbound.subject_with_tag(ticket, subject), text.strip() + "\n", html


def mail_invitation(
    profile: SurveyProfile, ticket: Ticket, address: str, raw_token: str
) -> OutgoingMail | None:
    """Write the invitation to the outbox (this transaction), from the queue's (brand's)
    sender, threaded with our other mail on the ticket. A notice (auto-generated, RFC 3834):
    the customer's auto-responder must not answer it."""
    subject, text, html = invitation_content(profile, ticket, raw_token)
    thread = outbound.thread_of(ticket)
    return outbound.queue_mail(
        kind=OutgoingMail.Kind.NOTICE,
        queue=ticket.queue,
        to=[(ticket.contact.name if ticket.contact else "", address)],
        subject=subject,
        text=text,
        html=html,
        ticket=ticket,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
    )


# --- Answering --------------------------------------------------------------------------------


def invitation_for(raw_token: str) -> SurveyInvitation | None:
    """The invitation a link's token opens (expired or not), with what its page shows."""
    if not raw_token or len(raw_token) > 100:
        return None
    return (
        SurveyInvitation.objects.filter(token_hash=token_hash(raw_token))
        .select_related("profile", "ticket", "ticket__queue", "ticket__queue__brand")
        .first()
    )


def record_answer(
    invitation: SurveyInvitation,
    *,
    csat: int | None,
    nps: int | None,
    comment: str,
    now: datetime | None = None,
) -> SurveyAnswer | None:
    """Store the answer once, with the ticket's owner, team, queue and brand now. None when
    the invitation was answered already (this or an earlier submission): nothing changes."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            claimed = SurveyInvitation.objects.filter(
                pk=invitation.pk, answered_at__isnull=True
            ).update(answered_at=now)
            if not claimed:
                return None
            ticket = Ticket.objects.select_related("queue").get(pk=invitation.ticket_id)
            return SurveyAnswer.objects.create(
                invitation=invitation,
                ticket=ticket,
                csat=csat,
                nps=nps,
                comment=comment,
                answered_at=now,
                agent_id=ticket.owner_id,
                team_id=ticket.team_id,
                queue_id=ticket.queue_id,
                brand_id=ticket.queue.brand_id,
            )
    except IntegrityError:
        return None


# --- Privacy (helpa/privacy/gdpr.py) ----------------------------------------------------------


def _answers_of(subject: Any) -> QuerySet[SurveyAnswer]:
    addresses = sorted(subject.addresses)
    return SurveyAnswer.objects.filter(
        Q(invitation__contact_id__in=subject.contact_ids) | Q(invitation__address__in=addresses)
    )


@subscribe("privacy.export", when="inside")
def export_answers(subject: Any, data: dict[str, Any]) -> None:
    """The person's survey answers, comments included (personal data)."""
    data["satisfaction_surveys"] = [
        {
            "ticket": number,
            "answered": answered_at.isoformat(),
            "csat": csat,
            "nps": nps,
            "comment": comment,
        }
        for number, answered_at, csat, nps, comment in _answers_of(subject)
        .order_by("answered_at", "pk")
        .values_list("ticket__number", "answered_at", "csat", "nps", "comment")
    ]


@subscribe("privacy.anonymise", when="inside")
def anonymise_answers(subject: Any, counts: dict[str, int]) -> None:
    """Comments removed, the address forgotten; the scores stay for the statistics (without a
    comment or address they say nothing about the person). Block-list entries of the person's
    addresses go too: the contact's address is gone, so nothing could be sent anyway."""
    answers = _answers_of(subject)
    counts["survey_comments_removed"] = answers.exclude(comment="").update(comment="")
    addresses = sorted(subject.addresses)
    SurveyInvitation.objects.filter(
        Q(contact_id__in=subject.contact_ids) | Q(address__in=addresses)
    ).update(address="")
    SurveyBlock.objects.filter(value__in=addresses).delete()
