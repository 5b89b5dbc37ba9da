"""Every change to a ticket goes through these functions — from the agent UI today, and from
mail, the portal, the API, rules and jobs later.

Each action is one `transaction.atomic` unit: it locks the ticket row, checks the rules of the
status model and the optimistic-concurrency version, writes one history entry per changed field,
keeps the search index current, and publishes an event; notifications happen on commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from helpa.accounts.models import Role, User
from helpa.crm.models import Contact
from helpa.lib import events, rows
from helpa.lib.files import delete_files_on_commit
from helpa.lib.html import html_to_text, sanitize_html

from . import search
from .models import (
    ACTIVE_STATUSES,
    Article,
    ArticleKind,
    Attachment,
    Channel,
    HistoryEntry,
    Notification,
    NumberSeries,
    Queue,
    Status,
    Ticket,
    TimeEntry,
)

# Fields an action may change through `update_ticket`, in the order history shows them.
EDITABLE_FIELDS = [
    "title",
    "description",
    "status",
    "priority",
    "type",
    "category",
    "queue",
    "team",
    "owner",
    "contact",
    "company",
    "due_at",
    "hidden_until",
    "on_hold_until",
    "is_draft",
    "parent",
]


class TicketError(Exception):
    """A change the rules refuse; the message is for the user, shown on the form."""


class OwnerRequired(TicketError):
    pass


@dataclass
class StaleTicket(TicketError):
    """The ticket changed since the user loaded it; `changes` are the entries they did not see."""

    changes: list[HistoryEntry]

    def __str__(self) -> str:
        return _("Someone else changed this ticket while you were editing it.")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, or a named machine part (a rule, a job, the mail gateway).
    `is_customer`: the ticket's own contact, through the portal or a ticket link."""

    user: User | None = None
    name: str = ""
    is_customer: bool = False

    @property
    def label(self) -> str:
        return str(self.user) if self.user else self.name


def as_actor(actor: User | Actor | None) -> Actor:
    if isinstance(actor, Actor):
        return actor
    return Actor(user=actor) if actor is not None else Actor(name="Helpa")


# --- Creating tickets -------------------------------------------------------------------------


def _next_ticket_number() -> int:
    """Draw the next number of the running series. The UPDATE locks the series row until commit,
    so concurrent creations never share a number; RETURNING saves a second round trip."""
    table = NumberSeries._meta.db_table
    with connection.cursor() as cursor:
        for _attempt in range(2):
            cursor.execute(
                f"UPDATE {table} SET next_value = next_value + 1 WHERE name = %s "
                "RETURNING next_value",
                ["ticket"],
            )
            row = cursor.fetchone()
            if row is not None:
                return int(row[0]) - 1
            NumberSeries.objects.get_or_create(name="ticket")
    raise RuntimeError("the ticket number series cannot be drawn from")


@transaction.atomic
def open_ticket(
    actor: User | Actor | None,
    *,
    queue: Queue,
    title: str,
    description: str = "",
    channel: str = Channel.AGENT,
    attachments: Sequence[UploadedFile] = (),
    reindex: bool = True,
    **fields: Any,
) -> Ticket:
    """Create a ticket. `description` is HTML (sanitised here); `fields` are further model fields
    (status, priority, type, category, team, owner, contact, company, due_at, hidden_until,
    on_hold_until, is_draft, parent). A caller that adds to the ticket in the same transaction
    may pass `reindex=False` and leave the search index to its last step."""
    who = as_actor(actor)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"open_ticket got unknown fields: {sorted(unknown)}")
    title = (title or "").strip()
    if not title:
        raise TicketError(_("A ticket needs a title."))
    status = fields.get("status", Status.NEW)
    if status != Status.NEW and not fields.get("owner"):
        raise OwnerRequired(_("A ticket needs an owner before it can leave the status New."))
    contact: Contact | None = fields.get("contact")
    if contact and contact.company_id and not fields.get("company"):
        fields["company"] = contact.company
    now = timezone.now()
    ticket = Ticket(
        number=_next_ticket_number(),
        queue=queue,
        title=title,
        channel=channel,
        created_by=who.user,
        created_at=now,
        updated_at=now,
        **fields,
    )
    _set_description(ticket, description)
    _stamp_status_times(ticket, status, now)
    rows.insert(ticket)
    # A new ticket has no followers: say so the way prefetch_related would, so the
    # notifications sent after commit need not ask the database. `followers.add()` on this
    # instance (follow) drops the cache again.
    ticket._prefetched_objects_cache = {"followers": User.objects.none()}
    rows.insert(
        HistoryEntry(
            ticket=ticket,
            actor=who.user,
            actor_name=who.name,
            field="created",
            new_value=ticket.display_number,
            version=ticket.version,
            created_at=now,
        )
    )
    if attachments:
        stored = _store_attachments(ticket, None, attachments)
        # An image pasted into the description arrives like one pasted into a reply.
        ticket.description, inline = _point_at_attachments(ticket, ticket.description, stored)
        if inline:
            ticket.save(update_fields=["description"])
    if ticket.parent_id:
        HistoryEntry.objects.create(
            ticket_id=ticket.parent_id,
            actor=who.user,
            actor_name=who.name,
            field="child_added",
            new_value=ticket.display_number,
            version=ticket.parent.version,
            created_at=now,
        )
    if reindex:
        search.reindex_ticket(ticket.id)
    events.publish("ticket.created", ticket=ticket, actor=who)
    if ticket.owner_id and ticket.owner != who.user:
        events.publish("ticket.assigned", ticket=ticket, actor=who, owner=ticket.owner)
    return ticket


