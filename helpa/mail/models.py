"""The mail channel's data: which addresses and mailboxes feed which queue, every message that
came in (raw, as received), every message we send (the outbox), and the installation's limits.

Inbound: every way in (IMAP, POP3, the Postfix pipe, the SMTP receiver, the HTTP webhook, file
import) ends in `ingest.ingest_message` (or `ingest.Batch`, several to a transaction), which
writes one `InboundMail` row with the raw bytes in the same transaction as the ticket article it
makes. Outbound: a reply writes an
`OutgoingMail` row in the reply's transaction; the worker sends it (see `outbox.py`).
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.crm.models import Brand, Contact
from helpa.lib.recent import RecentlyRead
from helpa.tickets.models import Article, LiteralIn, Queue, Ticket

# Settings rows every message reads, at most a few seconds old (see MailSettings.cached).
_recent = RecentlyRead()


class MailSettings(models.Model):
    """Installation-wide mail settings (one row)."""

    max_message_mb = models.PositiveIntegerField(_("maximum message size (MB)"), default=10)
    # Loop protection: at most this many automatic mails (auto-replies, notices) to one address
    # per ticket, and per address over the last 24 hours.
    auto_mails_per_ticket = models.PositiveIntegerField(default=3)
    auto_mails_per_day = models.PositiveIntegerField(default=20)
    # The general closing greeting and signature: used when neither the agent nor the brand
    # has one. Order: personal per brand → brand → personal → general (M6).
    closing_greeting = models.TextField(_("closing greeting"), blank=True)
    signature = models.TextField(_("signature"), blank=True)

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _recent.forget()

    @classmethod
    def load(cls) -> MailSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    @classmethod
    def cached(cls) -> MailSettings:
        """The settings as the mail pipeline reads them: from a per-process copy at most a few
        seconds old (saving one query per message); a save in this process is seen at once."""
        return _recent.get(("settings", 0), cls.load)

    @property
    def max_message_bytes(self) -> int:
        return self.max_message_mb * 1024 * 1024


class QueueMail(models.Model):
    """How one queue handles mail: new mail, auto-reply, outgoing server, contact notices."""

    class NewMail(models.TextChoices):
        CREATE = "create", _("Create tickets automatically")
        REVIEW = "review", _("Hold new mail for manual review")

    class ContactNotices(models.TextChoices):
        NEVER = "never", _("Never")
        LINK = "link", _("A link to the ticket only")
        FULL = "full", _("The full message")

    class Security(models.TextChoices):
        NONE = "none", _("None")
        STARTTLS = "starttls", _("STARTTLS")
        TLS = "tls", _("TLS")

    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="mail")
    new_mail = models.CharField(
        _("new mail"), max_length=8, choices=NewMail.choices, default=NewMail.CREATE
    )
    auto_reply = models.BooleanField(_("auto-reply to new tickets"), default=True)
    auto_reply_subject = models.CharField(_("auto-reply subject"), max_length=200, blank=True)
    auto_reply_body = models.TextField(
        _("auto-reply text"),
        blank=True,
        help_text=_("Placeholders: {number}, {title}, {link}. Empty: the standard text."),
    )
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)
    contact_notices = models.CharField(
        _("notify contacts"),
        max_length=8,
        choices=ContactNotices.choices,
        default=ContactNotices.FULL,
    )
    confirm_before_sending = models.BooleanField(_("confirm before sending"), default=False)
    smtp_host = models.CharField(_("SMTP server"), max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), null=True, blank=True)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=8, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(_("SMTP user name"), max_length=200, blank=True)
    smtp_password = models.CharField(_("SMTP password"), max_length=200, blank=True)
    # The inbound webhook's secret, stored as a SHA-256 hex digest; shown once when created.
    webhook_secret_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("queue mail settings")

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _recent.forget()

    @classmethod
    def for_queue(cls, queue: Queue) -> QueueMail:
        obj, _created = cls.objects.get_or_create(queue=queue)
        return obj

    @classmethod
    def cached_for(cls, queue: Queue) -> QueueMail:
        """Like `for_queue`, from a per-process copy at most a few seconds old."""
        return _recent.get(("queue", queue.pk), lambda: cls.for_queue(queue))


class MailAddress(models.Model):
    """An address bound to a queue: mail to it becomes the queue's tickets (M1)."""

    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="mail_addresses", verbose_name=_("queue")
    )
    address = models.EmailField(_("address"), unique=True)  # stored lower-case
    # The address replies are sent from; one per queue.
    is_sender = models.BooleanField(_("send replies from this address"), default=False)

    class Meta:
        ordering = ["address"]
        verbose_name = _("mail address")
        verbose_name_plural = _("mail addresses")

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)
        _recent.forget()

    def delete(self, *args, **kwargs) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        _recent.forget()
        return deleted

    @classmethod
    def sender_of(cls, queue: Queue, brand_address: str = "") -> str | None:
        """The address a queue's mail goes out from: the queue's own sender address (marked
        "send replies from this address"), else its brand's sender address, else the queue's
        first address. None: the installation's (DEFAULT_FROM_EMAIL)."""
        row = (
            cls.objects.filter(queue=queue)
            .order_by("-is_sender", "id")
            .values_list("address", "is_sender")
            .first()
        )
        if row is not None and row[1]:
            return row[0]
        return brand_address.strip().lower() or (row[0] if row else None)

    @classmethod
    def cached_sender_of(cls, queue: Queue, brand_address: str = "") -> str | None:
        """Like `sender_of`, from a per-process copy at most a few seconds old (the mail
        pipeline's auto-replies, like `QueueMail.cached_for`)."""
        return _recent.get(
            ("sender", queue.pk, brand_address), lambda: cls.sender_of(queue, brand_address)
        )

    @classmethod
    def cached_addresses(cls) -> frozenset[str]:
        """Every address bound to a queue (our own), from a per-process copy at most a few
        seconds old: the pipeline asks for every message."""
        return _recent.get(
            ("addresses", 0), lambda: frozenset(cls.objects.values_list("address", flat=True))
        )


