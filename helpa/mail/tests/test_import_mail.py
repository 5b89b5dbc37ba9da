"""`helpa import-mail`: .eml files, mbox files and Maildirs from another system, oldest first,
with a progress bar, a summary, and nothing stored twice."""

from __future__ import annotations

import io
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.db import OperationalError, connection

from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, QueueMail
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db
HELPA = Path(sys.executable).with_name("helpa")
import_mail_module = __import__("helpa.mail.management.commands.import-mail", fromlist=["Progress"])


def message(
    subject: str,
    date: str | None = "Mon, 03 Mar 2025 10:00:00 +0100",
    *,
    message_id: str | None = None,
    to: str = "support@helpa.test",
) -> bytes:
    lines = ["From: Pia Persson <pia@kund.se>", f"To: {to}", f"Subject: {subject}"]
    if date:
        lines.append(f"Date: {date}")
    mid = message_id or f"<{subject.lower().replace(' ', '-')}@kund.se>"
    lines.append(f"Message-ID: {mid}")
    return ("\n".join(lines) + f"\nContent-Type: text/plain\n\nAbout {subject}.\n").encode()


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """Where the old mail lies (tmp_path/files is where this test's Helpa stores files)."""
    path = tmp_path / "old-mail"
    path.mkdir()
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import-mail", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def titles_in_ticket_order() -> list[str]:
    return list(Ticket.objects.order_by("number").values_list("title", flat=True))


