"""Satisfaction surveys: profiles (what to ask, when, of whom), the block list, one invitation
per closed ticket, and at most one answer per invitation.

An answer keeps the ticket's owner, team, queue and brand as they were when the customer
answered: a report of last year's CSAT per agent must not change when a ticket is reassigned or
moved today.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import Team, User
from helpa.automation.models import TicketTemplate
from helpa.crm.models import Brand, Contact
from helpa.mail.models import OutgoingMail
from helpa.tickets.models import Queue, Ticket

CSAT_MIN, CSAT_MAX = 1, 5
NPS_MIN, NPS_MAX = 0, 10
COMMENT_MAX = 2000


class SurveyProfile(models.Model):
    """What a survey asks and when. Which profile a closed ticket gets, most specific first: a
    profile tied to a template the ticket was made from (or had applied), else an untied profile
    of the ticket's brand, else the general one (untied, no brand)."""

    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    ask_csat = models.BooleanField(_("ask for satisfaction (CSAT, 1–5)"), default=True)
    ask_nps = models.BooleanField(
        _("ask how likely they are to recommend us (NPS, 0–10)"), default=False
    )
    ask_comment = models.BooleanField(_("ask for a comment"), default=True)
    invitation_text = models.TextField(
        _("text of the invitation"),
        blank=True,
        help_text=_(
            "Empty: the standard text. Placeholders: {name}, {number}, {title}. The link to "
            "the survey is added below the text."
        ),
    )
    delay_hours = models.PositiveIntegerField(
        _("hours after closing"),
        default=24,
        validators=[MaxValueValidator(24 * 60)],
        help_text=_("The invitation is sent this long after the ticket was closed."),
    )
    templates = models.ManyToManyField(
        TicketTemplate,
        blank=True,
        related_name="+",
        verbose_name=_("ticket templates"),
        help_text=_("Empty: a general profile, for tickets that no tied profile covers."),
    )
    brand = models.ForeignKey(
        Brand,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("brand"),
        help_text=_("Empty: every brand."),
    )
    min_days_between = models.PositiveIntegerField(
        _("not more often than every (days)"),
        default=30,
        validators=[MaxValueValidator(3650)],
        help_text=_("An address gets at most one invitation in this many days."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("survey profile")
        verbose_name_plural = _("survey profiles")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not (self.ask_csat or self.ask_nps or self.ask_comment):
            raise ValidationError(_("Choose at least one question."))


class SurveyBlock(models.Model):
    """An address (carl@example.com) or a whole domain (example.com) never invited."""

    value = models.CharField(_("address or domain"), max_length=254, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["value"]

    def __str__(self) -> str:
        return self.value

    @property
    def is_domain(self) -> bool:
        return "@" not in self.value


class SurveyInvitation(models.Model):
    """The one invitation a ticket ever gets (the unique ticket), or the record of why it got
    none (`skipped`): a skipped ticket is decided once, not looked at again every five minutes."""

    class Skipped(models.TextChoices):
        NO = "", _("Sent")
        BLOCKED = "blocked", _("Address on the block list")
        RECENT = "recent", _("Asked recently")
        MAIL_LIMIT = "mail_limit", _("Mail limits for the address")

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(
        SurveyProfile, on_delete=models.SET_NULL, null=True, related_name="invitations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, related_name="+")
    # The ticket's queue when invited: the response rate is scoped like the answers, without
    # joining the tickets table.
    queue = models.ForeignKey(Queue, on_delete=models.SET_NULL, null=True, related_name="+")
    address = models.CharField(max_length=254, blank=True, db_index=True)
    # SHA-256 of the link's token (helpa/lib/tokens.py); "" for a skipped ticket.
    token_hash = models.CharField(max_length=64, blank=True, default="")
    skipped = models.CharField(max_length=12, choices=Skipped.choices, blank=True, default="")
    mail = models.ForeignKey(
        OutgoingMail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="survey_invitation_created_idx"),
            models.Index(fields=["queue", "created_at"], name="survey_invitation_queue_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~Q(token_hash=""),
                name="survey_invitation_token_unique",
            )
        ]

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or timezone.now()) >= self.expires_at


class SurveyAnswer(models.Model):
    """A customer's submitted answer: once per invitation (the unique invitation)."""

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="answer"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    csat = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(CSAT_MIN), MaxValueValidator(CSAT_MAX)],
    )
    nps = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(NPS_MIN), MaxValueValidator(NPS_MAX)],
    )
    comment = models.TextField(blank=True, max_length=COMMENT_MAX)
    answered_at = models.DateTimeField(default=timezone.now)
    # Who and where at answer time (see the module docstring).
    agent = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.SET_NULL, null=True, related_name="+")
    brand = models.ForeignKey(Brand, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["answered_at"], name="survey_answer_at_idx"),
            models.Index(fields=["queue", "answered_at"], name="survey_answer_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=CSAT_MIN, csat__lte=CSAT_MAX),
                name="survey_answer_csat_range",
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | Q(nps__gte=NPS_MIN, nps__lte=NPS_MAX),
                name="survey_answer_nps_range",
            ),
        ]