def _set_description(ticket: Ticket, html: str) -> None:
    if not html:  # (a mailed ticket has none: its text is the first article)
        ticket.description = ticket.description_text = ""
        return
    ticket.description = sanitize_html(html)
    ticket.description_text = html_to_text(ticket.description)


def _stamp_status_times(ticket: Ticket, status: str, now: datetime) -> None:
    if status == Status.RESOLVED and not ticket.resolved_at:
        ticket.resolved_at = now
    if status == Status.CLOSED:
        ticket.closed_at = now
    if status in ACTIVE_STATUSES:
        # Reopened: it is neither resolved nor closed any more (the history keeps when it was).
        ticket.resolved_at = None
        ticket.closed_at = None
    if status != Status.ON_HOLD:
        ticket.on_hold_until = None


# --- Changing fields ----------------------------------------------------------------------------


def value_for_history(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _check_status_rules(ticket: Ticket, new_status: str, who: Actor) -> None:
    if new_status != Status.NEW and ticket.owner_id is None:
        if new_status == Status.CLOSED and who.is_customer:
            return  # a customer withdrawing a request nobody has taken yet
        raise OwnerRequired(_("A ticket needs an owner before it can leave the status New."))


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


@transaction.atomic
def update_ticket(
    actor: User | Actor | None,
    ticket: Ticket,
    changes: dict[str, Any],
    *,
    expected_version: int | None = None,
) -> Ticket:
    """Change fields of a ticket. Refuses a stale save (StaleTicket) when `expected_version` is
    given and someone changed the ticket since; refuses leaving New without an owner.
    Returns the fresh ticket; unchanged values are ignored."""
    who = as_actor(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"update_ticket got unknown fields: {sorted(unknown)}")
    current = _lock(ticket)
    if expected_version is not None and current.version != expected_version:
        missed = list(
            HistoryEntry.objects.filter(ticket=current, version__gt=expected_version)
            .select_related("actor")
            .order_by("id")
        )
        raise StaleTicket(changes=missed)

    if "title" in changes and not (changes["title"] or "").strip():
        raise TicketError(_("A ticket needs a title."))
    changed: list[tuple[str, Any, Any]] = []
    for field in EDITABLE_FIELDS:
        if field not in changes:
            continue
        new = changes[field]
        if field == "description":
            new = sanitize_html(new or "")
        if field == "title":
            new = new.strip()
        old = getattr(current, field)
        if old != new:
            changed.append((field, old, new))
    if not changed:
        return current

    now = timezone.now()
    for field, _old, new in changed:
        if field == "description":
            _set_description(current, new)
        else:
            setattr(current, field, new)
    new_status = current.status
    status_changed = any(f == "status" for f, _o, _n in changed)
    if status_changed or current.status != Status.NEW:
        _check_status_rules(current, new_status, who)
    if status_changed:
        _stamp_status_times(current, new_status, now)
    current.version += 1
    current.updated_at = now
    current.save()

    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            ticket=current,
            actor=who.user,
            actor_name=who.name,
            field=field,
            old_value=value_for_history(old),
            new_value=value_for_history(new),
            version=current.version,
            created_at=now,
        )
        for field, old, new in changed
    )
    if any(f in ("title", "description") for f, _o, _n in changed):
        search.reindex_ticket(current.id)
    changed_fields = [f for f, _o, _n in changed]
    events.publish("ticket.changed", ticket=current, actor=who, fields=changed_fields)
    owner_change = next((c for c in changed if c[0] == "owner"), None)
    if owner_change and owner_change[2] is not None:
        events.publish("ticket.assigned", ticket=current, actor=who, owner=owner_change[2])
    return current


