"""GDPR for one person (a "data subject", registrerad): find what Helpa holds about them by
one of their e-mail addresses or phone numbers, export it, or anonymise it.

Why here, in an app of its own at the top: the person's data lies in crm (contact, addresses,
phones), tickets (threads, history, files, the search index), mail (received and sent
messages, raw .eml files, participants, bounces), portal (login, links), kb (suggestion visits)
and webforms (submissions). Only an app above all of them may import them all (DESIGN.md), and
asking each app through events would spread one legal duty over six places, each of which
could forget a column. Apps that come later and sit above this one's dependencies (surveys,
issue 7) join through two events of helpa/lib/events.py, without importing this module:

- "privacy.export" (inside): handler(subject=Subject, data=dict) adds a section to `data`.
- "privacy.anonymise" (inside): handler(subject=Subject, counts=dict) removes or replaces
  its rows, adding its counts.

Anonymisation does not rely on every app remembering its columns either: after the targeted
steps it sweeps every text column of every model for the person's strings (`_sweep`), so a
column added later is covered. Raw mails (.eml) are deleted, not rewritten, when they concern
the person: encoded headers (RFC 2047), base64 and quoted-printable bodies, attached files and
signatures cannot all be rewritten reliably, and "nothing findable afterwards" is the rule. The
row stays (dates, state, threading) with an empty `raw`; the GDPR log counts the deleted files.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

import phonenumbers
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from helpa.accounts.models import Role, User
from helpa.crm.identifiers import normalise_phone
from helpa.crm.models import Contact, ContactEmail, ContactPhone
from helpa.lib.events import publish
from helpa.lib.files import delete_files_on_commit
from helpa.mail.models import FailingAddress, InboundMail, OutgoingMail, Participant
from helpa.portal.models import LoginLink, TicketLink
from helpa.tickets import search
from helpa.tickets.actions import REMOVED
from helpa.tickets.models import Article, Attachment, HistoryEntry, Ticket
from helpa.webforms.models import BlockedSubmission, Submission

from .models import GdprRequest, identifier_hash

ANOTHER_PERSON = "[another person]"
MIN_NAME_LENGTH = 3  # shorter "names" (initials) would replace letters all over the desk


class NotFound(Exception):
    """No contact, login, participant or mail has this address or number."""


@dataclass
class Subject:
    identifier: str
    contacts: list[Contact] = field(default_factory=list)
    users: list[User] = field(default_factory=list)  # portal logins (customers only)
    names: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)  # lower-case
    phones: set[str] = field(default_factory=set)  # E.164
    ticket_ids: set[int] = field(default_factory=set)

    @property
    def contact_ids(self) -> list[int]:
        return [c.pk for c in self.contacts]

    @property
    def user_ids(self) -> list[int]:
        return [u.pk for u in self.users]

    def terms(self) -> list[str]:
        """Plain strings to look for in the database (any case)."""
        found = set(self.addresses)
        found |= {n for n in self.names if len(n) >= MIN_NAME_LENGTH}
        for phone in self.phones:
            found |= phone_forms(phone)
        return sorted(found, key=len, reverse=True)

    def pattern(self) -> re.Pattern[str] | None:
        return personal_pattern(self.names, self.addresses, self.phones)


# --- Patterns ---------------------------------------------------------------------------------


def phone_forms(e164: str) -> set[str]:
    """The ways a number is usually written: +46701234567, +46 70-123 45 67, 070-123 45 67,
    0701234567."""
    forms = {e164}
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    for fmt in (
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    ):
        written = phonenumbers.format_number(number, fmt)
        forms |= {written, re.sub(r"[^\d+]", "", written)}
    return forms


def _phone_regex(e164: str) -> str:
    """The digits with any separators between them, as +CC…, 00CC… or the national 0…, and not
    inside a longer run of digits."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return re.escape(e164)
    sep = r"[\s\-./()]*"
    national = sep.join(str(number.national_number))
    country = sep.join(str(number.country_code))
    return rf"(?<![\d+])(?:(?:\+|00){sep}{country}{sep}(?:\(?0\)?{sep})?|0{sep}){national}(?!\d)"


