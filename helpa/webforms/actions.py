"""A contact-form submission becomes a ticket through the portal's (and so the ticket core's)
actions; the refusals are recorded, never silently dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.crm.actions import add_phone
from helpa.crm.models import Company, Contact
from helpa.lib.html import text_to_html
from helpa.portal import actions as portal_actions
from helpa.tickets.models import Channel, Ticket

from .models import BlockedSubmission, ContactForm, Reason, Submission


@dataclass(frozen=True)
class Outcome:
    """A ticket (new, or the one an earlier post of the same token made), or a refusal."""

    ticket: Ticket | None = None
    duplicate: bool = False
    blocked: str = ""  # a Reason


def record_blocked(form: ContactForm, reason: str, ip: str | None, address: str = "") -> None:
    BlockedSubmission.objects.create(
        form=form, reason=reason, ip=ip or None, address=(address or "").strip()[:254].lower()
    )


def find_or_create_contact(
    *, email: str, name: str = "", phone: str = "", customer_number: str = ""
) -> Contact:
    """The oldest contact with this address, or a new one (of the company whose customer number
    was given, if one matches). An existing contact is left as it is: a public form must not
    let anyone rename or re-home somebody else's contact."""
    existing = Contact.objects.filter(email__iexact=email).order_by("pk").first()
    if existing:
        return existing
    company = None
    if customer_number:
        company = (
            Company.objects.filter(customer_number__iexact=customer_number).order_by("pk").first()
        )
    contact = Contact.objects.create(name=name or email.split("@")[0], email=email, company=company)
    add_phone(contact, phone[:40])
    return contact


def _title(form: ContactForm, values: dict[str, Any]) -> str:
    if values.get("subject"):
        return str(values["subject"])[:200]
    first_line = next((line.strip() for line in (values.get("message") or "").splitlines()), "")
    title = f"{form.name}: {first_line}" if first_line else form.name
    return title[:200] if len(title) <= 200 else title[:199] + "…"


def _body_html(values: dict[str, Any]) -> str:
    """The visitor's message, then what else they told us (phone, company…) as plain lines."""
    details = []
    labels = {
        "phone": _("Phone"),
        "company": _("Company"),
        "customer_number": _("Customer number"),
    }
    for key, label in labels.items():
        if values.get(key):
            details.append(f"{label}: {values[key]}")
    parts = [values.get("message") or "", "\n".join(details)]
    text = "\n\n".join(p for p in parts if p.strip())
    return text_to_html(text or str(values.get("subject") or ""))


@transaction.atomic
def submit(
    form: ContactForm,
    values: dict[str, Any],
    *,
    nonce: str,
    ip: str | None,
    attachments: Sequence[UploadedFile] = (),
) -> Outcome:
    """Create the ticket for one accepted submission — once per token, within the rate limits.

    The form's row is locked for the transaction, so concurrent posts to one form are counted
    one after the other (on SQLite the immediate transaction does the same): a flood from many
    worker processes cannot slip past the limits, and a token posted twice at once finds the
    first post's submission."""
    ContactForm.objects.select_for_update().filter(pk=form.pk).first()
    earlier = Submission.objects.filter(nonce=nonce).select_related("ticket").first()
    if earlier:
        return Outcome(ticket=earlier.ticket, duplicate=True)
    address = str(values["email"]).strip().lower()
    since = timezone.now() - ContactForm.RATE_WINDOW
    recent = Submission.objects.filter(form=form, created_at__gte=since)
    reason = ""
    if ip and recent.filter(ip=ip).count() >= form.ip_limit:
        reason = Reason.RATE_IP
    elif recent.filter(address=address).count() >= form.address_limit:
        reason = Reason.RATE_ADDRESS
    if reason:
        record_blocked(form, reason, ip, address)
        return Outcome(blocked=reason)
    contact = find_or_create_contact(
        email=str(values["email"]).strip(),
        name=str(values.get("name") or ""),
        phone=str(values.get("phone") or ""),
        customer_number=str(values.get("customer_number") or ""),
    )
    fields = {k: values[k] for k in ("type", "category") if values.get(k)}
    ticket = portal_actions.create_ticket(
        contact,
        queue=form.queue,
        title=_title(form, values),
        body_html=_body_html(values),
        channel=Channel.FORM,
        attachments=attachments,
        **fields,
    )
    Submission.objects.create(form=form, nonce=nonce, ticket=ticket, ip=ip, address=address)
    return Outcome(ticket=ticket)