# A customer's message to a ticket waiting on them, resolved or on hold hands it back to us;
# a closed ticket stays closed (the channels start a new one).
REOPENED_BY_A_CUSTOMER = {Status.WAITING, Status.RESOLVED, Status.ON_HOLD}


def reopen_for_customer_message(actor: User | Actor | None, ticket: Ticket) -> Ticket:
    """After a customer's message (mail, SMS): back to Open, or New when nobody owns it."""
    if ticket.status not in REOPENED_BY_A_CUSTOMER:
        return ticket
    status = Status.OPEN if ticket.owner_id else Status.NEW
    return update_ticket(actor, ticket, {"status": status})


def set_status(
    actor: User | Actor | None,
    ticket: Ticket,
    status: str,
    *,
    expected_version: int | None = None,
    on_hold_until: datetime | None = None,
) -> Ticket:
    """Move a ticket to a status. For On hold, `on_hold_until` None means "until further notice";
    a date makes the worker wake it up to Open then."""
    changes: dict[str, Any] = {"status": status}
    if status == Status.ON_HOLD:
        changes["on_hold_until"] = on_hold_until
    return update_ticket(actor, ticket, changes, expected_version=expected_version)


@transaction.atomic
def close_ticket(
    actor: User | Actor | None,
    ticket: Ticket,
    *,
    expected_version: int | None = None,
    close_children: bool = False,
) -> Ticket:
    """Close a ticket; with `close_children`, also every open sub-ticket (recorded on each)."""
    closed = update_ticket(
        actor, ticket, {"status": Status.CLOSED}, expected_version=expected_version
    )
    if close_children:
        for child in Ticket.objects.filter(parent=closed).exclude(status=Status.CLOSED):
            if child.owner_id is None:
                # A child still New and unowned is taken by the parent's closer (by the
                # parent's owner when a rule or job closes it) and closed.
                taker = as_actor(actor).user or closed.owner
                update_ticket(actor, child, {"owner": taker, "status": Status.CLOSED})
            else:
                update_ticket(actor, child, {"status": Status.CLOSED})
            HistoryEntry.objects.create(
                ticket=child,
                actor=as_actor(actor).user,
                actor_name=as_actor(actor).name,
                field="closed_with_parent",
                new_value=closed.display_number,
                version=Ticket.objects.values_list("version", flat=True).get(pk=child.pk),
            )
    return closed


# --- The thread ---------------------------------------------------------------------------------

MENTION = re.compile(r"(?<![\w.])@([\w.+-]+)", re.UNICODE)


def mentioned_users(text: str) -> list[User]:
    """Colleagues named as @handle, where the handle is the local part of their e-mail."""
    handles = {h.lower().rstrip(".") for h in MENTION.findall(text or "")}
    if not handles:
        return []
    return [u for u in User.objects.agents() if u.email.split("@")[0].lower() in handles]


@transaction.atomic
def add_article(
    actor: User | Actor | None,
    ticket: Ticket,
    kind: str,
    body_html: str,
    *,
    time_spent_minutes: int = 0,
    billable: bool = True,
    attachments: Sequence[UploadedFile] = (),
    contact: Contact | None = None,
    author_name: str = "",
    reindex: bool = True,
    touch: bool = True,
    send_by: str = "mail",
) -> Article:
    """Add one entry to the thread (a reply, internal note, discussion post or customer message).
    `send_by`: how a reply reaches the customer — "mail" (by the queue's notification policy)
    or "sms" (the SMS channel; it refuses the reply when it cannot send it).
    `reindex=False`: the caller updates the search index itself before its transaction ends.
    `touch=False`: the caller opened the ticket a moment ago in the same transaction, so its
    `updated_at` (the creation time) stands — the first entries are part of the creation.
    Time spent is also recorded as a `TimeEntry` (billable or not) for the time report."""
    who = as_actor(actor)
    body = sanitize_html(body_html)
    body_text = html_to_text(body)
    if not body_text.strip() and not attachments:
        raise TicketError(_("Write something or attach a file."))
    if time_spent_minutes < 0:
        raise TicketError(_("Time spent cannot be negative."))
    now = timezone.now()
    article = rows.insert(
        Article(
            ticket=ticket,
            kind=kind,
            body_html=body,
            body_text=body_text,
            author=who.user,
            author_contact=contact,
            author_name=author_name or who.name,
            time_spent_minutes=time_spent_minutes,
            created_at=now,
        )
    )
    if time_spent_minutes:
        _log_time(ticket, article, who.user, time_spent_minutes, billable, now)
    if attachments:
        stored = _store_attachments(ticket, article, attachments)
        _link_inline_images(article, stored)
    if touch:
        _touch(ticket.pk, now)
    if reindex:
        search.reindex_ticket(ticket.id)
    mentions = []
    if kind == ArticleKind.DISCUSSION:
        # Only colleagues who may open the ticket hear of it: a mention must not leak its title.
        mentions = [
            u
            for u in mentioned_users(article.body_text)
            if Ticket.objects.visible_to(u).filter(pk=ticket.pk).exists()
        ]
    events.publish(
        "ticket.article_added",
        ticket=ticket,
        article=article,
        actor=who,
        mentions=mentions,
        send_by=send_by,
    )
    return article


