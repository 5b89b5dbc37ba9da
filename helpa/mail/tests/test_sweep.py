"""Raw message files left without a row (a process killed between the file and the commit) are
removed by the nightly sweep once an hour old; files that rows name, and fresh ones, stay."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from helpa.mail import ingest, outbound, sweep
from helpa.mail.models import InboundMail, OutgoingMail, save_raw
from helpa.tickets.models import Queue

pytestmark = pytest.mark.django_db


def _mail(n: int) -> bytes:
    return (
        f"From: Pia <pia@kund.test>\nTo: support@helpa.test\nSubject: Printer {n}\n"
        f"Message-ID: <sweep{n}@kund.test>\n\nThe printer is broken.\n"
    ).encode()


def _age(name: str, hours: float) -> None:
    path = Path(settings.MEDIA_ROOT) / name
    then = (timezone.now() - timedelta(hours=hours)).timestamp()
    os.utime(path, (then, then))


def _exists(name: str) -> bool:
    return (Path(settings.MEDIA_ROOT) / name).exists()


def test_only_old_files_no_row_names_are_removed(support: Queue) -> None:
    stored = ingest.ingest_message(_mail(1), source=InboundMail.Source.PIPE, queue=support)
    kept_in = stored.inbound.raw.name
    sent = outbound.queue_mail(
        kind=OutgoingMail.Kind.NOTICE,
        queue=support,
        to=[("Pia", "pia@kund.test")],
        subject="Hello",
        text="Hello",
    )
    kept_out = sent.raw.name
    # What a killed process leaves: the file was written, its row never committed.
    orphan = InboundMail(source=InboundMail.Source.PIPE)
    save_raw(orphan.raw, _mail(2))
    fresh = InboundMail(source=InboundMail.Source.PIPE)
    save_raw(fresh.raw, _mail(3))
    for name in (kept_in, kept_out, orphan.raw.name):
        _age(name, hours=3)

    assert sweep.orphaned_raw_files() == [orphan.raw.name]
    assert sweep.remove_orphaned_raw_files() == 1

    assert not _exists(orphan.raw.name)
    assert _exists(kept_in) and _exists(kept_out)
    assert _exists(fresh.raw.name)  # younger than an hour: its row may yet arrive
    assert sweep.remove_orphaned_raw_files() == 0


def test_an_orphan_of_yesterday_is_found_in_its_day_folder(support: Queue) -> None:
    """A batch whose process died mid-way left its files in the folder of the day they were
    written; the next night's sweep looks back over the last week."""
    yesterday = timezone.now() - timedelta(days=1)
    orphan = InboundMail(source=InboundMail.Source.IMPORT)
    save_raw(orphan.raw, _mail(4))
    moved = orphan.raw.name.replace(f"{timezone.now():%Y/%m/%d}", f"{yesterday:%Y/%m/%d}")
    (Path(settings.MEDIA_ROOT) / moved).parent.mkdir(parents=True, exist_ok=True)
    os.replace(Path(settings.MEDIA_ROOT) / orphan.raw.name, Path(settings.MEDIA_ROOT) / moved)
    _age(moved, hours=20)

    assert sweep.remove_orphaned_raw_files() == 1
    assert not _exists(moved)


def test_the_nightly_task_runs_the_sweep(support: Queue) -> None:
    from helpa.mail.tasks import remove_orphaned_raw_files_nightly

    orphan = InboundMail(source=InboundMail.Source.SMTP)
    save_raw(orphan.raw, _mail(5))
    _age(orphan.raw.name, hours=2)
    assert remove_orphaned_raw_files_nightly.call_local() == 1
    assert not _exists(orphan.raw.name)
