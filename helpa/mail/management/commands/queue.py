"""`helpa queue`: set up queues and their mail addresses from the command line.

    helpa queue add SLUG --address support@example.com [--address …] [--name "Support"]
    helpa queue list
    helpa queue webhook-secret SLUG

`add` creates the queue or updates it, and binds the addresses to it; the first address given
becomes the one replies are sent from. Running it again with the same arguments changes nothing,
so set-up scripts can run it every time.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from helpa.mail.models import MailAddress, QueueMail
from helpa.mail.views_inbound import secret_hash
from helpa.tickets.models import ACTIVE_STATUSES, Queue


class Command(BaseCommand):
    help = "Set up queues and the mail addresses bound to them."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser(
            "add",
            help="Create or update a queue and bind mail addresses to it.",
            description="Create or update a queue and bind mail addresses to it; the first "
            "address is the one replies are sent from.",
        )
        add.add_argument("slug", metavar="SLUG", help="Short name of the queue, e.g. support.")
        add.add_argument(
            "--address",
            action="append",
            default=[],
            dest="addresses",
            help="A mail address of the queue (repeat for more).",
        )
        add.add_argument("--name", default="", help="Display name (default: from the slug).")
        actions.add_parser("list", help="List the queues, their addresses and ticket counts.")
        secret = actions.add_parser(
            "webhook-secret",
            help="Make a new secret for the queue's inbound mail webhook (printed once).",
        )
        secret.add_argument("slug", metavar="SLUG")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "add":
            self.add_queue(options["slug"], options["addresses"], options["name"])
        elif action == "list":
            self.list_queues()
        else:
            self.webhook_secret(options["slug"])

    # --- add ------------------------------------------------------------------------------------

    @transaction.atomic
    def add_queue(self, slug: str, addresses: list[str], name: str) -> None:
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(
                _("%(slug)s is not a valid short name: use letters, digits, - and _.")
                % {"slug": slug}
            ) from exc
        wanted = _clean_addresses(addresses)
        queue = Queue.objects.filter(slug=slug).first()
        name = name.strip()
        new_name = name or (_default_name(slug) if queue is None else "")
        taken = Queue.objects.filter(name=new_name).exclude(slug=slug).first() if new_name else None
        if taken is not None:
            raise CommandError(
                _("The name %(name)s is already used by the queue %(other)s.")
                % {"name": new_name, "other": taken.slug}
            )
        for bound in MailAddress.objects.filter(address__in=wanted).select_related("queue"):
            if bound.queue.slug != slug:
                raise CommandError(
                    _("%(address)s is already bound to the queue %(other)s.")
                    % {"address": bound.address, "other": bound.queue.slug}
                )

        created = queue is None
        if queue is None:
            queue = Queue.objects.create(slug=slug, name=new_name)
        elif new_name and queue.name != new_name:
            queue.name = new_name
            queue.save(update_fields=["name"])
        QueueMail.for_queue(queue)
        for address in wanted:
            MailAddress.objects.get_or_create(queue=queue, address=address)
        if wanted:  # the first address given sends the replies
            MailAddress.objects.filter(queue=queue).exclude(address=wanted[0]).filter(
                is_sender=True
            ).update(is_sender=False)
            MailAddress.objects.filter(queue=queue, address=wanted[0]).update(is_sender=True)

        bound_now = ", ".join(_address_label(a) for a in queue.mail_addresses.all())
        if created:
            message = _("Created the queue %(slug)s: %(addresses)s")
        else:
            message = _("Updated the queue %(slug)s: %(addresses)s")
        self.stdout.write(
            message % {"slug": slug, "addresses": bound_now or _("no mail addresses")}
        )

    # --- list -----------------------------------------------------------------------------------

    def list_queues(self) -> None:
        queues = (
            Queue.objects.annotate(
                total=Count("ticket", distinct=True),
                open=Count("ticket", filter=Q(ticket__status__in=ACTIVE_STATUSES), distinct=True),
            )
            .prefetch_related("mail_addresses")
            .order_by("slug")
        )
        header = [_("Queue"), _("Name"), _("Addresses"), _("Open"), _("Total")]
        rows = [
            [
                q.slug,
                q.name if q.is_active else _("%(name)s (inactive)") % {"name": q.name},
                ", ".join(_address_label(a) for a in q.mail_addresses.all()) or "-",
                str(q.open),
                str(q.total),
            ]
            for q in queues
        ]
        if not rows:
            self.stdout.write(_("No queues yet. Add one with `helpa queue add SLUG --address …`."))
            return
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        numeric = {3, 4}

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        self.stdout.write(line(header))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write(line(row))

    # --- webhook-secret -------------------------------------------------------------------------

    def webhook_secret(self, slug: str) -> None:
        queue = Queue.objects.filter(slug=slug).first()
        if queue is None:
            raise CommandError(_unknown_queue(slug))
        secret = secrets.token_urlsafe(32)
        queue_mail = QueueMail.for_queue(queue)
        queue_mail.webhook_secret_hash = secret_hash(secret)
        queue_mail.save(update_fields=["webhook_secret_hash"])
        self.stderr.write(
            _(
                "The new secret of the queue %(slug)s (shown only now; any earlier secret no "
                "longer works). Send it as `Authorization: Bearer <secret>` to "
                "/mail/inbound/%(slug)s/:"
            )
            % {"slug": slug}
        )
        # The secret alone on standard output, so a script can capture it.
        self.stdout.write(secret)


def _clean_addresses(addresses: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in addresses:
        address = raw.strip().lower()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise CommandError(
                _("%(address)s is not a valid mail address.") % {"address": raw}
            ) from exc
        if address not in cleaned:
            cleaned.append(address)
    return cleaned


def _default_name(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").capitalize()


def _address_label(address: MailAddress) -> str:
    return f"{address.address} ({_('sender')})" if address.is_sender else address.address


def _unknown_queue(slug: str) -> str:
    return _("There is no queue %(slug)s; `helpa queue list` shows them.") % {"slug": slug}
