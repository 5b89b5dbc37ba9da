"""The ticket core: queues, tickets, the thread (articles), attachments, history.

Every change to these rows goes through `actions.py`; models only hold data and the simple
facts derived from it.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import Team, User
from helpa.crm.models import Brand, Company, Contact, brand_allowed_q


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on contact")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses that keep a ticket in the active lists. Resolved behaves like "waiting on contact"
# but leaves the lists (ServIT's "Löst").
ACTIVE_STATUSES = [Status.NEW, Status.OPEN, Status.WAITING, Status.ON_HOLD]
DONE_STATUSES = [Status.RESOLVED, Status.CLOSED]


class LiteralIn(models.lookups.In):
    """`field__literal_in=[...]`: IN with the values written into the SQL rather than passed as
    parameters. SQLite uses a partial index (the active-ticket indexes below) only when the
    query repeats the index's condition literally. For fixed codes only, never user input."""

    lookup_name = "literal_in"

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, params = self.process_lhs(compiler, connection)
        values = [str(getattr(v, "value", v)) for v in self.rhs]
        if not all(re.fullmatch(r"[a-z_]+", v) for v in values):
            raise ValueError(f"literal_in takes plain codes only: {values!r}")
        return f"{lhs} IN ({', '.join(repr(v) for v in values)})", params


def active_q() -> Q:
    """The active tickets, written as the partial indexes' condition is (see LiteralIn)."""
    return Q(status__literal_in=ACTIVE_STATUSES)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class Channel(models.TextChoices):
    AGENT = "agent", _("Created by an agent")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    PORTAL = "portal", _("Portal")
    FORM = "form", _("Contact form")
    SMS = "sms", _("SMS")
    API = "api", _("API")