def _touch(ticket_id: int, now: datetime) -> None:
    """`Ticket.objects.filter(pk=…).update(updated_at=now)`, written out: every reply and every
    mail to a ticket runs it, and the ORM's building of the UPDATE costs more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} SET updated_at = %s WHERE id = %s",
            [connection.ops.adapt_datetimefield_value(now), ticket_id],
        )


def _log_time(
    ticket: Ticket,
    article: Article | None,
    user: User | None,
    minutes: int,
    billable: bool,
    now: datetime,
    *,
    worked_on: date | None = None,
    note: str = "",
) -> TimeEntry:
    # The copied columns are read from the row, not the instance: the caller's instance may
    # predate a change earlier in this transaction (a rule moved the ticket).
    copied = Ticket.objects.filter(pk=ticket.pk).values("queue_id", "company_id", "category_id")
    return TimeEntry.objects.create(
        ticket_id=ticket.pk,
        article=article,
        user=user,
        minutes=minutes,
        billable=billable,
        worked_on=worked_on or timezone.localdate(now),
        note=note,
        created_at=now,
        **copied.get(),
    )


def add_reply(actor: User | Actor | None, ticket: Ticket, body_html: str, **kwargs: Any) -> Article:
    return add_article(actor, ticket, ArticleKind.REPLY, body_html, **kwargs)


def add_note(actor: User | Actor | None, ticket: Ticket, body_html: str, **kwargs: Any) -> Article:
    return add_article(actor, ticket, ArticleKind.NOTE, body_html, **kwargs)


def add_discussion_post(actor: User, ticket: Ticket, body_html: str, **kwargs: Any) -> Article:
    return add_article(actor, ticket, ArticleKind.DISCUSSION, body_html, **kwargs)


@transaction.atomic
def delete_discussion_post(actor: User, article: Article) -> None:
    """One may delete one's own discussion posts, never anyone else's, never other kinds.
    The post stays in the thread as "deleted", and the history says who deleted it."""
    if article.kind != ArticleKind.DISCUSSION or article.author_id != actor.pk:
        raise TicketError(_("You can only delete your own discussion posts."))
    if article.deleted_at:
        return
    article.deleted_at = timezone.now()
    article.save(update_fields=["deleted_at"])
    HistoryEntry.objects.create(
        ticket_id=article.ticket_id,
        actor=actor,
        field="discussion_deleted",
        old_value=article.body_text[:200],
        version=Ticket.objects.values_list("version", flat=True).get(pk=article.ticket_id),
    )
    search.reindex_ticket(article.ticket_id)


def _store_attachments(
    ticket: Ticket, article: Article | None, files: Iterable[UploadedFile]
) -> list[Attachment]:
    stored = []
    for upload in files:
        name = (upload.name or "file").rsplit("/", 1)[-1][:200]
        attachment = Attachment(
            ticket=ticket,
            article=article,
            filename=name,
            content_type=(upload.content_type or "application/octet-stream")[:150],
            size=upload.size or 0,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _point_at_attachments(
    ticket: Ticket, html: str, attachments: list[Attachment]
) -> tuple[str, list[int]]:
    """A pasted image arrives as an attachment and a `cid:<filename>` reference in the HTML:
    point the reference at the stored file and mark the attachment inline."""
    inline = []
    for attachment in attachments:
        ref = f"cid:{attachment.filename}"
        if ref in html:
            url = reverse("tickets:attachment", args=[ticket.number, attachment.pk])
            html = html.replace(ref, url)
            inline.append(attachment.pk)
    if inline:
        Attachment.objects.filter(pk__in=inline).update(is_inline=True)
    return html, inline


def _link_inline_images(article: Article, attachments: list[Attachment]) -> None:
    article.body_html, inline = _point_at_attachments(
        article.ticket, article.body_html, attachments
    )
    if inline:
        article.save(update_fields=["body_html"])


# --- Followers ---------------------------------------------------------------------------------


@transaction.atomic
def follow(actor: User | Actor | None, ticket: Ticket, user: User) -> None:
    """Share a ticket with a colleague: they see it under "followed" and hear of its changes."""
    if not user.is_agent or ticket.followers.filter(pk=user.pk).exists():
        return
    ticket.followers.add(user)
    who = as_actor(actor)
    HistoryEntry.objects.create(
        ticket=ticket,
        actor=who.user,
        actor_name=who.name,
        field="follower_added",
        new_value=str(user),
        version=ticket.version,
    )
    events.publish("ticket.followed", ticket=ticket, actor=who, follower=user)


@transaction.atomic
def unfollow(actor: User | Actor | None, ticket: Ticket, user: User) -> None:
    if not ticket.followers.filter(pk=user.pk).exists():
        return
    ticket.followers.remove(user)
    who = as_actor(actor)
    HistoryEntry.objects.create(
        ticket=ticket,
        actor=who.user,
        actor_name=who.name,
        field="follower_removed",
        old_value=str(user),
        version=ticket.version,
    )


# --- Jobs --------------------------------------------------------------------------------------

WAKE_ACTOR = Actor(name="Helpa (on hold ended)")


def wake_on_hold_tickets(now: datetime | None = None) -> int:
    """Move every on-hold ticket whose time has come back to Open. Idempotent: a ticket already
    woken (by another worker) is skipped by the status check under the row lock."""
    now = now or timezone.now()
    due = Ticket.objects.filter(status=Status.ON_HOLD, on_hold_until__lte=now).values_list(
        "pk", flat=True
    )
    woken = 0
    for pk in list(due[:500]):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if (
                ticket.status != Status.ON_HOLD
                or not ticket.on_hold_until
                or ticket.on_hold_until > now
            ):
                continue
            update_ticket(WAKE_ACTOR, ticket, {"status": Status.OPEN})
            woken += 1
    return woken


# --- Legal hold, anonymising and deleting (retention) -------------------------------------------


@transaction.atomic
def set_legal_hold(actor: User | Actor | None, ticket: Ticket, hold: bool) -> Ticket:
    """Put a ticket on legal hold (retention never removes it) or release it. Not through
    `update_ticket`: the hold is no part of the ticket's work, and a closed ticket without an
    owner (a request its customer withdrew) may be held too."""
    who = as_actor(actor)
    current = _lock(ticket)
    if current.legal_hold == hold:
        return current
    current.legal_hold = hold
    current.version += 1
    current.save(update_fields=["legal_hold", "version"])
    HistoryEntry.objects.create(
        ticket=current,
        actor=who.user,
        actor_name=who.name,
        field="legal_hold",
        old_value=value_for_history(not hold),
        new_value=value_for_history(hold),
        version=current.version,
    )
    return current


@transaction.atomic
def record_event(
    actor: User | Actor | None, ticket: Ticket, field: str, new_value: str = ""
) -> HistoryEntry:
    """Write something that happened to a ticket without changing a field (a reminder mailed
    by a job) into its history."""
    who = as_actor(actor)
    return HistoryEntry.objects.create(
        ticket=ticket,
        actor=who.user,
        actor_name=who.name,
        field=field,
        new_value=new_value,
        version=Ticket.objects.values_list("version", flat=True).get(pk=ticket.pk),
    )


REMOVED = "[removed]"
# History entries whose values name no outside person (codes, queues, teams, colleagues):
# anonymising keeps them for statistics. Every other value becomes REMOVED.
IMPERSONAL_HISTORY = {
    "created",
    "status",
    "priority",
    "type",
    "category",
    "queue",
    "team",
    "owner",
    "due_at",
    "hidden_until",
    "on_hold_until",
    "is_draft",
    "legal_hold",
    "child_added",
    "closed_with_parent",
    "reminder_sent",
    "anonymised",
}


def _is_machine_name(name: str) -> bool:
    """An actor or author name Helpa wrote for one of its own parts, not a person's."""
    return name in ("", "Helpa", "Mail", REMOVED) or name.startswith(("Helpa ", "Rule: "))