def personal_pattern(
    names: Iterable[str], addresses: Iterable[str], phones: Iterable[str]
) -> re.Pattern[str] | None:
    parts = []
    for name in sorted({n.strip() for n in names}, key=len, reverse=True):
        if len(name) >= MIN_NAME_LENGTH:
            parts.append(r"\s+".join(re.escape(w) for w in name.split()))
    for address in sorted(set(addresses), key=len, reverse=True):
        parts.append(re.escape(address))
    for phone in phones:
        parts.append(_phone_regex(phone))
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def scrub(value: Any, pattern: re.Pattern[str] | None, replacement: str = REMOVED) -> Any:
    """`value` with every match replaced; lists and dicts (JSON) walked through."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, list):
        return [scrub(v, pattern, replacement) for v in value]
    if isinstance(value, dict):
        return {
            scrub(k, pattern, replacement): scrub(v, pattern, replacement) for k, v in value.items()
        }
    return value


def text_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The concrete columns that hold text: Char, Text, Email (a CharField) and JSON."""
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]


# --- Finding the person -----------------------------------------------------------------------


def find_subject(identifier: str) -> Subject:
    """Everyone Helpa knows by this address or number, with all their addresses, numbers and
    names (one contact's other addresses count: they are the same person). Raises NotFound."""
    identifier = identifier.strip()
    subject = Subject(identifier=identifier)
    contacts = Contact.objects.none()
    if "@" in identifier:
        address = identifier.lower()
        subject.addresses.add(address)
        contacts = Contact.objects.filter(
            Q(email__iexact=address) | Q(emails__address=address)
        ).distinct()
        users = User.objects.filter(email__iexact=address, role=Role.CUSTOMER)
    else:
        try:
            phone = normalise_phone(identifier)
        except ValidationError as exc:
            raise NotFound(identifier) from exc
        subject.phones.add(phone)
        contacts = Contact.objects.filter(phones__number=phone).distinct()
        users = User.objects.none()
    subject.contacts = list(contacts.select_related("company", "user"))
    found_users = {u.pk: u for u in users}
    for contact in subject.contacts:
        subject.names.add(contact.name)
        if contact.email:
            subject.addresses.add(contact.email.lower())
        subject.addresses |= set(contact.emails.values_list("address", flat=True))
        subject.phones |= set(contact.phones.values_list("number", flat=True))
        if contact.user_id and contact.user.role == Role.CUSTOMER:
            found_users[contact.user.pk] = contact.user
    subject.users = list(found_users.values())
    for user in subject.users:
        subject.names.add(user.full_name)
        subject.addresses.add(user.email.lower())
    # Someone who is no contact: the names they gave in their mails.
    if subject.addresses:
        subject.names |= set(
            InboundMail.objects.filter(from_address__in=_iexact(subject.addresses))
            .exclude(from_name="")
            .values_list("from_name", flat=True)
            .distinct()
        )
    subject.names = {n.strip() for n in subject.names if n and n.strip()}
    subject.ticket_ids = _tickets_of(subject)
    if not (subject.contacts or subject.users or subject.ticket_ids or _mail_rows_exist(subject)):
        raise NotFound(identifier)
    return subject


def _iexact(addresses: Iterable[str]) -> list[str]:
    # Addresses are stored lower-case almost everywhere; InboundMail.from_address as parsed.
    found = set()
    for a in addresses:
        found |= {a, a.lower()}
    return sorted(found)


def _outgoing_to(subject: Subject) -> models.QuerySet[OutgoingMail]:
    condition = Q(pk__in=[])
    for address in subject.addresses:
        condition |= Q(recipients_text__icontains=f'"{address}"')
    return OutgoingMail.objects.annotate(recipients_text=Cast("recipients", TextField())).filter(
        condition
    )


def _inbound_from(subject: Subject) -> models.QuerySet[InboundMail]:
    condition = Q(pk__in=[])
    for address in subject.addresses:
        condition |= Q(from_address__iexact=address)
    return InboundMail.objects.filter(condition)