class Queue(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    teams = models.ManyToManyField(Team, related_name="queues", blank=True, verbose_name=_("teams"))
    # The brand (svarsställe) the queue answers for: its sender, signature and look, and the
    # agents limited to it. Empty: the installation's own queue, open to every agent of its teams.
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="queues",
        verbose_name=_("brand"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")

    def __str__(self) -> str:
        return self.name


class TicketType(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    instructions = models.TextField(
        _("instructions"), blank=True, help_text=_("Shown to agents on tickets of this type.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class NumberSeries(models.Model):
    """The running series ticket numbers are drawn from (one row per series name)."""

    name = models.CharField(max_length=40, unique=True)
    next_value = models.BigIntegerField(default=10001)


def visible_queue_ids(user: User) -> list[int]:
    """The queues an agent works, through their teams — of an agent limited to brands, only
    those of their brands and the unbranded ones (still one query: see brand_allowed_q)."""
    return sorted(
        set(
            Queue.objects.filter(teams__members=user)
            .filter(brand_allowed_q(user))
            .values_list("id", flat=True)
        )
    )


class TicketQuerySet(models.QuerySet["Ticket"]):
    def active(self) -> TicketQuerySet:
        return self.filter(active_q())

    def listed_for(
        self, user: User, now: datetime | None = None, *, queue_index: bool = True
    ) -> TicketQuerySet:
        """What belongs in a user's lists: what they may open, minus tickets hidden until later."""
        now = now or timezone.now()
        return self.visible_to(user, queue_index=queue_index).filter(
            Q(hidden_until__isnull=True) | Q(hidden_until__lte=now)
        )

    def visible_to(self, user: User, *, queue_index: bool = True) -> TicketQuerySet:
        """Every ticket a user may open: an admin all, an agent their teams' queues (of an
        agent limited to brands: of those brands and unbranded, see visible_queue_ids).

        The queues are read first and written into the query as a list of numbers: one tiny
        query, where a subquery over four tables made PostgreSQL spend more time planning
        each ticket query than running it.

        queue_index=False writes the queue test so that no index can serve it (queue_id + 0):
        for counting the matches of a broad full-text search, where PostgreSQL would otherwise
        first collect every ticket of the user's queues (hundreds of thousands) from the queue
        index to intersect them with the matches, only to stop at the first thousand."""
        if not user.is_authenticated or not user.is_agent:
            return self.none()
        if user.is_admin:
            qs = self
        elif queue_index:
            qs = self.filter(queue__in=visible_queue_ids(user))
        else:
            qs = self.alias(
                unindexed_queue=ExpressionWrapper(
                    F("queue_id") + 0, output_field=models.BigIntegerField()
                )
            ).filter(unindexed_queue__in=visible_queue_ids(user))
        return qs.filter(Q(is_draft=False) | Q(created_by=user))


class Ticket(models.Model):
    number = models.BigIntegerField(_("number"), unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)  # sanitised HTML
    description_text = models.TextField(blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM
    )
    type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("type")
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("category")
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, verbose_name=_("queue"))
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("team")
    )
    owner = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_tickets",
        verbose_name=_("owner"),
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("contact"),
        db_index=False,  # ticket_contact_idx below serves "contact = ?" as well
    )
    company = models.ForeignKey(
        Company,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("company"),
        db_index=False,  # ticket_company_idx below serves "company = ?" as well
    )
    due_at = models.DateTimeField(_("due date"), null=True, blank=True)
    hidden_until = models.DateTimeField(_("hidden until"), null=True, blank=True)
    on_hold_until = models.DateTimeField(_("on hold until"), null=True, blank=True)
    is_draft = models.BooleanField(_("draft"), default=False)
    channel = models.CharField(
        _("source channel"), max_length=16, choices=Channel.choices, default=Channel.AGENT
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent ticket"),
        db_index=False,  # ticket_children_idx: only the few tickets that have a parent
    )
    # Set when this ticket was merged into another (a duplicate request): it is closed, its
    # thread lives on there, and statistics count it neither as new nor as closed.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
        db_index=False,  # ticket_merged_idx: only the few merged tickets
    )
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    followers = models.ManyToManyField(User, related_name="followed_tickets", blank=True)
    # Optimistic concurrency: every change increments it; a save based on an older one is refused.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # SLA, written by automation on ticket events (see automation/sla.py): when each pending
    # target is due, the nearest of them (the overview sorts by it), when its warning begins,
    # and since when the clock stands still (Waiting, On hold). Null: no pending target.
    first_response_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_response_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True, editable=False)
    sla_warning_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Retention (automation/retention.py) never deletes or anonymises a ticket on legal hold.
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    # Set when retention replaced the ticket's personal data: kept for statistics only.
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            # The overview's default: "my open tickets", newest first (see PERFORMANCE.md).
            models.Index(
                fields=["owner", "-updated_at"],
                name="ticket_owner_active_idx",
                condition=Q(status__in=["new", "open", "waiting", "on_hold"]),
            ),
            models.Index(
                fields=["queue", "-updated_at"],
                name="ticket_queue_active_idx",
                condition=Q(status__in=["new", "open", "waiting", "on_hold"]),
            ),
            # The tiles count the active tickets of the user's queues by status, owner and due
            # date: an index-only scan over the active few percent, never the whole table.
            models.Index(
                fields=["queue", "status", "owner", "due_at"],
                name="ticket_tiles_idx",
                include=["is_draft", "created_by", "hidden_until"],
                condition=Q(status__in=["new", "open", "waiting", "on_hold"]),
            ),
            models.Index(fields=["-updated_at"], name="ticket_updated_idx"),
            # The overview's "time left" sort and the SLA job's "which warnings are due now".
            models.Index(
                fields=["sla_due_at"],
                name="ticket_sla_due_idx",
                condition=Q(status__in=["new", "open", "waiting", "on_hold"]),
            ),
            models.Index(
                fields=["sla_warning_at"],
                name="ticket_sla_warning_idx",
                condition=Q(status__in=["new", "open", "waiting", "on_hold"]),
            ),
            models.Index(fields=["status", "-updated_at"], name="ticket_status_idx"),
            models.Index(
                fields=["on_hold_until"],
                name="ticket_wake_idx",
                condition=Q(status="on_hold", on_hold_until__isnull=False),
            ),
            # A ticket's sub-tickets in number order. Partial: on an index of the whole table,
            # where nearly every parent is empty, SQLite judged "parent = ?" unselective and
            # read the whole table in number order instead.
            models.Index(
                fields=["parent", "number"],
                name="ticket_children_idx",
                condition=Q(parent__isnull=False),
            ),
            models.Index(
                fields=["merged_into"],
                name="ticket_merged_idx",
                condition=Q(merged_into__isnull=False),
            ),
            # A contact's and a company's tickets, newest first (the ticket page's sidebar,
            # their own pages): read backwards from the newest, not sorted from all of them.
            models.Index(fields=["contact", "-created_at"], name="ticket_contact_idx"),
            models.Index(fields=["company", "-created_at"], name="ticket_company_idx"),
            # Retention's daily question: a queue's tickets closed before a date.
            models.Index(
                fields=["queue", "closed_at"],
                name="ticket_closed_idx",
                condition=Q(status="closed"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    @property
    def display_number(self) -> str:
        return f"#{self.number}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_overdue(self) -> bool:
        return bool(self.due_at and self.is_active and self.due_at < timezone.now())


Ticket._meta.get_field("status").register_lookup(LiteralIn)


class ArticleKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer message")
    REPLY = "reply", _("Reply")
    NOTE = "note", _("Internal note")
    DISCUSSION = "discussion", _("Discussion post")
    SYSTEM = "system", _("System event")


# What a customer may ever see of the thread.
PUBLIC_KINDS = [ArticleKind.CUSTOMER, ArticleKind.REPLY]


class Article(models.Model):
    """One entry of a ticket's thread: from the customer, from us, or internal."""

    # Indexed by article_thread_idx (ticket, created_at), which serves every look-up by ticket:
    # a second index on the ticket alone would only cost every new entry a page.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="articles", db_index=False
    )
    kind = models.CharField(max_length=16, choices=ArticleKind.choices)
    body_html = models.TextField(blank=True)  # sanitised
    body_text = models.TextField(blank=True)  # plain rendition, for search and plain-text mail
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    author_contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    time_spent_minutes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="article_thread_idx")]

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_KINDS

    @property
    def is_from_customer(self) -> bool:
        return self.kind == ArticleKind.CUSTOMER

    @property
    def display_author(self) -> str:
        if self.author_id:
            return str(self.author)
        if self.author_contact_id:
            return str(self.author_contact.name)
        return self.author_name or "Helpa"

    @property
    def initials(self) -> str:
        if self.author_id:
            return self.author.initials
        if self.author_contact_id:
            return self.author_contact.initials
        return (self.author_name[:2] or "H").upper()


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.ticket_id}/{timezone.now():%Y%m%d%H%M%S%f}/{filename}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="attachments", null=True, blank=True
    )
    file = models.FileField(upload_to=_attachment_path, max_length=500)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=150, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    is_inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class TimeEntry(models.Model):
    """Time an agent logged on a ticket (with a reply, note or post), for invoicing and the time
    report. The ticket's queue, company and category are copied here and kept current when the
    ticket changes (reports/timeentries.py): the time report over a year of a million entries
    then reads this table alone, without joining the tickets (see bench/timereport.py)."""

    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="time_entries",
        db_index=False,  # timeentry_ticket_idx
    )
    article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="time_entries"
    )
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="time_entries"
    )
    minutes = models.PositiveIntegerField(_("minutes"))
    billable = models.BooleanField(_("billable"), default=True)
    # The local day the work was done (settings.TIME_ZONE): the report's months are local months.
    worked_on = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Copies of the ticket's, for the report (never edited on their own).
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        indexes = [
            # The report reads a period's entries. Entries arrive in the order of their days,
            # so a month is a few hundred neighbouring pages; a year is half the table, read
            # in one pass. A covering index was as large as the table and never used
            # (bench/README.md).
            models.Index(fields=["worked_on"], name="timeentry_worked_on_idx"),
            models.Index(fields=["ticket", "worked_on"], name="timeentry_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.worked_on}"


class HistoryEntry(models.Model):
    """One changed field (or one event) of a ticket: who, when, from what, to what."""

    # Indexed by history_ticket_idx (ticket, version).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="history", db_index=False
    )
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)  # rules, jobs, mail
    field = models.CharField(max_length=50)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    # The ticket version this change produced: lets a stale save show what changed since.
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "version"], name="history_ticket_idx")]

    @property
    def display_actor(self) -> str:
        return str(self.actor) if self.actor_id else (self.actor_name or "Helpa")