class Mailbox(models.Model):
    """An IMAP or POP3 account polled by the worker."""

    class Protocol(models.TextChoices):
        IMAP = "imap", "IMAP"
        POP3 = "pop3", "POP3"

    class Auth(models.TextChoices):
        PASSWORD = "password", _("Password")
        XOAUTH2 = "xoauth2", _("OAuth 2 (Microsoft 365, Google)")

    class AfterImport(models.TextChoices):
        KEEP = "keep", _("Keep on the server (marked as read)")
        DELETE = "delete", _("Delete from the server")
        MOVE = "move", _("Move to another folder")

    name = models.CharField(_("name"), max_length=100)
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("queue")
    )
    protocol = models.CharField(
        _("protocol"), max_length=8, choices=Protocol.choices, default=Protocol.IMAP
    )
    host = models.CharField(_("server"), max_length=200)
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    security = models.CharField(
        _("security"), max_length=8, choices=QueueMail.Security.choices, default="tls"
    )
    # Off only for a server with a self-signed certificate on a network the admin trusts.
    verify_tls = models.BooleanField(_("check the server's certificate"), default=True)
    username = models.CharField(_("user name"), max_length=200)
    auth = models.CharField(_("sign-in"), max_length=8, choices=Auth.choices, default=Auth.PASSWORD)
    password = models.CharField(_("password"), max_length=200, blank=True)
    # XOAUTH2: the token endpoint and client of the provider; the refresh token is renewed
    # whenever the provider returns a new one.
    oauth_token_url = models.URLField(_("OAuth token URL"), blank=True)
    oauth_client_id = models.CharField(_("OAuth client id"), max_length=200, blank=True)
    oauth_client_secret = models.CharField(_("OAuth client secret"), max_length=500, blank=True)
    oauth_scope = models.CharField(_("OAuth scope"), max_length=500, blank=True)
    oauth_refresh_token = models.TextField(blank=True)
    oauth_access_token = models.TextField(blank=True)
    oauth_expires_at = models.DateTimeField(null=True, blank=True)
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    after_import = models.CharField(
        _("after import"), max_length=8, choices=AfterImport.choices, default=AfterImport.KEEP
    )
    move_to_folder = models.CharField(_("move to folder"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # IMAP: UIDs are only meaningful within one UIDVALIDITY; when the server changes it, every
    # message is looked at again (and de-duplicated by Message-ID).
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set while a process polls the mailbox (the worker or `helpa fetchmail`); a process that
    # dies while polling leaves it behind, so it expires rather than blocking polls forever.
    polling_until = models.DateTimeField(null=True, blank=True, editable=False)
    polled_by = models.CharField(max_length=300, blank=True, editable=False)  # "host:pid"

    class Meta:
        ordering = ["name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.name


class FetchedMessage(models.Model):
    """A message of a mailbox already imported (IMAP UID within UIDVALIDITY, or POP3 UIDL), so
    a mailbox that keeps its mail is not downloaded again on every poll."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="fetched")
    server_id = models.CharField(max_length=200)  # "<uidvalidity>:<uid>" or the UIDL
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "server_id"], name="fetched_unique")
        ]


def _raw_path(instance: models.Model, filename: str) -> str:
    return f"mail/{timezone.now():%Y/%m/%d}/{uuid.uuid4().hex}.eml"


def save_raw(file: FieldFile, data: bytes) -> None:
    """Store a message's bytes in a `raw` field (upload_to=_raw_path), not saving the row. Its
    name is a fresh UUID, so on the file system the file is written straight away: storage's search
    for a free name and its directory check on every save would cost more than the write.
    The directory is made only when the write finds it missing; another storage, or a name
    that exists after all, takes the ordinary way."""
    storage = file.storage
    if storage.__class__ is not FileSystemStorage:  # (a subclass may store elsewhere)
        file.save("message.eml", ContentFile(data), save=False)
        return
    name = _raw_path(file.instance, "message.eml")
    path = storage.path(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:
            _make_directory(storage, os.path.dirname(path))
            fd = os.open(path, flags, 0o666)
    except FileExistsError:
        file.save("message.eml", ContentFile(data), save=False)
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if storage.file_permissions_mode is not None:
            os.chmod(path, storage.file_permissions_mode)
    except BaseException:
        os.unlink(path)
        raise
    file.name = name
    setattr(file.instance, file.field.attname, name)
    file._committed = True


def _make_directory(storage: FileSystemStorage, directory: str) -> None:
    """As FileSystemStorage makes it (with its directory permissions, when set)."""
    mode = storage.directory_permissions_mode
    if mode is None:
        os.makedirs(directory, exist_ok=True)
        return
    old_umask = os.umask(0o777 & ~mode)
    try:
        os.makedirs(directory, mode, exist_ok=True)
    finally:
        os.umask(old_umask)


# Received mail an admin should look at (the failed-mail list): what did not become part of a
# ticket, and delivery reports.
ATTENTION_STATES = ("failed", "held", "rejected", "bounce")


class InboundMail(models.Model):
    """One message as received, whatever became of it."""

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        POP3 = "pop3", "POP3"
        PIPE = "pipe", _("Mail server pipe")
        SMTP = "smtp", _("SMTP receiver")
        WEBHOOK = "webhook", _("Webhook")
        IMPORT = "import", _("File import")

    class State(models.TextChoices):
        STORED = "stored", _("Stored on a ticket")
        HELD = "held", _("Held for review")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")
        BOUNCE = "bounce", _("Delivery report")
        IGNORED = "ignored", _("Ignored")

    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    # Not indexed: nothing looks received mail up by mailbox or queue; only deleting one of
    # those (rare) clears the column, with one pass over the table, while an index would cost
    # every incoming mail a page.
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    raw = models.FileField(upload_to=_raw_path, max_length=300)
    size = models.PositiveBigIntegerField(default=0)
    # "<scope>:<message-id>" or "<scope>:sha256:<digest>": the same message is stored once.
    dedupe_key = models.CharField(max_length=400, unique=True)
    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    from_address = models.CharField(_("from"), max_length=300, blank=True)
    from_name = models.CharField(max_length=300, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices)
    error = models.TextField(_("error"), blank=True)
    # Why this message joined the ticket it did (or started a new one), in words for agents.
    thread_reason = models.CharField(_("threading"), max_length=500, blank=True)
    is_automatic = models.BooleanField(default=False)  # auto-reply, bulk, list, bounce
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_mails"
    )
    article = models.OneToOneField(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_mail"
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("received mail")
        verbose_name_plural = _("received mail")
        indexes = [
            models.Index(
                fields=["state", "-received_at"],
                name="inbound_attention_idx",
                condition=Q(state__in=ATTENTION_STATES),
            )
        ]


# The failed-mail list asks for the attention states with `state__literal_in`: SQLite uses the
# partial index above only when the query repeats its condition literally, the same values in
# the same order (see LiteralIn).
InboundMail._meta.get_field("state").register_lookup(LiteralIn)


class OutgoingMail(models.Model):
    """A message in the outbox: written with the change that causes it, sent by the worker."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        AUTO_REPLY = "auto_reply", _("Auto-reply")
        NOTICE = "notice", _("Notice to a contact")
        AGENT = "agent", _("Notice to an agent")
        REJECTION = "rejection", _("Rejection")
        REMINDER = "reminder", _("Reminder to a contact")

    class State(models.TextChoices):
        DRAFT = "draft", _("Waiting for confirmation")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="outgoing_mails"
    )
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, null=True, blank=True, related_name="outgoing_mails"
    )
    # Not indexed, as InboundMail.queue.
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    message_id = models.CharField(max_length=300, unique=True)
    sender = models.CharField(max_length=300)
    recipients = models.JSONField(default=list)  # envelope recipients, lower-case
    # The addressee (the first recipient): automatic mails to one address are counted by it.
    first_recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    # The complete message as built when it was queued: a retry sends exactly these bytes.
    raw = models.FileField(upload_to=_raw_path, max_length=300)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due_idx",
                condition=Q(state="queued"),
            ),
            models.Index(
                fields=["first_recipient", "created_at"],
                name="outbox_automatic_idx",
                condition=Q(kind__in=["auto_reply", "rejection"]),
            ),
        ]


class Participant(models.Model):
    """Someone besides the contact who takes part in a ticket's mail (CC'd addresses)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    address = models.EmailField()  # lower-case
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "address"], name="participant_unique")
        ]


class AgentSignature(models.Model):
    """An agent's personal signature for outgoing replies."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_signature"
    )
    signature = models.TextField(_("signature"), blank=True)


class AgentBrandSignature(models.Model):
    """An agent's personal signature for one brand: the first of the signature order (M6:
    personal per brand → brand → personal → general)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_signatures"
    )
    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, related_name="agent_signatures", verbose_name=_("brand")
    )
    signature = models.TextField(_("signature"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "brand"], name="agent_brand_signature_unique")
        ]


class FailingAddress(models.Model):
    """An address our mail bounced from: agents see it, notices to it pause."""

    address = models.EmailField(unique=True)
    reason = models.CharField(max_length=500, blank=True)
    bounced_at = models.DateTimeField(default=timezone.now)