def _mail_rows_exist(subject: Subject) -> bool:
    return bool(subject.addresses) and (
        _inbound_from(subject).exists() or _outgoing_to(subject).exists()
    )


def _tickets_of(subject: Subject) -> set[int]:
    """Every ticket the person took part in: as its contact, as the author of an entry, as a
    participant of its mail, as sender or recipient of one of its mails."""
    ids: set[int] = set()
    cids, uids = subject.contact_ids, subject.user_ids
    ids |= set(Ticket.objects.filter(contact_id__in=cids).values_list("pk", flat=True))
    ids |= set(
        Article.objects.filter(Q(author_contact_id__in=cids) | Q(author_id__in=uids)).values_list(
            "ticket_id", flat=True
        )
    )
    ids |= set(
        Participant.objects.filter(
            Q(address__in=_iexact(subject.addresses)) | Q(contact_id__in=cids)
        ).values_list("ticket_id", flat=True)
    )
    if subject.addresses:
        ids |= set(_inbound_from(subject).exclude(ticket=None).values_list("ticket_id", flat=True))
        ids |= set(_outgoing_to(subject).exclude(ticket=None).values_list("ticket_id", flat=True))
    return ids


def _own_articles(subject: Subject) -> models.QuerySet[Article]:
    from_them = _inbound_from(subject).exclude(article=None).values("article_id")
    return Article.objects.filter(
        Q(author_contact_id__in=subject.contact_ids)
        | Q(author_id__in=subject.user_ids)
        | Q(pk__in=from_them)
    )


def summary(subject: Subject) -> dict[str, int]:
    """What is held, in numbers (the confirm pages show them; the log keeps them)."""
    return {
        "contacts": len(subject.contacts),
        "portal_accounts": len(subject.users),
        "addresses": len(subject.addresses),
        "phones": len(subject.phones),
        "tickets": len(subject.ticket_ids),
        "messages": _own_articles(subject).count(),
        "attachments": Attachment.objects.filter(article__in=_own_articles(subject)).count(),
        "received_mails": _inbound_from(subject).count() if subject.addresses else 0,
        "sent_mails": _outgoing_to(subject).count() if subject.addresses else 0,
    }


# --- Export -----------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _others_pattern(subject: Subject, ticket: Ticket) -> re.Pattern[str] | None:
    """The other people of a shared ticket: their names, addresses and numbers are redacted
    from whatever of the ticket goes into the person's export."""
    mine = set(subject.contact_ids)
    other_ids = {ticket.contact_id} if ticket.contact_id else set()
    other_ids |= set(
        ticket.articles.exclude(author_contact=None).values_list("author_contact_id", flat=True)
    )
    other_ids |= set(ticket.participants.exclude(contact=None).values_list("contact_id", flat=True))
    other_ids -= mine
    others = list(Contact.objects.filter(pk__in=other_ids))
    names = {c.name for c in others}
    addresses = {c.email.lower() for c in others if c.email}
    addresses |= set(
        ContactEmail.objects.filter(contact__in=others).values_list("address", flat=True)
    )
    phones = set(ContactPhone.objects.filter(contact__in=others).values_list("number", flat=True))
    for user in User.objects.filter(contact__in=others):
        names.add(user.full_name)
        addresses.add(user.email.lower())
    mail = InboundMail.objects.filter(ticket=ticket).exclude(
        from_address__in=_iexact(subject.addresses)
    )
    for address, name in mail.values_list("from_address", "from_name"):
        addresses.add(address.lower())
        names.add(name)
    addresses |= set(ticket.participants.values_list("address", flat=True))
    addresses -= subject.addresses
    names -= subject.names
    names.discard("")
    return personal_pattern(names, addresses, phones - subject.phones)