class Notification(models.Model):
    """An in-app notice to a colleague: a mention, an assignment, a change on a followed ticket."""

    class Kind(models.TextChoices):
        MENTION = "mention", _("Mentioned you")
        ASSIGNED = "assigned", _("Assigned to you")
        CHANGED = "changed", _("Changed")
        REPLIED = "replied", _("New message")
        SLA = "sla", _("SLA")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]


class Presence(models.Model):
    """Who has a ticket open right now, and whether they are typing (refreshed by polling)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    is_typing = models.BooleanField(default=False)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="presence_unique")]


class SavedSearch(models.Model):
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_searches")
    is_shared = models.BooleanField(_("shared with everyone"), default=False)
    query = models.CharField(max_length=2000)  # the overview's query string

    class Meta:
        ordering = ["name"]


class HelpdeskSettings(models.Model):
    """Installation-wide settings an admin changes in Helpa's settings pages (one row)."""

    class EditorMode(models.TextChoices):
        HTML = "html", _("HTML editor")
        PLAIN = "plain", _("Plain text")

    editor_mode = models.CharField(
        _("editor"), max_length=8, choices=EditorMode.choices, default=EditorMode.HTML
    )
    max_attachment_mb = models.PositiveIntegerField(_("maximum attachment size (MB)"), default=5)
    # Field name → "hidden" | "optional" | "required", for the fields listed in OPTIONAL_FIELDS.
    field_rules = models.JSONField(default=dict, blank=True)

    OPTIONAL_FIELDS = [
        "description",
        "type",
        "category",
        "team",
        "owner",
        "contact",
        "company",
        "due_at",
        "hidden_until",
    ]

    @classmethod
    def load(cls) -> HelpdeskSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def rule_for(self, field: str) -> str:
        return str(self.field_rules.get(field, "optional"))

    @property
    def max_attachment_bytes(self) -> int:
        return self.max_attachment_mb * 1024 * 1024
