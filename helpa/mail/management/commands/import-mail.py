"""`helpa import-mail [--queue SLUG] PATH…`: bring mail over from another system.

PATH may be an .eml file, an mbox file, a Maildir, or a directory holding any of them (searched
recursively). Every message goes through the same pipeline as new mail, oldest first (by the
Date header; messages without a usable date come last, in the order found), so tickets and
threads are built as they happened. Messages are stored in batches (`ingest.Batch`: up to 50 to
a transaction, each in its own savepoint, so one that fails is stored as a failed mail and the
others still commit) and recognised again by their Message-ID (or content), so an import that
was interrupted is simply run again: what is already stored counts as a duplicate.

The file name has a dash because the command is called `import-mail`: Django names commands
after their module, found with pkgutil, and imports them with importlib, which takes any name.
"""

from __future__ import annotations

import email.utils
import mailbox
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils.translation import gettext as _

from helpa.mail import ingest
from helpa.mail.models import InboundMail
from helpa.tickets.models import Queue

# The first line of a message is a header ("Name: value") or an mbox "From " line.
HEADER_LINE = re.compile(rb"^(From |[!-9;-~]+:)")
HEAD_BYTES = 64 * 1024  # enough to find the Date header; a message's body is not read twice
MAIL_SUFFIXES = {".eml", ".mbox", ".mbx", ".mail", ".msg822"}
RETRIES = 4  # a temporary failure (database locked or restarting) is retried, then the run stops
EX_TEMPFAIL = 75


@dataclass
class Source:
    """One message to import: where it is, how to read it, and its date for ordering."""

    label: str
    read: Callable[[], bytes]
    date: datetime | None
    order: int


def _date_of(head: bytes) -> datetime | None:
    try:
        value = BytesHeaderParser().parsebytes(head).get("Date")
        parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)  # RFC 5322's "-0000": the zone is unknown
        if parsed is not None:
            parsed.timestamp()  # year 1 or 9999 with an offset cannot be ordered
    except (TypeError, ValueError, IndexError, LookupError, OverflowError):
        return None
    return parsed


def _head(data: IO[bytes]) -> bytes:
    """The header block (up to HEAD_BYTES)."""
    head = data.read(HEAD_BYTES)
    for end in (b"\r\n\r\n", b"\n\n"):
        index = head.find(end)
        if index >= 0:
            return head[: index + len(end)]
    return head


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(5) == b"From "