def export_data(subject: Subject) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The export's JSON and its files ((archive name, FieldFile) pairs).

    Shared tickets: the person's own messages are exported whole; what others wrote (another
    contact, a CC'd participant, or an agent's reply in a ticket where another person took
    part) is only a placeholder — when, what kind, "another person"/"agent" — because it may
    quote the others. In a ticket with no other person, the agents' entries are exported whole:
    they were written to or about the person. In both, the names, addresses and numbers of the
    ticket's other people are replaced by "[another person]" wherever they occur (quotes)."""
    files: list[tuple[str, Any]] = []
    own = set(_own_articles(subject).values_list("pk", flat=True))
    inbound_by_article = dict(
        InboundMail.objects.filter(ticket_id__in=subject.ticket_ids)
        .exclude(article=None)
        .values_list("article_id", "pk")
    )
    mine = subject.pattern()
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "identifier": subject.identifier,
        "contacts": [
            {
                "name": c.name,
                "email": c.email,
                "addresses": list(c.emails.values_list("address", flat=True)),
                "phones": list(c.phones.values_list("number", flat=True)),
                "company": c.company.name if c.company_id else None,
                "language": c.language,
                "notes": c.notes,
                "may_see_company_tickets_in_portal": c.portal_sees_company_tickets,
            }
            for c in subject.contacts
        ],
        "portal_accounts": [
            {
                "email": u.email,
                "name": u.full_name,
                "language": u.language,
                "active": u.is_active,
                "joined": _iso(u.date_joined),
                "last_login": _iso(u.last_login),
            }
            for u in subject.users
        ],
        "tickets": [],
        "received_mails": [],
        "sent_mails": [],
        "contact_form_submissions": [],
        "knowledge_base_visits": [],
    }
    tickets = Ticket.objects.filter(pk__in=subject.ticket_ids).select_related("queue", "contact")
    for ticket in tickets.order_by("number"):
        others = _others_pattern(subject, ticket)
        shared = others is not None

        def clean(value: Any, others: re.Pattern[str] | None = others) -> Any:
            return scrub(value, others, ANOTHER_PERSON)

        roles = []
        if ticket.contact_id in subject.contact_ids:
            roles.append("contact")
        if ticket.articles.filter(pk__in=own).exists():
            roles.append("author")
        if ticket.participants.filter(address__in=_iexact(subject.addresses)).exists():
            roles.append("participant")
        messages_ = []
        for article in ticket.articles.filter(deleted_at=None).select_related("author"):
            entry: dict[str, Any] = {
                "date": _iso(article.created_at),
                "kind": article.kind,
                "channel": "mail" if article.pk in inbound_by_article else ticket.channel,
            }
            if article.pk in own:
                entry |= {
                    "by": "you",
                    "body_text": clean(article.body_text),
                    "body_html": clean(article.body_html),
                }
                for attachment in article.attachments.all():
                    name = (
                        f"attachments/{ticket.number}/{attachment.pk}-{clean(attachment.filename)}"
                    )
                    files.append((name, attachment.file))
                    entry.setdefault("attachments", []).append(name)
            elif shared:
                entry["by"] = "agent" if article.author_id else "another person"
            else:
                entry |= {
                    "by": str(article.author) if article.author_id else article.author_name,
                    "body_text": article.body_text,
                    "body_html": article.body_html,
                }
            messages_.append(entry)
        history = []
        for h in ticket.history.order_by("created_at", "pk"):
            about = h.field == "contact" or (
                mine is not None and bool(mine.search(f"{h.old_value}\n{h.new_value}"))
            )
            if about:
                history.append(
                    {
                        "date": _iso(h.created_at),
                        "field": h.field,
                        "old": clean(h.old_value),
                        "new": clean(h.new_value),
                    }
                )
        data["tickets"].append(
            {
                "number": ticket.number,
                "title": clean(ticket.title),
                "queue": ticket.queue.name,
                "status": ticket.status,
                "channel": ticket.channel,
                "created": _iso(ticket.created_at),
                "closed": _iso(ticket.closed_at),
                "your_part": roles,
                "messages": messages_,
                "history_about_you": history,
            }
        )
    if subject.addresses:
        for mail in _inbound_from(subject).select_related("ticket").order_by("received_at", "pk"):
            row = {
                "received": _iso(mail.received_at),
                "from_address": mail.from_address,
                "from_name": mail.from_name,
                "subject": mail.subject,
                "state": mail.state,
                "ticket": mail.ticket.number if mail.ticket_id else None,
            }
            if mail.raw:
                row["raw_file"] = f"mail/received-{mail.pk}.eml"
                ticket = mail.ticket if mail.ticket_id else None
                others = _others_pattern(subject, ticket) if ticket else None
                files.append((row["raw_file"], _Redacted(mail.raw, others)))
            data["received_mails"].append(row)
        for out in _outgoing_to(subject).select_related("ticket").order_by("created_at", "pk"):
            data["sent_mails"].append(
                {
                    "created": _iso(out.created_at),
                    "kind": out.kind,
                    "subject": out.subject,
                    "to": [r for r in out.recipients if r.lower() in subject.addresses],
                    "state": out.state,
                    "ticket": out.ticket.number if out.ticket_id else None,
                }
            )
        for sub in Submission.objects.filter(address__in=_iexact(subject.addresses)):
            data["contact_form_submissions"].append(
                {"form": sub.form.name, "date": _iso(sub.created_at), "address": sub.address}
            )
    from helpa.kb.models import SuggestionVisit

    for visit in SuggestionVisit.objects.filter(contact_id__in=subject.contact_ids):
        data["knowledge_base_visits"].append(
            {
                "started": _iso(visit.started_at),
                "solved": _iso(visit.solved_at),
                "request_sent": _iso(visit.ticket_at),
            }
        )
    publish("privacy.export", subject=subject, data=data)  # surveys (issue 7) add theirs
    return data, files


ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-to", "resent-cc"}


