"""Raw message files that no row names, and their removal.

A message's raw file is written just before the transaction that stores its row (`save_raw`),
and an outgoing mail's when it is queued. A process killed in between — a worker stopped in the
middle of an IMAP batch, a power cut — leaves the file without its row. Nothing is lost by that:
the message is fetched or sent again and stored with a file of its own. But the leftover file
would stay for ever, outside the reach of a GDPR erasure (which finds files through their rows).

The nightly task looks at the day folders of the last week (`mail/YYYY/MM/DD/`, the dates the
files were written) and removes the files no InboundMail or OutgoingMail names that are older
than an hour: no transaction is open that long, so no row can still arrive for them.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from .models import InboundMail, OutgoingMail

log = logging.getLogger(__name__)
DAYS = 7
GRACE = timedelta(hours=1)


def orphaned_raw_files(now: datetime | None = None, days: int = DAYS) -> list[str]:
    """The storage names of raw message files of the last `days` days that no row names and
    that were last written more than GRACE ago."""
    now = now or timezone.now()
    storage = InboundMail._meta.get_field("raw").storage
    if not isinstance(storage, FileSystemStorage):
        return []  # (another storage keeps its own books)
    written_before = (now - GRACE).timestamp()
    orphans = []
    for back in range(days + 1):
        folder = f"mail/{now - timedelta(days=back):%Y/%m/%d}"
        try:
            entries = list(os.scandir(storage.path(folder)))
        except FileNotFoundError:
            continue
        old = {
            f"{folder}/{entry.name}"
            for entry in entries
            if entry.is_file() and entry.stat().st_mtime < written_before
        }
        if old:
            orphans += sorted(old - _named_in(folder))
    return orphans


def _named_in(folder: str) -> set[str]:
    """The raw files of `folder` that rows name."""
    named: set[str] = set()
    for model in (InboundMail, OutgoingMail):
        named.update(
            model.objects.filter(raw__startswith=f"{folder}/").values_list("raw", flat=True)
        )
    return named


def remove_orphaned_raw_files(now: datetime | None = None) -> int:
    """Remove what `orphaned_raw_files` finds; returns how many files went."""
    storage = InboundMail._meta.get_field("raw").storage
    removed = 0
    for name in orphaned_raw_files(now):
        try:
            storage.delete(name)
        except OSError:
            log.exception("could not remove the orphaned raw mail file %s", name)
            continue
        removed += 1
    if removed:
        log.info("removed %d raw mail files that no row named", removed)
    return removed
