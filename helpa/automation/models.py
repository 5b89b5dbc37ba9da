"""Rules (ServIT's "filter", HIT's rule-based classification): lines that must all hold, and
actions that then change the ticket through the ticket actions, with the rule as author.

A rule runs on a new ticket, on a customer's reply, and/or on time (the worker looks at existing
tickets every minute). `RuleFiring` remembers that a time rule fired on a ticket, so it fires
once per episode of its condition, not every minute.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import Team, User
from helpa.crm.models import Brand, Company
from helpa.tickets.models import Category, Priority, Queue, Status, Ticket, TicketType


class Event(models.TextChoices):
    NEW = "new", _("New ticket")
    REPLY = "reply", _("Reply from the customer")
    TIME = "time", _("Existing tickets (checked every minute)")


class Field(models.TextChoices):
    SUBJECT = "subject", _("Subject")
    BODY = "body", _("Text")
    FROM = "from", _("From")
    TO_CC = "to_cc", _("To/Cc")
    CHANNEL = "channel", _("Source channel")
    STATUS = "status", _("Status")
    QUEUE = "queue", _("Queue")
    PRIORITY = "priority", _("Priority")
    TYPE = "type", _("Type")
    CATEGORY = "category", _("Category")
    COMPANY = "company", _("Company")
    MINUTES_SINCE_CREATED = "minutes_since_created", _("Minutes since created")
    MINUTES_SINCE_CHANGED = "minutes_since_changed", _("Minutes since the last change")
    MINUTES_SINCE_CUSTOMER = (
        "minutes_since_customer_message",
        _("Minutes since the last customer message"),
    )


# Fields whose values are words and phrases; they may share a line. Every other field stands
# alone in its line (a status is not a word in a subject).
WORD_FIELDS = {Field.SUBJECT, Field.BODY, Field.FROM, Field.TO_CC}
MINUTE_FIELDS = {
    Field.MINUTES_SINCE_CREATED,
    Field.MINUTES_SINCE_CHANGED,
    Field.MINUTES_SINCE_CUSTOMER,
}


class ActionKind(models.TextChoices):
    SET_PRIORITY = "set_priority", _("Set priority")
    SET_TYPE = "set_type", _("Set type")
    SET_CATEGORY = "set_category", _("Set category")
    SET_QUEUE = "set_queue", _("Move to queue")
    SET_TEAM = "set_team", _("Set team")
    SET_OWNER = "set_owner", _("Set owner")
    SET_STATUS = "set_status", _("Set status")
    ADD_FOLLOWER = "add_follower", _("Add a follower")
    ADD_NOTE = "add_note", _("Add an internal note")
    AUTO_REPLY = "send_auto_reply", _("Send an auto-reply with this text")
    SUPPRESS_AUTO_REPLY = "suppress_auto_reply", _("Send no auto-reply")
    FORCE_NEW_TICKET = "force_new_ticket", _("Always create a new ticket (for replies)")
    ALARM = "raise_alarm", _("Raise an alarm by mail")
    SMS_ALARM = "raise_sms_alarm", _("Raise an alarm by SMS")
    APPLY_TEMPLATE = "apply_template", _("Apply a template")


class RuleQuerySet(models.QuerySet["Rule"]):
    def for_event(self, event: str, queue_id: int | None = None) -> RuleQuerySet:
        """The active rules of an event, in the order they are tried. `queue_id` None: every
        rule (the time scan, which looks at each rule's own queue and brand)."""
        qs = self.filter(is_active=True, **{f"on_{event}": True})
        if queue_id is not None:
            qs = qs.filter(Q(queue__isnull=True) | Q(queue_id=queue_id)).filter(
                Q(brand__isnull=True)
                | Q(brand_id__in=Queue.objects.filter(pk=queue_id).values("brand_id"))
            )
        return qs.order_by("weight", "name")


class Rule(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("notes for admins"), blank=True)
    weight = models.IntegerField(
        _("weight"), default=10, help_text=_("Rules are tried from the lowest weight up.")
    )
    is_active = models.BooleanField(_("active"), default=False)
    on_new = models.BooleanField(_("new tickets"), default=True)
    on_reply = models.BooleanField(_("replies from the customer"), default=False)
    on_time = models.BooleanField(_("existing tickets, every minute"), default=False)
    # Empty: every queue. The brand scope narrows it to the queues of one brand.
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("queue"),
    )
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("brand"),
        help_text=_("Empty: every brand. Else only tickets of this brand's queues."),
    )
    continue_matching = models.BooleanField(
        _("continue"),
        default=False,
        help_text=_("After this rule's actions, go on trying the rules below it."),
    )
    hit_count = models.PositiveIntegerField(_("hits"), default=0)
    last_hit_at = models.DateTimeField(_("last hit"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["weight", "name"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        indexes = [models.Index(fields=["is_active", "weight", "name"], name="rule_order_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def events(self) -> list[str]:
        return [e for e in Event.values if getattr(self, f"on_{e}")]


class RuleLine(models.Model):
    """One condition: one of the values in one of the fields (OR); negated: none of them."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    fields = models.JSONField(default=list)  # Field values
    values = models.JSONField(default=list)  # strings, as the admin wrote them
    negate = models.BooleanField(_("not"), default=False)

    class Meta:
        ordering = ["position", "id"]


class RuleAction(models.Model):
    """What a matching rule does. The referenced row is a foreign key, so a queue or team a rule
    uses cannot be deleted from under it."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveIntegerField(default=0)
    action = models.CharField(max_length=32, choices=ActionKind.choices)
    # set_priority, set_status: the code; add_note, send_auto_reply, raise_alarm: the text.
    value = models.TextField(blank=True)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, null=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, null=True, related_name="+"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, related_name="+")
    template = models.ForeignKey(
        "TicketTemplate", on_delete=models.PROTECT, null=True, related_name="+"
    )
    # raise_alarm: mail addresses; raise_sms_alarm: phone numbers (E.164)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]


class RuleFiring(models.Model):
    """A time rule's current episode on a ticket: it fired, and its condition still holds.
    Removed when the condition stops holding, so the next episode fires again. Unique: two
    workers scanning at once fire it once."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "ticket"], name="rulefiring_unique")]


# --- Templates and canned responses -----------------------------------------------------------


class TicketTemplate(models.Model):
    """A ready-made ticket (PP7's and ServIT's "mall"): the fields a new ticket starts with, the
    steps the agent follows, a solution text, and sub-tickets — each a template of its own."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    title = models.CharField(_("ticket title"), max_length=200)
    ticket_type = models.ForeignKey(
        TicketType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("type"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    description = models.TextField(_("description"), blank=True)  # sanitised HTML
    solution = models.TextField(
        _("solution"),
        blank=True,
        help_text=_("A text the agent can put into the reply when the work is done."),
    )
    instructions = models.TextField(
        _("instructions for the agent"),
        blank=True,
        help_text=_(
            "Step by step, one step per line. Shown beside the ticket, never to customers."
        ),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("queue"),
        help_text=_("Empty: the agent chooses; sub-tickets then follow their main ticket."),
    )
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("brand"),
        help_text=_("Empty: every brand. Else offered only on tickets of this brand's queues."),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    owner = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    sub_templates = models.ManyToManyField(
        "self",
        through="SubTicketTemplate",
        through_fields=("template", "sub_template"),
        symmetrical=False,
        related_name="used_as_sub_ticket_in",
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ticket template")
        verbose_name_plural = _("ticket templates")

    def __str__(self) -> str:
        return self.name

    @property
    def steps(self) -> list[str]:
        return [line.strip() for line in self.instructions.splitlines() if line.strip()]


class SubTicketTemplate(models.Model):
    """A sub-ticket a template creates along with its main ticket, in this order."""

    template = models.ForeignKey(
        TicketTemplate, on_delete=models.CASCADE, related_name="sub_ticket_links"
    )
    sub_template = models.ForeignKey(TicketTemplate, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "sub_template"], name="subtemplate_unique")
        ]


class TemplateUse(models.Model):
    """Which template a ticket was made from (or had applied): its instructions and solution
    are shown beside the ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(TicketTemplate, on_delete=models.CASCADE, related_name="uses")
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "template"], name="templateuse_unique")
        ]


class CannedResponse(models.Model):
    """A named text for replies, with placeholders filled for the ticket at hand."""

    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(
        _("text"),
        help_text=_(
            "Placeholders: {{contact.name}}, {{contact.first_name}}, {{company.name}}, "
            "{{ticket.number}}, {{ticket.title}}, {{ticket.link}}, {{agent.name}}, "
            "{{agent.first_name}}."
        ),
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("queue"),
        help_text=_("Empty: offered on every queue's tickets."),
    )
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("brand"),
        help_text=_("Empty: every brand. Else offered only on tickets of this brand's queues."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        constraints = [
            models.UniqueConstraint(fields=["name", "queue"], name="canned_name_queue_unique"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(queue__isnull=True), name="canned_global_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    """Python's numbering (date.weekday()): Monday is 0."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


# --- Business calendars and SLA -----------------------------------------------------------------


class HolidayCountry(models.TextChoices):
    NONE = "", _("No public holidays")
    SE = "SE", _("Sweden")
    NO = "NO", _("Norway")
    DK = "DK", _("Denmark")
    FI = "FI", _("Finland")


def _office_hours() -> list[list[list[int]]]:
    return [[[8 * 60, 17 * 60]] for _day in range(5)] + [[], []]


class BusinessCalendar(models.Model):
    """When the desk is open (see calendars.py): opening hours per weekday, a country's public
    holidays closed, exceptions. One calendar is the default; a queue may have its own."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default calendar"), default=False)
    holiday_country = models.CharField(
        _("public holidays"), max_length=2, blank=True, choices=HolidayCountry.choices
    )
    # Seven lists of [start, end] in minutes after midnight, Monday first; end 1440 = midnight.
    hours = models.JSONField(_("opening hours"), default=_office_hours)
    queues = models.ManyToManyField(
        Queue, through="CalendarQueue", related_name="+", blank=True, verbose_name=_("queues")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="calendar_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CalendarQueue(models.Model):
    """A queue's own calendar (a queue without one uses the default)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="+")
    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="+")


class CalendarException(models.Model):
    """Open or closed on a date or on a weekday, all day or from–to. Tried top-down: the first
    that covers a moment decides it."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions"
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    is_open = models.BooleanField(_("open"), default=False)
    on_date = models.DateField(_("date"), null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        null=True,
        blank=True,
        choices=Weekday.choices,
    )
    start_time = models.TimeField(_("from"), null=True, blank=True)
    end_time = models.TimeField(_("to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["position", "id"]


class SLATarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SLAPolicy(models.Model):
    """Targets for the tickets its conditions pick (all that are set must hold; an empty one
    holds for every ticket). Policies are tried in order; the first that matches counts."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)  # Priority values
    queues = models.ManyToManyField(Queue, related_name="+", blank=True, verbose_name=_("queues"))
    companies = models.ManyToManyField(
        Company, related_name="+", blank=True, verbose_name=_("companies")
    )
    brands = models.ManyToManyField(Brand, related_name="+", blank=True, verbose_name=_("brands"))
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("calendar"),
        help_text=_("Empty: the ticket's queue's calendar, or the default calendar."),
    )
    pause_on_waiting = models.BooleanField(_("pause while waiting on the contact"), default=True)
    pause_on_hold = models.BooleanField(_("pause while on hold"), default=True)
    warning_minutes = models.PositiveIntegerField(
        _("warn this many business minutes before"), default=30
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class SLAEvent(models.Model):
    """A warning sent or a breach recorded for one target of a ticket. Unique, so that two
    workers checking at once do it once."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=16, choices=SLATarget.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target", "kind"], name="slaevent_unique")
        ]


class SLAOutcome(models.Model):
    """How a target of a ticket ended: met (`met_at`) or breached, for the SLA report. Written
    by sla.py in the transaction where the target ends: when it is met (first agent reply,
    resolution) and when the worker records its breach. A breached target met later keeps
    `breached` and gets `met_at`. Met means `met_at <= due_at`. First response and resolution
    only (one each per ticket); next-response targets recur with every customer message."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=16, choices=SLATarget.choices)
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    breached = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target"], name="slaoutcome_unique")
        ]
        indexes = [models.Index(fields=["due_at", "target"], name="slaoutcome_due_idx")]

    @property
    def is_met(self) -> bool:
        return self.met_at is not None and self.met_at <= self.due_at


# --- Recurring tickets --------------------------------------------------------------------------


class Frequency(models.TextChoices):
    DAILY = "daily", _("Every N days")
    WEEKLY = "weekly", _("Every N weeks, on chosen weekdays")
    MONTHLY = "monthly", _("Every N months, on a day of the month")


class RecurringTicket(models.Model):
    """A schedule that opens a ticket from a template — or, for an existing ticket (ServIT's
    "återkommande ärende"), sets it back to New or Open — at each due time. Times are wall-clock
    times in the installation's time zone, so 08:00 stays 08:00 across a change to summer time."""

    name = models.CharField(_("name"), max_length=200)
    template = models.ForeignKey(
        TicketTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="schedules",
        verbose_name=_("template"),
    )
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ticket"),
    )
    reopen_status = models.CharField(
        _("set back to"),
        max_length=16,
        choices=[(Status.NEW, Status.NEW.label), (Status.OPEN, Status.OPEN.label)],
        default=Status.OPEN,
    )
    frequency = models.CharField(
        _("repeats"), max_length=16, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    interval = models.PositiveSmallIntegerField(_("every"), default=1)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # 0 = Monday
    day_of_month = models.PositiveSmallIntegerField(
        _("day of the month"),
        null=True,
        blank=True,
        help_text=_("31 means the last day in shorter months."),
    )
    time_of_day = models.TimeField(_("at"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    next_run_at = models.DateTimeField(_("next"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("last"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("recurring ticket")
        verbose_name_plural = _("recurring tickets")
        indexes = [models.Index(fields=["is_active", "next_run_at"], name="recurring_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(template__isnull=False) | Q(ticket__isnull=False),
                name="recurring_template_or_ticket",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RecurringRun(models.Model):
    """One due time of a schedule, done. Unique: two workers never act twice on one due time."""

    schedule = models.ForeignKey(RecurringTicket, on_delete=models.CASCADE, related_name="runs")
    due_at = models.DateTimeField()
    ran_at = models.DateTimeField(default=timezone.now)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "due_at"], name="recurringrun_unique")
        ]


# --- Reminders, auto-resolve and retention (per queue) ----------------------------------------


class RetentionAction(models.TextChoices):
    ANONYMISE = "anonymise", _("Anonymise (keep for statistics)")
    DELETE = "delete", _("Delete")


class QueuePolicy(models.Model):
    """A queue's reminders and retention. No row, or an empty number: that part is off."""

    queue = models.OneToOneField(
        Queue, on_delete=models.CASCADE, related_name="policy", verbose_name=_("queue")
    )
    remind_after_days = models.PositiveIntegerField(
        _("remind after (days)"),
        null=True,
        blank=True,
        help_text=_(
            "Mail the contact a reminder when a ticket has waited on them this many days. "
            "Empty: no reminders."
        ),
    )
    resolve_after_days = models.PositiveIntegerField(
        _("resolve after (more days)"),
        null=True,
        blank=True,
        help_text=_(
            "Resolve the ticket when the contact has not answered this many days after the "
            "reminder. Empty: never automatically."
        ),
    )
    reminder_text = models.TextField(
        _("reminder text"),
        blank=True,
        help_text=_("Placeholders: {number}, {title}, {link}. Empty: the standard text."),
    )
    retention_days = models.PositiveIntegerField(
        _("retention (days after closing)"),
        null=True,
        blank=True,
        help_text=_("Remove tickets closed longer ago than this. Empty: keep them for ever."),
    )
    retention_action = models.CharField(
        _("then"),
        max_length=10,
        choices=RetentionAction.choices,
        default=RetentionAction.ANONYMISE,
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("queue reminders and retention")

    def __str__(self) -> str:
        return str(self.queue)

    @property
    def reminders_on(self) -> bool:
        return bool(self.remind_after_days)

    @property
    def retention_on(self) -> bool:
        return bool(self.retention_days)


class Reminder(models.Model):
    """One wait of a ticket on its contact that was reminded: unique per ticket and wait (the
    moment the ticket entered Waiting), so two workers remind once and a new wait may remind
    again. `mail` is None when no mail could go out (no address, the address bounced, the
    automatic-mail caps): such a wait is not resolved automatically. `done_at`: the countdown
    to resolving ended (resolved, or the wait was found over)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    wait_started_at = models.DateTimeField()
    reminded_at = models.DateTimeField(default=timezone.now)
    mail = models.ForeignKey(
        "mail.OutgoingMail", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "wait_started_at"], name="reminder_unique")
        ]
        indexes = [
            models.Index(
                fields=["reminded_at"],
                name="reminder_open_idx",
                condition=Q(done_at__isnull=True, mail__isnull=False),
            )
        ]


class RetentionRun(models.Model):
    """What one retention run did to one queue: counts and dates, never what the tickets said."""

    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    queue_name = models.CharField(_("queue"), max_length=100)
    action = models.CharField(_("action"), max_length=10, choices=RetentionAction.choices)
    closed_before = models.DateTimeField(_("closed before"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    count = models.PositiveIntegerField(_("tickets"), default=0)
    held = models.PositiveIntegerField(_("kept on legal hold"), default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
