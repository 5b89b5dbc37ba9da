"""The SMS channel: the installation's provider account, keyword routing, every SMS received
(kept whatever became of it) and the outbox of SMS to send."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.tickets.models import Article, Queue, Ticket


class Provider(models.TextChoices):
    NONE = "", _("Off (no SMS)")
    ELKS = "46elks", "46elks"
    TWILIO = "twilio", "Twilio"


# The providers' own API addresses. An admin may point Helpa elsewhere (a provider's test
# environment, a proxy); the tests point it at a fake provider on 127.0.0.1.
DEFAULT_API_URLS = {
    Provider.ELKS: "https://api.46elks.com/a1",
    Provider.TWILIO: "https://api.twilio.com/2010-04-01",
}


class SmsSettings(models.Model):
    """One row: the installation's SMS account and how incoming SMS become tickets."""

    provider = models.CharField(
        _("provider"), max_length=16, choices=Provider.choices, blank=True, default=""
    )
    api_url = models.URLField(
        _("API address"),
        blank=True,
        help_text=_("Leave empty for the provider's own address."),
    )
    # 46elks: API username and password. Twilio: Account SID and Auth Token (which also signs
    # the requests Twilio sends us).
    account = models.CharField(_("API username / Account SID"), max_length=100, blank=True)
    secret = models.CharField(_("API password / Auth Token"), max_length=200, blank=True)
    sender = models.CharField(
        _("sender"),
        max_length=20,
        blank=True,
        help_text=_("Your SMS number (+46…) or a name of at most 11 letters and digits."),
    )
    # 46elks signs nothing: its requests prove themselves by a secret in the address we give
    # it. Only the hash is kept; the address is shown once when made.
    inbound_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    default_queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("queue for SMS without a keyword"),
    )
    thread_days = models.PositiveSmallIntegerField(
        _("join the sender's open ticket from the last (days)"),
        default=7,
        help_text=_("0: every SMS starts a new ticket."),
    )
    signature = models.CharField(
        _("signature"),
        max_length=60,
        blank=True,
        help_text=_("Added to the end of every SMS reply, e.g. “/Support, Example AB”."),
    )

    class Meta:
        verbose_name = _("SMS settings")

    def __str__(self) -> str:
        return str(_("SMS settings"))

    @classmethod
    def load(cls) -> SmsSettings:
        obj, _created = cls.objects.select_related("default_queue").get_or_create(pk=1)
        return obj

    @property
    def is_on(self) -> bool:
        return bool(self.provider and self.account and self.secret and self.sender)

    @property
    def base_api_url(self) -> str:
        return (self.api_url or DEFAULT_API_URLS.get(self.provider, "")).rstrip("/")


class SmsKeyword(models.Model):
    """An SMS whose first word is the keyword goes to the keyword's queue (and so its brand):
    “FAKTURA my bill is wrong” → the invoicing queue."""

    keyword = models.CharField(_("keyword"), max_length=30, unique=True)  # stored upper case
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, verbose_name=_("queue"))

    class Meta:
        ordering = ["keyword"]
        verbose_name = _("SMS keyword")
        verbose_name_plural = _("SMS keywords")

    def __str__(self) -> str:
        return self.keyword


class InboundSms(models.Model):
    """Every SMS a provider delivered to us, kept whatever became of it: the ticket it joined
    and why, or the error that stopped it (an admin can process it again)."""

    class State(models.TextChoices):
        STORED = "stored", _("Stored on a ticket")
        FAILED = "failed", _("Failed")

    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    provider_id = models.CharField(_("provider's id"), max_length=64)
    sender = models.CharField(_("from"), max_length=40)
    recipient = models.CharField(_("to"), max_length=40, blank=True)
    text = models.TextField(_("text"), blank=True)
    payload = models.JSONField(default=dict)  # what the provider sent, as received
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    error = models.CharField(_("error"), max_length=500, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    article = models.OneToOneField(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_sms"
    )
    decision = models.CharField(_("threading"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("received SMS")
        verbose_name_plural = _("received SMS")
        constraints = [
            # A provider retries a webhook it thinks failed: the same SMS is stored once.
            models.UniqueConstraint(fields=["provider", "provider_id"], name="inbound_sms_once")
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"


class OutgoingSms(models.Model):
    """The outbox: written in the transaction of the reply or alarm, sent by the worker with
    retries; the provider's delivery report moves it on to delivered or failed."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        ALARM = "alarm", _("Alarm")
        TEST = "test", _("Test")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, null=True, blank=True, related_name="outgoing_sms"
    )
    recipient = models.CharField(_("to"), max_length=20)  # E.164
    text = models.TextField(_("text"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(_("error"), max_length=500, blank=True)
    provider = models.CharField(max_length=16, blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("outgoing SMS")
        verbose_name_plural = _("outgoing SMS")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="sms_outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.text[:40]}"