@transaction.atomic
def anonymise_ticket(actor: User | Actor | None, ticket: Ticket) -> Ticket:
    """Keep a ticket for statistics (queue, type, category, statuses, dates, owner, time
    spent) but nothing that tells who asked or what about: title, description, the thread's
    texts and time entries' notes become REMOVED, the contact is dropped, customers' names and logins are cut from the
    thread and the history, files are deleted (after commit), notifications go. The mail
    channel's copies (raw messages) are its own to remove (see automation/retention.py)."""
    who = as_actor(actor)
    current = _lock(ticket)
    now = timezone.now()
    current.title = REMOVED
    current.description = ""
    current.description_text = ""
    current.contact = None
    current.anonymised_at = now
    current.version += 1
    current.save(
        update_fields=[
            "title",
            "description",
            "description_text",
            "contact",
            "anonymised_at",
            "version",
        ]
    )
    articles = Article.objects.filter(ticket=current)
    articles.filter(author__role=Role.CUSTOMER).update(author=None)
    articles.filter(author__isnull=True).filter(
        Q(kind=ArticleKind.CUSTOMER) | Q(author_contact__isnull=False)
    ).update(author_name=REMOVED)
    articles.update(body_html=f"<p>{REMOVED}</p>", body_text=REMOVED, author_contact=None)
    # The time stays (minutes, days, billable) for the time report; its notes may name people.
    TimeEntry.objects.filter(ticket=current).exclude(note="").update(note=REMOVED)

    files = Attachment.objects.filter(ticket=current)
    storage = Attachment._meta.get_field("file").storage
    delete_files_on_commit(storage, list(files.values_list("file", flat=True)))
    files.delete()

    history = HistoryEntry.objects.filter(ticket=current)
    history.filter(actor__role=Role.CUSTOMER).update(actor=None, actor_name=REMOVED)
    for entry in history.filter(actor__isnull=True).exclude(actor_name=REMOVED).only("actor_name"):
        if not _is_machine_name(entry.actor_name):
            HistoryEntry.objects.filter(pk=entry.pk).update(actor_name=REMOVED)
    personal = history.exclude(field__in=IMPERSONAL_HISTORY)
    personal.exclude(old_value="").update(old_value=REMOVED)
    personal.exclude(new_value="").update(new_value=REMOVED)
    Notification.objects.filter(ticket=current).delete()
    HistoryEntry.objects.create(
        ticket=current,
        actor=who.user,
        actor_name=who.name,
        field="anonymised",
        version=current.version,
        created_at=now,
    )
    search.reindex_ticket(current.id)
    return current