class Collector:
    """Finds the messages under the given paths, and the files that are not mail."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.skipped: list[tuple[str, str]] = []  # (path, why)

    def _add(self, label: str, read: Callable[[], bytes], head: bytes) -> None:
        self.sources.append(Source(label, read, _date_of(head), len(self.sources)))

    def add_path(self, path: Path) -> None:
        if path.is_dir():
            if _is_maildir(path):
                self.add_maildir(path)
                return
            for child in sorted(path.iterdir()):
                if child.name.startswith("."):
                    continue
                if child.is_dir() or child.suffix.lower() in MAIL_SUFFIXES or _is_mbox(child):
                    self.add_path(child)
                else:
                    self.skipped.append((str(child), _("not a mail file")))
            return
        if not path.exists():
            self.skipped.append((str(path), _("no such file or directory")))
            return
        try:
            if path.stat().st_size == 0:
                self.skipped.append((str(path), _("empty file")))
            elif _is_mbox(path):
                self.add_mbox(path)
            else:
                self.add_eml(path)
        except OSError as exc:
            self.skipped.append((str(path), exc.strerror or str(exc)))

    def add_eml(self, path: Path) -> None:
        with path.open("rb") as f:
            head = _head(f)
        if not HEADER_LINE.match(head.lstrip(b"\r\n")):
            self.skipped.append((str(path), _("not a mail message (no headers)")))
            return
        self._add(str(path), path.read_bytes, head)

    def add_mbox(self, path: Path) -> None:
        box = mailbox.mbox(path, create=False)
        for key in box.iterkeys():
            with box.get_file(key) as f:
                head = _head(f)  # type: ignore[arg-type]
            self._add(f"{path}#{key + 1}", _reader(box, key), head)

    def add_maildir(self, path: Path) -> None:
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.iterkeys()):
            with box.get_file(key) as f:
                head = _head(f)  # type: ignore[arg-type]
            self._add(f"{path}/{key}", _reader(box, key), head)
        for folder in box.list_folders():  # Maildir++ sub-folders (.Sent, .Archive, …)
            self.add_maildir(path / f".{folder}")

    def in_date_order(self) -> list[Source]:
        # Dated messages first, oldest first; undated ones after them in the order found.
        return sorted(
            self.sources,
            key=lambda s: (s.date is None, s.date.timestamp() if s.date else 0.0, s.order),
        )


def _reader(box: mailbox.Mailbox, key: Any) -> Callable[[], bytes]:
    return lambda: box.get_bytes(key)


class Progress:
    """A progress bar on standard error: one line rewritten in place on a terminal, otherwise
    a line every tenth of the way (logs stay short)."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper, total: int) -> None:
        self.stream = stream
        self.total = total
        self.tty = stream.isatty()
        self.step = max(1, total // 10)
        self.last_draw = 0.0

    def update(self, done: int, counts: Counter[str]) -> None:
        if self.tty:
            now = time.monotonic()
            if done < self.total and now - self.last_draw < 0.1:
                return
            self.last_draw = now
            filled = self.WIDTH * done // max(1, self.total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            end = "\n" if done == self.total else ""
            self.stream.write(f"\r[{bar}] {done}/{self.total}  {_short(counts)}\x1b[K", ending=end)
        elif done % self.step == 0 or done == self.total:
            self.stream.write(
                _("%(done)s of %(total)s messages (%(percent)s %%): %(counts)s")
                % {
                    "done": done,
                    "total": self.total,
                    "percent": 100 * done // max(1, self.total),
                    "counts": _short(counts),
                }
            )
        self.stream.flush()


OUTCOMES = ["stored", "duplicates", "held", "rejected", "ignored", "failed", "skipped"]


def _labels() -> dict[str, str]:
    return {
        "stored": _("stored"),
        "duplicates": _("duplicates"),
        "held": _("held for review"),
        "rejected": _("rejected"),
        "ignored": _("our own mail"),
        "failed": _("failed"),
        "skipped": _("skipped"),
    }


def _short(counts: Counter[str]) -> str:
    labels = _labels()
    return ", ".join(f"{labels[k]} {counts[k]}" for k in OUTCOMES if counts[k])


def _outcome(result: ingest.IngestResult) -> str:
    if result.duplicate or result.inbound is None:
        return "duplicates"
    state = result.inbound.state
    if state == InboundMail.State.HELD:
        return "held"
    if state == InboundMail.State.REJECTED:
        return "rejected"
    if state == InboundMail.State.FAILED:
        return "failed"
    if state == InboundMail.State.IGNORED:
        return "ignored"
    return "stored"  # on a ticket, or a delivery report recorded on one


class Command(BaseCommand):
    help = (
        "Import .eml files, mbox files and Maildirs (files or directories), oldest first. "
        "Safe to run again: messages already stored are skipped."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queue",
            help="Short name of the queue (default: the queue bound to a recipient address).",
        )
        parser.add_argument("paths", nargs="+", metavar="PATH")

    def handle(self, *args: Any, queue: str | None, paths: list[str], **options: Any) -> None:
        target = None
        if queue:
            target = Queue.objects.filter(slug=queue).first()
            if target is None:
                raise CommandError(
                    _("There is no queue %(slug)s; `helpa queue list` shows them.")
                    % {"slug": queue}
                )
        collector = Collector()
        for name in paths:
            collector.add_path(Path(name))
        for path, why in collector.skipped:
            self.stderr.write(_("Skipped %(path)s: %(why)s") % {"path": path, "why": why})
        sources = collector.in_date_order()

        counts: Counter[str] = Counter(skipped=len(collector.skipped))
        progress = Progress(self.stderr, len(sources))
        failures: list[str] = []
        done = 0

        def count(outcome: str) -> None:
            nonlocal done
            done += 1
            counts[outcome] += 1
            progress.update(done, counts)

        def stored(source: Source, result: ingest.IngestResult) -> None:
            count(self._outcome_of(source, result, failures))

        batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=target, done=stored)
        try:
            for source in sources:
                raw = self._read(source, failures)
                if isinstance(raw, str):
                    if batch.pending:  # the progress counts in the order found
                        self._flush(batch)
                    count(raw)
                    continue
                batch.add(raw, tag=source)
                if batch.full:
                    self._flush(batch)
            self._flush(batch)
        finally:
            self._summary(counts, failures)

    def _read(self, source: Source, failures: list[str]) -> bytes | str:
        """The message's bytes, or the outcome when there are none to store."""
        try:
            raw = source.read()
        except (OSError, KeyError) as exc:
            failures.append(
                _("Failed: %(label)s: %(error)s") % {"label": source.label, "error": exc}
            )
            return "failed"
        if not raw.strip():
            failures.append(
                _("Skipped %(path)s: %(why)s") % {"path": source.label, "why": _("empty message")}
            )
            return "skipped"
        return raw

    def _flush(self, batch: ingest.Batch) -> None:
        """Store the batch. One the database refused (locked, restarting) stored nothing and is
        still pending: it is tried again after a pause, and the run stops when that keeps
        failing."""
        for attempt in range(RETRIES + 1):
            try:
                batch.flush()
                return
            except ingest.TemporaryFailure as exc:
                if attempt == RETRIES:
                    raise CommandError(
                        _(
                            "Stopped at %(label)s: %(error)s. Run the same command again to "
                            "continue; what is stored already is skipped."
                        )
                        % {"label": batch.pending[0].tag.label, "error": exc},
                        returncode=EX_TEMPFAIL,
                    ) from exc
                time.sleep(0.5 * 2**attempt)

    def _outcome_of(self, source: Source, result: ingest.IngestResult, failures: list[str]) -> str:
        if result.error is not None:
            failures.append(
                _("Failed: %(label)s: %(error)s") % {"label": source.label, "error": result.error}
            )
            return "failed"
        outcome = _outcome(result)
        if outcome == "failed" and result.inbound is not None:
            failures.append(
                _("Failed: %(label)s: %(error)s")
                % {"label": source.label, "error": _first_line(result.inbound)}
            )
        return outcome

    def _summary(self, counts: Counter[str], failures: list[str]) -> None:
        for line in failures[:50]:
            self.stderr.write(line)
        if len(failures) > 50:
            self.stderr.write(_("… and %(n)s more.") % {"n": len(failures) - 50})
        labels = _labels()
        self.stdout.write(
            _("Imported: %(counts)s.")
            % {"counts": ", ".join(f"{labels[k]} {counts[k]}" for k in OUTCOMES)}
        )


def _first_line(inbound: InboundMail) -> str:
    text = (inbound.error or inbound.thread_reason).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # A traceback's last line names the error; a reason is one line anyway.
    return (lines[-1] if lines else _("could not be processed"))[:200]