@dataclass
class _Redacted:
    """A raw message as exported: the other people of its ticket (a CC'd colleague, a quoted
    contact) replaced in its headers and text parts; their files, if any, left out."""

    stored: Any
    others: re.Pattern[str] | None

    def read(self) -> bytes:
        with self.stored.open("rb") as f:
            raw = f.read()
        if self.others is None:
            return raw
        return redact_message(raw, self.others)


def redact_message(raw: bytes, others: re.Pattern[str]) -> bytes:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    for part in message.walk():
        for name, value in list(part.items()):
            text = str(value)
            if not others.search(text):
                continue
            if name.lower() in ADDRESS_HEADERS:
                kept = [
                    a
                    for a in getattr(value, "addresses", ())
                    if not others.search(f"{a.display_name} {a.addr_spec}")
                ]
                new: Any = ", ".join(str(a) for a in kept) or "undisclosed-recipients:;"
            else:
                new = scrub(text, others, ANOTHER_PERSON)
            part.replace_header(name, new)
        if part.is_multipart():
            continue
        if part.get_content_maintype() == "text":
            content = part.get_content()
            if others.search(content):
                part.set_content(
                    scrub(content, others, ANOTHER_PERSON), subtype=part.get_content_subtype()
                )
        elif others.search(part.get_filename() or ""):
            part.set_content(b"", maintype="application", subtype="octet-stream")
    return message.as_bytes()


def write_export(subject: Subject, out: io.BufferedIOBase | io.BytesIO) -> dict[str, int]:
    """Write the archive (data.json and the files) to `out`; returns the counts."""
    data, files = export_data(subject)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        for name, stored in files:
            try:
                if isinstance(stored, _Redacted):
                    archive.writestr(name, stored.read())
                else:
                    with stored.open("rb") as f:
                        archive.writestr(name, f.read())
            except (FileNotFoundError, ValueError):
                continue  # listed in data.json; the file itself is gone
    return summary(subject)


def log_request(
    kind: str, subject: Subject, counts: dict[str, int], actor: User | None
) -> GdprRequest:
    return GdprRequest.objects.create(
        kind=kind,
        actor=actor,
        actor_name=actor.full_name if actor else "Command line",
        subject_hash=identifier_hash(subject.identifier),
        counts={k: int(v) for k, v in counts.items()},
    )