def mbox_file(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


def test_eml_files_are_imported_oldest_first_and_undated_last(support: Queue, src: Path) -> None:
    (src / "a.eml").write_bytes(message("Third", "Wed, 05 Mar 2025 09:00:00 +0000"))
    (src / "b.eml").write_bytes(message("No date one", None))
    (src / "c.eml").write_bytes(message("First", "Mon, 03 Mar 2025 09:00:00 +0000"))
    (src / "d.eml").write_bytes(message("No date two", "not a date"))
    # 08:30 in New York is 13:30 UTC: after "First", before "Third".
    (src / "e.eml").write_bytes(message("Second", "Mon, 03 Mar 2025 08:30:00 -0500"))

    out, _err = run("--queue", "support", str(src))

    assert titles_in_ticket_order() == ["First", "Second", "Third", "No date one", "No date two"]
    assert (
        "stored 5, duplicates 0, held for review 0, rejected 0, our own mail 0, failed 0, skipped 0"
        in out
    )
    assert set(InboundMail.objects.values_list("source", flat=True)) == {"import"}


def test_mbox_maildir_and_eml_together_in_one_date_order(support: Queue, src: Path) -> None:
    mbox_file(
        src / "archive.mbox",
        [
            message("Mbox late", "Fri, 07 Mar 2025 10:00:00 +0000"),
            message("Mbox early", "Sat, 01 Mar 2025 10:00:00 +0000"),
        ],
    )
    maildir = mailbox.Maildir(src / "Maildir", create=True)
    maildir.add(message("Maildir middle", "Tue, 04 Mar 2025 10:00:00 +0000"))
    sent = maildir.add_folder("Sent")
    sent.add(message("Maildir folder", "Thu, 06 Mar 2025 10:00:00 +0000"))
    single = src / "single.eml"
    single.write_bytes(message("Eml", "Wed, 05 Mar 2025 10:00:00 +0000"))

    out, _err = run(
        "--queue", "support", str(src / "archive.mbox"), str(src / "Maildir"), str(single)
    )

    assert titles_in_ticket_order() == [
        "Mbox early",
        "Maildir middle",
        "Eml",
        "Maildir folder",
        "Mbox late",
    ]
    assert "stored 5," in out


def test_a_second_run_stores_nothing_new(support: Queue, src: Path) -> None:
    mbox_file(src / "old.mbox", [message(f"Mail {n}") for n in range(4)])
    (src / "no-id.eml").write_bytes(b"From: a@kund.se\nSubject: No id\n\nHello\n")
    run("--queue", "support", str(src))
    assert InboundMail.objects.count() == 5

    out, _err = run("--queue", "support", str(src))

    assert InboundMail.objects.count() == 5 and Ticket.objects.count() == 5
    assert "stored 0, duplicates 5," in out


def test_without_a_queue_the_recipient_address_decides(
    support: Queue, billing: Queue, src: Path
) -> None:
    MailAddress.objects.create(queue=billing, address="billing@helpa.test")
    (src / "bill.eml").write_bytes(message("Invoice", to="billing@helpa.test"))
    run(str(src / "bill.eml"))
    assert Ticket.objects.get().queue == billing


def test_empty_and_non_mail_files_are_skipped_and_named(support: Queue, src: Path) -> None:
    (src / "good.eml").write_bytes(message("Good one"))
    (src / "empty.eml").write_bytes(b"")
    (src / "notes.txt").write_text("Remember to import the old mail.\n")
    (src / "photo.eml").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (src / ".hidden.eml").write_bytes(message("Hidden"))

    out, err = run("--queue", "support", str(src))

    assert titles_in_ticket_order() == ["Good one"]
    assert f"Skipped {src / 'empty.eml'}: empty file" in err
    assert f"Skipped {src / 'notes.txt'}: not a mail file" in err
    assert f"Skipped {src / 'photo.eml'}: not a mail message (no headers)" in err
    assert (
        "stored 1, duplicates 0, held for review 0, rejected 0, our own mail 0, failed 0, skipped 3"
        in out
    )


def test_a_missing_path_is_named_and_the_rest_imported(support: Queue, src: Path) -> None:
    (src / "good.eml").write_bytes(message("Good one"))
    out, err = run("--queue", "support", str(src / "good.eml"), str(src / "gone.mbox"))
    assert "gone.mbox: no such file or directory" in err
    assert "stored 1," in out and "skipped 1" in out


def test_a_truncated_mbox_keeps_every_message_it_has(support: Queue, src: Path) -> None:
    path = mbox_file(
        src / "cut.mbox",
        [message("Whole one", "Mon, 03 Mar 2025 10:00:00 +0000"), message("Whole two")],
    )
    data = path.read_bytes()
    # A third message cut off in the middle of its headers, without a final newline.
    path.write_bytes(data + b"From pia@kund.se Tue Mar  4 10:00:00 2025\nFrom: Pia <pia@ku")

    out, err = run("--queue", "support", str(path))

    assert InboundMail.objects.count() == 3
    assert {"Whole one", "Whole two"} <= set(titles_in_ticket_order())
    assert "Traceback" not in err
    # The cut message is kept raw, whatever became of it, for an admin to see.
    cut = InboundMail.objects.exclude(ticket__title__startswith="Whole").get()
    with cut.raw.open("rb") as f:
        assert f.read() == b"From: Pia <pia@ku"


def test_a_message_the_pipeline_cannot_file_counts_as_failed_with_the_reason(
    src: Path,
) -> None:
    (src / "lost.eml").write_bytes(message("Nobody's", to="unknown@elsewhere.test"))
    out, err = run(str(src))
    assert "failed 1" in out
    assert "lost.eml: No queue is bound to any recipient address." in err


def test_held_mail_is_counted_as_held(support: Queue, src: Path) -> None:
    queue_mail = QueueMail.for_queue(support)
    queue_mail.new_mail = QueueMail.NewMail.REVIEW
    queue_mail.save()
    (src / "new.eml").write_bytes(message("Please review"))
    out, _err = run("--queue", "support", str(src))
    assert "held for review 1" in out


def test_an_unknown_queue_is_an_error(src: Path) -> None:
    with pytest.raises(CommandError, match="There is no queue nope"):
        run("--queue", "nope", str(src))


def test_progress_is_a_line_every_tenth_when_not_on_a_terminal(support: Queue, src: Path) -> None:
    mbox_file(src / "many.mbox", [message(f"Mail {n}") for n in range(20)])
    _out, err = run("--queue", "support", str(src))
    progress = [line for line in err.splitlines() if " of 20 messages" in line]
    assert len(progress) == 10
    assert progress[-1] == "20 of 20 messages (100 %): stored 20"


def test_progress_redraws_one_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = import_mail_module.Progress(OutputWrapper(screen), 3)
    counts = import_mail_module.Counter()
    for done in (1, 2, 3):
        counts["stored"] += 1
        progress.update(done, counts)
    text = screen.getvalue()
    assert text.startswith("\r[")
    assert text.count("\n") == 1 and text.endswith("3/3  stored 3\x1b[K\n")


def test_a_temporary_failure_stops_the_run_and_says_how_to_go_on(
    support: Queue, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (src / "a.eml").write_bytes(message("First"))
    monkeypatch.setattr(import_mail_module, "RETRIES", 1)
    monkeypatch.setattr(import_mail_module.time, "sleep", lambda seconds: None)

    def database_down(*args: object, **kwargs: object) -> bool:
        raise OperationalError("database is locked")

    monkeypatch.setattr(ingest, "_already_stored", database_down)
    with pytest.raises(CommandError, match="Run the same command again") as stopped:
        run("--queue", "support", str(src))
    assert stopped.value.returncode == 75
    assert "Stopped at " + str(src / "a.eml") in str(stopped.value)
    assert not InboundMail.objects.exists()


def test_one_message_that_fails_does_not_hold_up_the_others_in_its_batch(
    support: Queue, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 6):
        (src / f"{n}.eml").write_bytes(message(f"Mail {n}", f"Mon, 03 Mar 2025 10:0{n}:00 +0100"))
    real_open_ticket = ingest._open_ticket

    def open_ticket(queue, parsed, inbound, related):  # type: ignore[no-untyped-def]
        if parsed.subject == "Mail 3":
            raise RuntimeError("the pipeline tripped")
        return real_open_ticket(queue, parsed, inbound, related)

    monkeypatch.setattr(ingest, "_open_ticket", open_ticket)
    out, err = run("--queue", "support", str(src))
    assert "stored 4," in out and "failed 1," in out
    assert "3.eml: RuntimeError: the pipeline tripped" in err
    assert titles_in_ticket_order() == ["Mail 1", "Mail 2", "Mail 4", "Mail 5"]
    assert InboundMail.objects.get(state=InboundMail.State.FAILED).subject == "Mail 3"


@pytest.mark.django_db(transaction=True)
def test_the_command_line_name_has_a_dash(support: Queue, src: Path) -> None:
    (src / "a.eml").write_bytes(message("From the shell"))
    done = subprocess.run(
        [str(HELPA), "import-mail", "--queue", "support", str(src / "a.eml")],
        capture_output=True,
        timeout=60,
        env={
            **os.environ,
            "HELPA_DATA_DIR": str(src.parent),
            "HELPA_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        },
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "stored 1," in done.stdout.decode()
    assert titles_in_ticket_order() == ["From the shell"]
