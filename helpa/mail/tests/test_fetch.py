"""Fetching mail from IMAP and POP3 mailboxes, against a real Dovecot started by the tests
(see dovecot.py): every message stored exactly once, whatever happens to the poll, and the
server copy flagged, deleted or moved only after it is stored."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.utils import timezone

from helpa.mail import fetch, ingest, tasks
from helpa.mail.models import FetchedMessage, InboundMail, Mailbox
from helpa.tickets.models import Article, Queue, Ticket

from .dovecot import Account, Dovecot, OAuthProvider

pytestmark = pytest.mark.django_db


def mail(n: int, *, subject: str = "", body: str = "") -> bytes:
    return (
        f"From: Pia Persson <pia{n}@kund.se>\r\n"
        "To: support@helpa.test\r\n"
        f"Subject: {subject or f'Question {n}'}\r\n"
        f"Message-ID: <q{n}.{time.time_ns()}@kund.se>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body or f'This is question number {n}.'}\r\n"
    ).encode()


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    return dovecot.add_account()


def make_mailbox(
    queue: Queue,
    dovecot: Dovecot,
    account: Account,
    *,
    protocol: str = "imap",
    security: str = "none",
    **fields: object,
) -> Mailbox:
    port_name = protocol + ("s" if security == "tls" else "")
    values: dict[str, object] = {
        "name": f"Support {protocol}",
        "queue": queue,
        "protocol": protocol,
        "host": dovecot.host,
        "port": dovecot.ports[port_name],
        "security": security,
        "username": account.username,
        "password": account.password,
        **fields,
    }
    return Mailbox.objects.create(**values)


def titles() -> list[str]:
    return sorted(Ticket.objects.values_list("title", flat=True))


def seen(flags: str) -> bool:
    return "\\Seen" in flags


# --- IMAP -----------------------------------------------------------------------------------------


def test_imap_keep_stores_each_message_once_and_marks_it_read(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1), mail(2), mail(3)])
    mailbox = make_mailbox(support, dovecot, account)

    result = fetch.poll_mailbox(mailbox)

    assert (result.fetched, result.stored, result.duplicates, result.failed) == (3, 3, 0, 0)
    assert titles() == ["Question 1", "Question 2", "Question 3"]
    assert all(i.source == "imap" and i.mailbox == mailbox for i in InboundMail.objects.all())
    on_server = dovecot.folder(account)
    assert len(on_server) == 3 and all(seen(flags) for _uid, _raw, flags in on_server)
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3 and mailbox.last_error == "" and mailbox.last_polled_at

    # The next poll downloads nothing; a new message is the only one fetched.
    assert fetch.poll_mailbox(mailbox).fetched == 0
    dovecot.append(account, [mail(4)])
    again = fetch.poll_mailbox(mailbox)
    assert (again.fetched, again.stored) == (1, 1)
    assert Article.objects.count() == 4 and Ticket.objects.count() == 4


def test_imap_delete_removes_the_messages_after_storing_them(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1), mail(2), mail(3)])
    mailbox = make_mailbox(support, dovecot, account, after_import="delete")

    result = fetch.poll_mailbox(mailbox)

    assert result.stored == 3 and not result.error
    assert dovecot.folder(account) == []
    assert titles() == ["Question 1", "Question 2", "Question 3"]
    with InboundMail.objects.get(subject="Question 2").raw.open("rb") as f:
        assert b"This is question number 2." in f.read()


def test_imap_move_files_the_messages_in_another_folder_which_it_creates(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1), mail(2)], folder="Support")
    mailbox = make_mailbox(
        support,
        dovecot,
        account,
        folder="Support",
        after_import="move",
        move_to_folder="Support/Åtgärdat",
    )

    result = fetch.poll_mailbox(mailbox)

    assert result.stored == 2 and not result.error
    assert dovecot.folder(account, "Support") == []
    moved = dovecot.folder(account, fetch.imap_folder_name("Support/Åtgärdat"))  # type: ignore[arg-type]
    assert len(moved) == 2 and all(seen(flags) for _uid, _raw, flags in moved)
    assert titles() == ["Question 1", "Question 2"]


def test_a_changed_uidvalidity_looks_at_every_message_again_without_doubling(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    first = [mail(1), mail(2), mail(3)]
    dovecot.append(account, first, folder="Support")
    mailbox = make_mailbox(support, dovecot, account, folder="Support")
    assert fetch.poll_mailbox(mailbox).stored == 3
    mailbox.refresh_from_db()
    old_validity = mailbox.uidvalidity

    # The folder is rebuilt (as after a server migration): same messages, new UIDs, and two
    # new messages whose UIDs are at or below the old last_uid.
    conn = dovecot.imap(account)
    conn.delete("Support")
    conn.logout()
    dovecot.append(account, [*first, mail(4), mail(5)], folder="Support")

    result = fetch.poll_mailbox(mailbox)

    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != old_validity
    assert (result.fetched, result.stored, result.duplicates) == (5, 2, 3)
    assert Ticket.objects.count() == 5 and InboundMail.objects.count() == 5
    assert not FetchedMessage.objects.exclude(server_id__startswith=f"{mailbox.uidvalidity}:")


def test_a_malformed_message_between_good_ones_holds_nothing_up(
    support: Queue, dovecot: Dovecot, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = (
        b"From: \xff\xfe\r\nSubject: =?utf-8?b?////?=\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\x00\r\n"
    )
    # And one the pipeline cannot process (a bug): it must be kept raw, as a failed mail.
    real_open_ticket = ingest._open_ticket

    def open_ticket(queue, parsed, inbound, related):  # type: ignore[no-untyped-def]
        if parsed.subject == "Poison":
            raise RuntimeError("the pipeline tripped")
        return real_open_ticket(queue, parsed, inbound, related)

    monkeypatch.setattr(ingest, "_open_ticket", open_ticket)
    dovecot.append(account, [mail(1), broken, mail(2, subject="Poison"), mail(3)])
    mailbox = make_mailbox(support, dovecot, account, after_import="delete")

    result = fetch.poll_mailbox(mailbox)

    assert (result.fetched, result.stored, result.failed) == (4, 3, 1)
    assert InboundMail.objects.count() == 4
    failed = InboundMail.objects.get(state=InboundMail.State.FAILED)
    assert failed.subject == "Poison" and "the pipeline tripped" in failed.error
    with failed.raw.open("rb") as f:
        assert b"This is question number 2." in f.read()
    assert {"Question 1", "Question 3"} <= set(titles())
    assert dovecot.folder(account) == []  # all stored (one as failed), so all removed


def test_a_message_that_cannot_be_stored_stays_on_the_server_and_comes_again(
    support: Queue, dovecot: Dovecot, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_insert = ingest.rows.insert

    def refuse_the_second(instance):  # type: ignore[no-untyped-def]
        if isinstance(instance, InboundMail) and instance.subject == "Question 2":
            raise RuntimeError("nowhere to put it")
        return real_insert(instance)

    monkeypatch.setattr(ingest.rows, "insert", refuse_the_second)
    dovecot.append(account, [mail(1), mail(2), mail(3)])
    mailbox = make_mailbox(support, dovecot, account, after_import="delete")

    result = fetch.poll_mailbox(mailbox)

    assert (result.stored, result.failed) == (2, 1)
    assert "nowhere to put it" in result.error
    left = dovecot.folder(account)
    assert [b"Question 2" in raw for _uid, raw, _flags in left] == [True]
    mailbox.refresh_from_db()
    assert "nowhere to put it" in mailbox.last_error

    monkeypatch.undo()
    again = fetch.poll_mailbox(mailbox)
    assert (again.fetched, again.stored) == (1, 1)  # the third is not downloaded again
    assert titles() == ["Question 1", "Question 2", "Question 3"]
    assert dovecot.folder(account) == []
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert fetch.poll_mailbox(mailbox).fetched == 0


# --- POP3 -----------------------------------------------------------------------------------------


def test_pop3_keep_imports_each_message_once(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1), mail(2)])
    mailbox = make_mailbox(support, dovecot, account, protocol="pop3")

    result = fetch.poll_mailbox(mailbox)

    assert (result.fetched, result.stored) == (2, 2) and not result.error
    assert titles() == ["Question 1", "Question 2"]
    assert InboundMail.objects.filter(source="pop3").count() == 2
    assert len(dovecot.folder(account)) == 2  # kept on the server
    assert fetch.poll_mailbox(mailbox).fetched == 0  # known by UIDL
    dovecot.append(account, [mail(3)])
    assert fetch.poll_mailbox(mailbox).stored == 1
    assert Ticket.objects.count() == 3


def test_pop3_delete_removes_the_messages_after_storing_them(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1), mail(2), mail(3)])
    mailbox = make_mailbox(support, dovecot, account, protocol="pop3", after_import="delete")

    result = fetch.poll_mailbox(mailbox)

    assert result.stored == 3 and not result.error
    assert dovecot.folder(account) == []
    assert titles() == ["Question 1", "Question 2", "Question 3"]


# --- TLS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_starttls(
    support: Queue, dovecot: Dovecot, account: Account, protocol: str, security: str
) -> None:
    dovecot.append(account, [mail(1)])
    # The test server's certificate is self-signed: with the check on, nothing is fetched
    # and the admin is told why.
    mailbox = make_mailbox(support, dovecot, account, protocol=protocol, security=security)
    result = fetch.poll_mailbox(mailbox)
    mailbox.refresh_from_db()
    assert result.fetched == 0 and "certificate" in mailbox.last_error
    assert f"127.0.0.1:{mailbox.port}" in mailbox.last_error

    mailbox.verify_tls = False
    mailbox.save()
    result = fetch.poll_mailbox(mailbox)
    mailbox.refresh_from_db()
    assert result.stored == 1 and mailbox.last_error == ""
    assert titles() == ["Question 1"]


# --- Sign-in --------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_wrong_password_is_reported_and_nothing_is_lost(
    support: Queue, dovecot: Dovecot, account: Account, protocol: str
) -> None:
    dovecot.append(account, [mail(1), mail(2)])
    mailbox = make_mailbox(
        support, dovecot, account, protocol=protocol, password="not the password"
    )

    result = fetch.poll_mailbox(mailbox)

    mailbox.refresh_from_db()
    assert result.fetched == 0 and not InboundMail.objects.exists()
    assert f"The server refused the sign-in of {account.username}" in mailbox.last_error
    assert "Authentication failed" in mailbox.last_error  # Dovecot's own words
    assert mailbox.last_polled_at is not None
    on_server = dovecot.folder(account)
    assert len(on_server) == 2 and not any(seen(flags) for _u, _r, flags in on_server)

    mailbox.password = account.password
    mailbox.save()
    assert fetch.poll_mailbox(mailbox).stored == 2
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_a_server_that_is_not_there_is_reported(support: Queue, dovecot: Dovecot) -> None:
    from .dovecot import _free_port

    mailbox = make_mailbox(support, dovecot, Account("someone", "secret"), port=_free_port())
    fetch.poll_mailbox(mailbox)
    mailbox.refresh_from_db()
    assert "refused the connection" in mailbox.last_error


def oauth_mailbox(
    support: Queue,
    dovecot: Dovecot,
    account: Account,
    provider: OAuthProvider,
    protocol: str,
    *,
    rotate: bool = False,
) -> Mailbox:
    client_id, secret, refresh = provider.grant(account.username, rotate=rotate)
    return make_mailbox(
        support,
        dovecot,
        account,
        protocol=protocol,
        password="",
        auth="xoauth2",
        oauth_token_url=provider.token_url,
        oauth_client_id=client_id,
        oauth_client_secret=secret,
        oauth_refresh_token=refresh,
        oauth_scope="https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    )


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_xoauth2_sign_in_with_a_renewed_access_token(
    support: Queue,
    dovecot: Dovecot,
    account: Account,
    oauth_provider: OAuthProvider,
    protocol: str,
) -> None:
    dovecot.append(account, [mail(1), mail(2)])
    mailbox = oauth_mailbox(support, dovecot, account, oauth_provider, protocol, rotate=True)
    first_refresh = mailbox.oauth_refresh_token
    requests_before = len(oauth_provider.token_requests)

    result = fetch.poll_mailbox(mailbox)

    assert result.stored == 2 and not result.error, result.error
    request = oauth_provider.token_requests[-1]
    assert request["grant_type"] == "refresh_token" and request["refresh_token"] == first_refresh
    assert request["scope"] == mailbox.oauth_scope
    mailbox.refresh_from_db()
    # Dovecot accepted the access token (its introspection asked our provider); the rotated
    # refresh token replaced the old one, which the provider no longer knows.
    assert mailbox.oauth_access_token in oauth_provider.access_tokens
    assert mailbox.oauth_refresh_token != first_refresh
    assert mailbox.oauth_refresh_token in oauth_provider.grants
    assert mailbox.oauth_expires_at > timezone.now()

    # A valid token is used again, not renewed on every poll.
    dovecot.append(account, [mail(3)])
    assert fetch.poll_mailbox(mailbox).stored == 1
    assert len(oauth_provider.token_requests) == requests_before + 1

    # The provider revoked it early: the server refuses it, Helpa renews it once and goes on.
    oauth_provider.access_tokens.clear()
    dovecot.append(account, [mail(4)])
    assert fetch.poll_mailbox(mailbox).stored == 1
    assert len(oauth_provider.token_requests) == requests_before + 2
    assert Ticket.objects.count() == 4


def test_an_expired_access_token_is_renewed_before_signing_in(
    support: Queue, dovecot: Dovecot, account: Account, oauth_provider: OAuthProvider
) -> None:
    mailbox = oauth_mailbox(support, dovecot, account, oauth_provider, "imap")
    fetch.poll_mailbox(mailbox)
    mailbox.refresh_from_db()
    old_token = mailbox.oauth_access_token
    mailbox.oauth_expires_at = timezone.now() + fetch.TOKEN_MARGIN / 2
    mailbox.save()

    dovecot.append(account, [mail(1)])
    assert fetch.poll_mailbox(mailbox).stored == 1
    mailbox.refresh_from_db()
    assert mailbox.oauth_access_token != old_token and mailbox.last_error == ""


def test_a_refused_refresh_token_is_reported_and_nothing_is_lost(
    support: Queue, dovecot: Dovecot, account: Account, oauth_provider: OAuthProvider
) -> None:
    dovecot.append(account, [mail(1)])
    mailbox = oauth_mailbox(support, dovecot, account, oauth_provider, "imap")
    oauth_provider.grants.pop(mailbox.oauth_refresh_token)  # the user revoked Helpa's access

    result = fetch.poll_mailbox(mailbox)

    mailbox.refresh_from_db()
    assert result.fetched == 0 and not InboundMail.objects.exists()
    assert "The OAuth provider refused to renew the access" in mailbox.last_error
    assert "invalid_grant" in mailbox.last_error
    assert len(dovecot.folder(account)) == 1


def test_the_sasl_xoauth2_string() -> None:
    assert (
        fetch.xoauth2_string("pia@kund.se", "ya29.token")
        == b"user=pia@kund.se\x01auth=Bearer ya29.token\x01\x01"
    )


# --- The crash test -------------------------------------------------------------------------------

N = 20
CHILD = textwrap.dedent(
    """
    import os, sys, time
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
    django.setup()
    from django.core.management import call_command
    from helpa.mail import ingest

    ingest.BATCH_MESSAGES = 3
    stored = ingest.Batch._store_all

    def slowly(*args, **kwargs):
        results = stored(*args, **kwargs)
        # Committed, and the server copies not yet flagged or removed: the window that matters.
        time.sleep(0.2)
        return results

    ingest.Batch._store_all = slowly
    call_command("fetchmail", "--mailbox", sys.argv[1])
    """
)


@pytest.mark.parametrize(
    ("protocol", "after_import"), [("imap", "keep"), ("imap", "delete"), ("pop3", "delete")]
)
def test_killing_the_import_midway_then_running_it_again_stores_every_message_once(
    transactional_db: None,
    support: Queue,
    dovecot: Dovecot,
    account: Account,
    tmp_path: Path,
    protocol: str,
    after_import: str,
) -> None:
    dovecot.append(account, [mail(n) for n in range(1, N + 1)])
    mailbox = make_mailbox(support, dovecot, account, protocol=protocol, after_import=after_import)

    # `helpa fetchmail` in its own process, on this test's database, killed with SIGKILL
    # (no clean-up, no logout, no QUIT) once a few messages are stored.
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(mailbox.pk)],
        env={
            **os.environ,
            "HELPA_TESTING": "1",
            "HELPA_DATA_DIR": str(tmp_path / "child"),
            "HELPA_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while InboundMail.objects.count() < 7:
        if child.poll() is not None or time.monotonic() > deadline:
            output = child.stdout.read().decode() if child.stdout else ""
            pytest.fail(f"the import ended before it could be killed:\n{output}")
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    killed_at = InboundMail.objects.count()
    assert 7 <= killed_at < N

    result = fetch.poll_mailbox(mailbox)

    assert not result.error
    assert result.stored == N - killed_at
    assert InboundMail.objects.count() == N and Article.objects.count() == N
    assert titles() == sorted(f"Question {n}" for n in range(1, N + 1))
    on_server = dovecot.folder(account)
    if after_import == "keep":
        assert len(on_server) == N and all(seen(flags) for _u, _r, flags in on_server)
    else:
        assert on_server == []
    # And once more: nothing new.
    assert fetch.poll_mailbox(mailbox).stored == 0
    assert Article.objects.count() == N


class Crash(BaseException):
    """Stands for the process dying: nothing in the poll catches it."""


def test_a_crash_between_storing_and_moving_leaves_no_duplicate(
    support: Queue, dovecot: Dovecot, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(account, [mail(n) for n in range(1, 6)])
    mailbox = make_mailbox(support, dovecot, account, after_import="move", move_to_folder="Done")
    real_after_import = fetch._imap_after_import
    calls = 0

    def crash_at_the_third(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Crash
        real_after_import(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch, "_imap_after_import", crash_at_the_third)
    with pytest.raises(Crash):
        fetch.poll_mailbox(Mailbox.objects.get(pk=mailbox.pk))
    # The batch was committed; two of its messages were moved, then the process died.
    assert InboundMail.objects.count() == 5
    assert len(dovecot.folder(account)) == 3

    monkeypatch.undo()
    result = fetch.poll_mailbox(Mailbox.objects.get(pk=mailbox.pk))

    assert (result.fetched, result.stored, result.duplicates) == (3, 0, 3)
    assert InboundMail.objects.count() == 5 and Article.objects.count() == 5
    assert dovecot.folder(account) == [] and len(dovecot.folder(account, "Done")) == 5


def test_a_batch_the_database_refuses_stays_on_the_server(
    support: Queue, dovecot: Dovecot, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(account, [mail(n) for n in range(1, 4)])
    mailbox = make_mailbox(support, dovecot, account, after_import="delete")

    def locked(key: str) -> bool:
        raise OperationalError("database is locked")

    monkeypatch.setattr(ingest, "_already_stored", locked)
    result = fetch.poll_mailbox(mailbox)
    assert "database is locked" in result.error and result.stored == 0
    assert len(dovecot.folder(account)) == 3 and not InboundMail.objects.exists()

    monkeypatch.undo()
    again = fetch.poll_mailbox(mailbox)
    assert (again.fetched, again.stored) == (3, 3) and dovecot.folder(account) == []


# --- The worker and the command -----------------------------------------------------------------


def test_the_periodic_task_polls_every_active_mailbox(support: Queue, dovecot: Dovecot) -> None:
    active, inactive = dovecot.add_account(), dovecot.add_account()
    dovecot.append(active, [mail(1)])
    dovecot.append(inactive, [mail(2)])
    make_mailbox(support, dovecot, active)
    make_mailbox(support, dovecot, inactive, is_active=False)

    totals = tasks.poll_mailboxes_every_minute.call_local()

    assert totals == {"fetched": 1, "stored": 1, "duplicates": 0, "failed": 0, "errors": 0}
    assert titles() == ["Question 1"]


def test_the_fetchmail_command_prints_the_counts(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1), mail(2)])
    mailbox = make_mailbox(support, dovecot, account)
    out = io.StringIO()

    call_command("fetchmail", "--mailbox", str(mailbox.pk), stdout=out)

    assert f"{mailbox.pk} Support imap: fetched 2, stored 2, duplicates 0, failed 0" in (
        out.getvalue()
    )
    mailbox.password = "wrong"
    mailbox.save()
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("fetchmail", "--mailbox", str(mailbox.pk), stdout=out, stderr=err)
    assert "refused the sign-in" in err.getvalue()


# --- Limits and claims ------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_full_mailbox_is_imported_over_several_polls(
    support: Queue, dovecot: Dovecot, account: Account, protocol: str, monkeypatch
) -> None:
    monkeypatch.setattr(fetch, "MESSAGES_PER_POLL", 2)
    dovecot.append(account, [mail(n) for n in range(1, 6)])
    mailbox = make_mailbox(support, dovecot, account, protocol=protocol)

    polls = [fetch.poll_mailbox(mailbox) for _ in range(4)]

    assert [(p.fetched, p.waiting) for p in polls] == [(2, 3), (2, 1), (1, 0), (0, 0)]
    assert not any(p.error for p in polls)
    assert titles() == [f"Question {n}" for n in range(1, 6)]


def test_a_mailbox_another_process_polls_is_left_alone_until_its_claim_expires(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1)])
    mailbox = make_mailbox(support, dovecot, account)
    # Another machine's worker polls it (this machine's would be checked for being alive).
    Mailbox.objects.filter(pk=mailbox.pk).update(
        polling_until=timezone.now() + timezone.timedelta(minutes=5), polled_by="worker-2:4242"
    )
    busy = fetch.poll_mailbox(mailbox)
    assert busy.busy and busy.fetched == 0
    out = io.StringIO()
    call_command("fetchmail", "--mailbox", str(mailbox.pk), stdout=out)
    assert "being polled by another process" in out.getvalue()
    assert not Ticket.objects.exists()

    # A claim left by a process that died expires.
    Mailbox.objects.filter(pk=mailbox.pk).update(
        polling_until=timezone.now() - timezone.timedelta(seconds=1)
    )
    done = fetch.poll_mailbox(mailbox)
    assert (done.busy, done.stored) == (False, 1)
    mailbox.refresh_from_db()
    assert mailbox.polling_until is None  # released after the poll


def test_a_claim_left_by_a_dead_process_of_this_machine_is_taken_over(
    support: Queue, dovecot: Dovecot, account: Account
) -> None:
    dovecot.append(account, [mail(1)])
    mailbox = make_mailbox(support, dovecot, account)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        polling_until=timezone.now() + timezone.timedelta(minutes=5),
        polled_by=f"{fetch.socket.gethostname()}:{dead.pid}",
    )
    assert fetch.poll_mailbox(mailbox).stored == 1
    # A live one keeps it: this test's own process.
    Mailbox.objects.filter(pk=mailbox.pk).update(
        polling_until=timezone.now() + timezone.timedelta(minutes=5),
        polled_by=f"{fetch.socket.gethostname()}:{os.getppid()}",
    )
    assert fetch.poll_mailbox(mailbox).busy


@pytest.fixture
def without_move_and_uidplus(monkeypatch) -> None:
    """A server without MOVE and UIDPLUS (older Exchange, some hosted IMAP): Helpa takes the
    COPY + \\Deleted + EXPUNGE way. Dovecot offers both, so they are hidden from Helpa."""
    sign_in = fetch._imap_sign_in

    def older_server(conn, mailbox):
        return sign_in(conn, mailbox) - {"MOVE", "UIDPLUS"}

    monkeypatch.setattr(fetch, "_imap_sign_in", older_server)


def test_move_without_the_move_command_copies_then_deletes(
    support: Queue, dovecot: Dovecot, account: Account, without_move_and_uidplus
) -> None:
    dovecot.append(account, [mail(1), mail(2)])
    mailbox = make_mailbox(support, dovecot, account, after_import="move", move_to_folder="Done")

    result = fetch.poll_mailbox(mailbox)

    assert result.stored == 2 and not result.error
    assert dovecot.folder(account) == []
    assert len(dovecot.folder(account, "Done")) == 2
    assert titles() == ["Question 1", "Question 2"]


def test_delete_without_uidplus_expunges_the_folder(
    support: Queue, dovecot: Dovecot, account: Account, without_move_and_uidplus
) -> None:
    dovecot.append(account, [mail(1), mail(2)])
    mailbox = make_mailbox(support, dovecot, account, after_import="delete")

    result = fetch.poll_mailbox(mailbox)

    assert result.stored == 2 and not result.error
    assert dovecot.folder(account) == []
    dovecot.append(account, [mail(3)])
    assert fetch.poll_mailbox(mailbox).stored == 1
    assert Ticket.objects.count() == 3
