"""`helpa smtpd`: the built-in SMTP receiver (see helpa/mail/smtp_receiver.py)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils.translation import gettext as _

from helpa.mail.smtp_receiver import make_controller


class Command(BaseCommand):
    # Command-line help stays English, as Django's own commands do; what a command prints is
    # translated.
    help = (
        "Receive mail over SMTP for the addresses bound to queues "
        "(unknown recipients are refused with 550)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=2525, help="Port to listen on.")

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        if options["verbosity"] < 2:
            # aiosmtpd logs every command of every session at INFO; -v 2 shows them.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        try:
            controller = make_controller(host, port)
        except DatabaseError as exc:
            raise CommandError(
                _("The database cannot be used: %(error)s") % {"error": exc}
            ) from exc
        try:
            controller.start()
        except OSError as exc:
            controller.handler.close()
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s: %(error)s")
                % {"host": host, "port": port, "error": exc}
            ) from exc
        self.stdout.write(
            _("Receiving mail on %(host)s:%(port)s (limit %(mb)s MB). Stop with Ctrl-C.")
            % {"host": host, "port": port, "mb": controller.handler.max_bytes // (1024 * 1024)}
        )
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_args: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
            controller.handler.close()
