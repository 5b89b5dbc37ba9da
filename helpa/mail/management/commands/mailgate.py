"""`helpa mailgate --queue SLUG`: one message on standard input, from a mail server's pipe.

The Postfix/Exim pipe contract (sysexits.h): exit 0 when the message is stored — also when it
is a duplicate of one already stored or rejected by policy (too large: the pipeline answers the
sender) — and exit 75 (EX_TEMPFAIL) when it could not be stored now, so the mail server keeps it
in its queue and tries again. An unknown queue or a bad command line is an admin's
configuration error; it also answers 75, so no mail is lost while they fix it. Whatever fails,
one line on standard error says why (Postfix puts it in its log and the deferral reason).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils.translation import gettext as _

from helpa.mail import ingest
from helpa.mail.models import InboundMail
from helpa.tickets.models import Queue

EX_NOINPUT = 66  # nothing on standard input: no message to keep, retrying cannot help
EX_TEMPFAIL = 75

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Store one RFC 5322 message read from standard input in a queue "
        "(for a mail server's pipe). Exit 0: stored; 75: try again later."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queue", required=True, help="Short name (slug) of the queue.")

    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except SystemExit as exc:
            # argparse exits 2 on a bad command line, which a mail server takes as a permanent
            # failure and bounces the mail; a configuration mistake must defer it instead.
            if exc.code == 2:
                sys.exit(EX_TEMPFAIL)
            raise

    def _fail(self, message: str, code: int = EX_TEMPFAIL) -> NoReturn:
        self.stderr.write(f"helpa mailgate: {message}")
        sys.exit(code)

    def handle(self, *args: Any, queue: str, **options: Any) -> None:
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            self._fail(_("no message on standard input"), EX_NOINPUT)
        try:
            target = Queue.objects.filter(slug=queue).first()
        except DatabaseError as exc:
            self._fail(_("the database cannot be used now: %(error)s") % {"error": _line(exc)})
        if target is None:
            self._fail(
                _("there is no queue %(slug)s (see `helpa queue list`); the mail stays queued")
                % {"slug": queue}
            )
        try:
            result = ingest.ingest_message(
                raw, source=InboundMail.Source.PIPE, queue=target, envelope_recipients=()
            )
        except (ingest.TemporaryFailure, DatabaseError) as exc:
            self._fail(_("temporary failure, try again later: %(error)s") % {"error": _line(exc)})
        except Exception as exc:  # noqa: BLE001 — a bug must defer the mail, never lose it
            log.exception("mailgate: unexpected error")
            self._fail(_("unexpected error, try again later: %(error)s") % {"error": _line(exc)})
        if result.duplicate:
            log.info("mailgate: a duplicate of a message already stored")


def _line(exc: BaseException) -> str:
    """An exception as one short line (database errors can span several)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