def export(
    subject: Subject, out: io.BufferedIOBase | io.BytesIO, actor: User | None
) -> GdprRequest:
    counts = write_export(subject, out)
    return log_request(GdprRequest.Kind.EXPORT, subject, counts, actor)


# --- Anonymisation ----------------------------------------------------------------------------


def _raw_mentions(stored: Any, pattern: re.Pattern[str]) -> bool:
    """Whether a raw message names the person anywhere: headers decoded, text parts decoded,
    and the bytes as they are."""
    try:
        with stored.open("rb") as f:
            raw = f.read()
    except (FileNotFoundError, ValueError):
        return False
    texts = [raw.decode("latin-1")]
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        for part in message.walk():
            texts.extend(str(v) for v in part.values())
            if part.get_content_maintype() == "text":
                texts.append(part.get_content())
    except Exception:  # noqa: BLE001 — unreadable: treat as naming them, to be safe
        return True
    return any(pattern.search(t) for t in texts)


def _forget_raw(model: type[InboundMail] | type[OutgoingMail], rows: Iterable[Any]) -> int:
    storage = model._meta.get_field("raw").storage
    names = []
    for row in rows:
        if row.raw:
            names.append(row.raw.name)
            model.objects.filter(pk=row.pk).update(raw="")
    delete_files_on_commit(storage, names)
    return len(names)


@transaction.atomic
def anonymise(subject: Subject, actor: User | None) -> GdprRequest:
    """Replace the person's data everywhere, keep the tickets. See the module's docstring."""
    pattern = subject.pattern()
    counts = summary(subject)
    touched: set[int] = set(subject.ticket_ids)
    _overwrite_what_is_deleted()

    # Their own files: deleted (a file's content cannot be searched and replaced reliably).
    own_files = Attachment.objects.filter(article__in=_own_articles(subject))
    storage = Attachment._meta.get_field("file").storage
    delete_files_on_commit(storage, list(own_files.values_list("file", flat=True)))
    own_files.delete()
    # Others' text files in their tickets, where they are quoted: rewritten.
    if pattern is not None:
        for attachment in Attachment.objects.filter(ticket_id__in=touched):
            if not (
                attachment.content_type.startswith("text/")
                or attachment.filename.endswith((".txt", ".csv", ".html"))
            ):
                continue
            try:
                with attachment.file.open("rb") as f:
                    content = f.read().decode("utf-8", errors="replace")
            except (FileNotFoundError, ValueError):
                continue
            if pattern.search(content):
                with storage.open(attachment.file.name, "wb") as f:
                    f.write(pattern.sub(REMOVED, content).encode())

    # Raw mails: theirs, to them, and any of their tickets' that names them.
    inbound: list[Any] = []
    outgoing: list[Any] = []
    if subject.addresses:
        inbound += list(_inbound_from(subject))
        outgoing += list(_outgoing_to(subject))
    if pattern is not None:
        for mail in InboundMail.objects.filter(ticket_id__in=touched).exclude(raw=""):
            if _raw_mentions(mail.raw, pattern):
                inbound.append(mail)
        for out in OutgoingMail.objects.filter(ticket_id__in=touched).exclude(raw=""):
            if _raw_mentions(out.raw, pattern):
                outgoing.append(out)
    # A mail to them not sent yet will never be: its message is gone.
    OutgoingMail.objects.filter(
        pk__in=[o.pk for o in outgoing],
        state__in=[OutgoingMail.State.QUEUED, OutgoingMail.State.DRAFT],
    ).update(state=OutgoingMail.State.FAILED, last_error=REMOVED)
    counts["raw_mails_deleted"] = _forget_raw(InboundMail, inbound) + _forget_raw(
        OutgoingMail, outgoing
    )

    # Rows whose whole point is an address or a number: gone.
    ContactEmail.objects.filter(contact_id__in=subject.contact_ids).delete()
    ContactPhone.objects.filter(contact_id__in=subject.contact_ids).delete()
    FailingAddress.objects.filter(address__in=_iexact(subject.addresses)).delete()
    Participant.objects.filter(
        Q(address__in=_iexact(subject.addresses)) | Q(contact_id__in=subject.contact_ids)
    ).delete()
    TicketLink.objects.filter(contact_id__in=subject.contact_ids).delete()
    LoginLink.objects.filter(user_id__in=subject.user_ids).delete()
    for model in (Submission, BlockedSubmission):
        model.objects.filter(address__in=_iexact(subject.addresses)).update(address="", ip=None)

    # The contact rows stay (tickets and statistics point at them), without the person.
    Contact.objects.filter(pk__in=subject.contact_ids).update(
        name=REMOVED, email="", notes="", user=None
    )
    for user in subject.users:
        user.email = f"anonymised-{user.pk}@invalid.invalid"
        user.full_name = REMOVED
        user.language = ""
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["email", "full_name", "language", "is_active", "password"])

    extra: dict[str, int] = {}
    publish("privacy.anonymise", subject=subject, counts=extra)  # surveys (issue 7)
    counts |= extra

    # Everything else that names them: every text column of every model.
    touched |= _sweep(subject, pattern)
    for ticket_id in sorted(touched):
        search.reindex_ticket(ticket_id)
    counts["tickets_touched"] = len(touched)
    transaction.on_commit(_forget_on_disk)
    return log_request(GdprRequest.Kind.ANONYMISE, subject, counts, actor)


