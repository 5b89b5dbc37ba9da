"""`helpa fetchmail [--mailbox ID]`: poll the IMAP/POP3 mailboxes now and print what came in.

The worker does the same every minute; this is for setting up a mailbox and for scripts. It
exits with status 1 when a mailbox could not be polled completely (the reason is printed and
kept on the mailbox)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpa.mail.fetch import PollResult, poll_mailbox
from helpa.mail.models import Mailbox


class Command(BaseCommand):
    help = "Fetch new mail from the IMAP and POP3 mailboxes now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mailbox",
            type=int,
            action="append",
            metavar="ID",
            help="Poll only this mailbox (also when inactive). May be given more than once.",
        )

    def handle(self, *args: object, **options: object) -> None:
        ids = options["mailbox"]
        mailboxes = Mailbox.objects.select_related("queue").order_by("pk")
        if ids:
            mailboxes = mailboxes.filter(pk__in=ids)
            missing = set(ids) - {m.pk for m in mailboxes}  # type: ignore[arg-type]
            if missing:
                raise CommandError(f"No mailbox with id {', '.join(map(str, sorted(missing)))}.")
        else:
            mailboxes = mailboxes.filter(is_active=True)
        failed = False
        for mailbox in mailboxes:
            result = poll_mailbox(mailbox)
            if result.busy:
                self.stdout.write(
                    f"{mailbox.pk} {mailbox.name}: being polled by another process (the "
                    "worker?); skipped"
                )
                continue
            self.stdout.write(f"{mailbox.pk} {mailbox.name}: {_counts(result)}")
            if result.error:
                failed = True
                self.stderr.write(f"{mailbox.pk} {mailbox.name}: {result.error}")
        if failed:
            raise CommandError("Some mailboxes could not be polled completely; see above.")


def _counts(result: PollResult) -> str:
    counts = (
        f"fetched {result.fetched}, stored {result.stored}, "
        f"duplicates {result.duplicates}, failed {result.failed}"
    )
    if result.waiting:
        counts += f"; {result.waiting} more wait for the next poll"
    return counts