@transaction.atomic
def delete_tickets(ticket_ids: Sequence[int]) -> int:
    """Delete tickets for good: thread, history, files (after commit), search entries. For
    retention; nothing of a deleted ticket stays to record who deleted it (the retention log
    counts them). Sub-tickets of a deleted ticket stay, without their parent. Returns how many
    tickets were deleted."""
    ids = list(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", flat=True))
    if not ids:
        return 0
    storage = Attachment._meta.get_field("file").storage
    delete_files_on_commit(
        storage, list(Attachment.objects.filter(ticket_id__in=ids).values_list("file", flat=True))
    )
    search.forget_tickets(ids)
    _total, per_model = Ticket.objects.filter(pk__in=ids).delete()
    return per_model.get(Ticket._meta.label, 0)


# --- Merging duplicates -------------------------------------------------------------------------

# Sub-ticket chains are short; the walk up from a merge target stops here whatever the data.
MAX_PARENT_DEPTH = 50


def _ancestor_ids(ticket: Ticket) -> set[int]:
    """The ids of a ticket's parent, its parent's parent, and so on (one query per level)."""
    found: set[int] = set()
    parent_id = ticket.parent_id
    while parent_id is not None and parent_id not in found and len(found) < MAX_PARENT_DEPTH:
        found.add(parent_id)
        parent_id = Ticket.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return found


def _check_merge(who: Actor, source: Ticket, target: Ticket) -> None:
    if source.pk == target.pk:
        raise TicketError(_("A ticket cannot be merged into itself."))
    if source.merged_into_id is not None:
        raise TicketError(_("This ticket has already been merged into another ticket."))
    if target.merged_into_id is not None:
        # Its chain may lead back here; either way the thread lives on at the chain's end.
        raise TicketError(
            _("%(number)s has itself been merged into another ticket; merge into that one.")
            % {"number": target.display_number}
        )
    if who.user is not None:
        visible = Ticket.objects.visible_to(who.user).filter(pk__in=[source.pk, target.pk])
        if visible.count() != 2:
            raise TicketError(_("You may only merge tickets of queues you work."))
    if source.pk in _ancestor_ids(target):
        raise TicketError(_("A ticket cannot be merged into one of its own sub-tickets."))


def _moved_attachment_urls(html: str, source: Ticket, target: Ticket, ids: Sequence[int]) -> str:
    """Inline images point at the ticket's URL of the file: point them at the new ticket."""
    for pk in ids:
        html = html.replace(
            reverse("tickets:attachment", args=[source.number, pk]),
            reverse("tickets:attachment", args=[target.number, pk]),
        )
    return html


@transaction.atomic
def merge_tickets(
    actor: User | Actor | None,
    source: Ticket,
    target: Ticket,
    *,
    expected_version: int | None = None,
    expected_target_version: int | None = None,
) -> Ticket:
    """Merge a duplicate request (`source`) into `target`, where the work goes on.

    The source's thread (articles with their files), followers and sub-tickets move to the
    target; its description is kept on the target as an internal note. The source is closed
    with `merged_into` set (statistics count it neither as new nor as closed) and says where
    it went; the target's history says what came in. Other apps move their own rows (received
    mail, CC participants) in the "ticket.merged" event, inside this transaction.

    Refused (TicketError): into itself, into or from a merged ticket, into one of the source's
    sub-tickets, or when the actor cannot open both. StaleTicket when either ticket changed
    since the user looked (`expected_version`, `expected_target_version`). Returns the target."""
    who = as_actor(actor)
    # Both rows locked in id order, so two merges in opposite directions cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    for current, expected in ((source, expected_version), (target, expected_target_version)):
        if expected is not None and current.version != expected:
            missed = list(
                HistoryEntry.objects.filter(ticket=current, version__gt=expected)
                .select_related("actor")
                .order_by("id")
            )
            raise StaleTicket(changes=missed)
    _check_merge(who, source, target)

    now = timezone.now()
    file_ids = list(Attachment.objects.filter(ticket=source).values_list("pk", flat=True))
    # Only entries that show one of the moved files need their HTML rewritten.
    for article in Article.objects.filter(ticket=source, body_html__contains="/attachments/"):
        article.body_html = _moved_attachment_urls(article.body_html, source, target, file_ids)
        article.save(update_fields=["body_html"])
    Article.objects.filter(ticket=source).update(ticket=target)
    description_note = None
    if source.description_text.strip():
        description_note = rows.insert(
            Article(
                ticket=target,
                kind=ArticleKind.NOTE,
                body_html=_moved_attachment_urls(source.description, source, target, file_ids),
                body_text=source.description_text,
                author=source.created_by,
                author_contact=source.contact,
                author_name=who.name if source.created_by is None else "",
                created_at=source.created_at,
            )
        )
    # Files of the description travel with it; the entries' files with their entries.
    Attachment.objects.filter(ticket=source, article=None).update(
        ticket=target, article=description_note
    )
    Attachment.objects.filter(ticket=source).update(ticket=target)
    source.description = _moved_attachment_urls(source.description, source, target, file_ids)
    target.followers.add(*source.followers.all())
    children = list(Ticket.objects.filter(parent=source).values_list("pk", "version"))
    Ticket.objects.filter(parent=source).update(parent=target, updated_at=now)

    changed = ["merged_into"]
    history = []
    if source.owner_id is None:
        # A ticket leaves New only with an owner: the one who merges takes it, as a sub-ticket
        # closed with its parent is taken by the closer.
        source.owner = who.user or target.owner
        changed.append("owner")
        history.append(("owner", "", value_for_history(source.owner)))
    if source.status != Status.CLOSED:
        history.append(("status", source.status, Status.CLOSED.value))
        changed.append("status")
        source.status = Status.CLOSED
        _stamp_status_times(source, Status.CLOSED, now)
    source.merged_into = target
    source.version += 1
    source.updated_at = now
    source.save()
    target.version += 1
    target.updated_at = now
    target.save(update_fields=["version", "updated_at"])

    entries = [
        HistoryEntry(
            ticket=source,
            actor=who.user,
            actor_name=who.name,
            field=field,
            old_value=old,
            new_value=new,
            version=source.version,
            created_at=now,
        )
        for field, old, new in history
    ]
    entries += [
        HistoryEntry(
            ticket=source,
            actor=who.user,
            actor_name=who.name,
            field="merged_into",
            new_value=target.display_number,
            version=source.version,
            created_at=now,
        ),
        HistoryEntry(
            ticket=target,
            actor=who.user,
            actor_name=who.name,
            field="merged_in",
            old_value=source.display_number,
            new_value=source.title[:200],
            version=target.version,
            created_at=now,
        ),
    ]
    entries += [
        HistoryEntry(
            ticket_id=pk,
            actor=who.user,
            actor_name=who.name,
            field="parent",
            old_value=str(source),
            new_value=str(target),
            version=version,
            created_at=now,
        )
        for pk, version in children
    ]
    HistoryEntry.objects.bulk_create(entries)
    rows.insert(
        Article(
            ticket=source,
            kind=ArticleKind.NOTE,
            body_html=format_html(
                "<p>{}</p>", _("Merged into %(number)s.") % {"number": target.display_number}
            ),
            body_text=_("Merged into %(number)s.") % {"number": target.display_number},
            author=who.user,
            author_name=who.name,
            created_at=now,
        )
    )
    search.reindex_ticket(source.id)
    search.reindex_ticket(target.id)
    events.publish("ticket.merged", source=source, target=target, actor=who)
    events.publish("ticket.changed", ticket=source, actor=who, fields=changed)
    return target


# --- Time entries -------------------------------------------------------------------------------


def may_change_time_entry(user: User, entry: TimeEntry) -> bool:
    """The agent who logged the time, or an admin (the caller has checked the ticket's access)."""
    return user.is_admin or (entry.user_id is not None and entry.user_id == user.pk)


def _time_history(who: Actor, entry: TimeEntry, field: str, old: str, new: str) -> None:
    version = Ticket.objects.values_list("version", flat=True).get(pk=entry.ticket_id)
    HistoryEntry.objects.create(
        ticket_id=entry.ticket_id,
        actor=who.user,
        actor_name=who.name,
        field=field,
        old_value=old,
        new_value=new,
        version=version,
    )


# The longest a single entry may be: a week of work, as a reply's time spent.
MAX_ENTRY_MINUTES = 24 * 60 * 7


@transaction.atomic
def log_time_entry(
    actor: User,
    ticket: Ticket,
    minutes: int,
    billable: bool = True,
    worked_on: date | None = None,
    note: str = "",
) -> TimeEntry:
    """Time worked on a ticket without writing in its thread (a phone call, work on site).
    `worked_on`: the local day of the work, today when not given; never a day to come."""
    if not 0 < minutes <= MAX_ENTRY_MINUTES:
        raise TicketError(_("Log between 1 and %(max)s minutes.") % {"max": MAX_ENTRY_MINUTES})
    now = timezone.now()
    if worked_on is not None and worked_on > timezone.localdate(now):
        raise TicketError(_("Time cannot be logged on a day that has not come yet."))
    who = as_actor(actor)
    entry = _log_time(
        ticket,
        None,
        who.user,
        minutes,
        billable,
        now,
        worked_on=worked_on,
        note=note.strip(),
    )
    label = f"{entry.minutes} min {entry.worked_on.isoformat()}"
    _time_history(who, entry, "time_logged", "", label)
    return entry


@transaction.atomic
def set_time_entry_billable(actor: User, entry: TimeEntry, billable: bool) -> TimeEntry:
    if not may_change_time_entry(actor, entry):
        raise TicketError(_("Only the agent who logged the time or an admin may change it."))
    if entry.billable == billable:
        return entry
    entry.billable = billable
    entry.save(update_fields=["billable"])
    label = f"{entry.minutes} min {entry.worked_on.isoformat()}"
    _time_history(
        as_actor(actor),
        entry,
        "time_billable",
        f"{label}: {not billable}",
        f"{label}: {billable}",
    )
    return entry


@transaction.atomic
def delete_time_entry(actor: User, entry: TimeEntry) -> None:
    if not may_change_time_entry(actor, entry):
        raise TicketError(_("Only the agent who logged the time or an admin may change it."))
    label = f"{entry.minutes} min {entry.worked_on.isoformat()}"
    _time_history(as_actor(actor), entry, "time_deleted", label, "")
    entry.delete()