def _overwrite_what_is_deleted() -> None:
    """SQLite leaves deleted and overwritten text in the database file's free space unless
    secure_delete is on: zeroed instead, for this connection's writes from now on."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


def _forget_on_disk() -> None:
    """After the commit, on SQLite: the full-text index's old segments still hold the removed
    words until they are merged ('optimize' rewrites the index), and the write-ahead log holds
    the pages as they were until a checkpoint copies and truncates it. PostgreSQL keeps old row
    versions until (auto)vacuum, which cannot run inside a request's transaction."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return  # (in_atomic_block: a test's transaction, which never reaches the disk)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO tickets_ticket_fts(tickets_ticket_fts) VALUES('optimize')")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA secure_delete = OFF")


def _sweep(subject: Subject, pattern: re.Pattern[str] | None) -> set[int]:
    """Replace the person's strings in every text column of every model; returns the tickets
    whose rows changed. A full scan per column: an admin's rare action, where being sure
    matters more than speed."""
    if pattern is None:
        return set()
    terms = subject.terms()
    touched: set[int] = set()
    for model in apps.get_models():
        if model is GdprRequest or model._meta.proxy:
            continue
        fields = text_fields(model)
        if not fields:
            continue
        condition = Q(pk__in=[])
        annotations = {}
        for f in fields:
            if isinstance(f, models.JSONField):
                alias = f"_gdpr_{f.attname}"
                annotations[alias] = Cast(f.attname, TextField())
                for term in terms:
                    condition |= Q(**{f"{alias}__icontains": term})
                    escaped = json.dumps(term)[1:-1]
                    if escaped != term:
                        condition |= Q(**{f"{alias}__icontains": escaped})
            else:
                for term in terms:
                    condition |= Q(**{f"{f.attname}__icontains": term})
        rows = model._default_manager.all()
        if annotations:
            rows = rows.annotate(**annotations)
        # Their tickets' rows are all read (a regular expression finds written-out numbers
        # the plain terms miss); elsewhere only rows that have one of the terms.
        ids = sorted(subject.ticket_ids)
        if model is Ticket:
            condition |= Q(pk__in=ids)
        elif model in (Article, HistoryEntry, Attachment):
            condition |= Q(ticket_id__in=ids)
        for row in rows.filter(condition):
            changes = {}
            for f in fields:
                value = getattr(row, f.attname)
                new = scrub(value, pattern)
                if new != value:
                    changes[f.attname] = new
            if changes:
                model._default_manager.filter(pk=row.pk).update(**changes)
                if model is Ticket:
                    touched.add(row.pk)
                elif any(f.name == "ticket" for f in model._meta.concrete_fields):
                    ticket_id = getattr(row, "ticket_id", None)
                    if ticket_id:
                        touched.add(ticket_id)
    return touched
