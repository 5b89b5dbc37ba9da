"""A real Dovecot IMAP/POP3 server for the mail-fetching tests, and the OAuth 2 provider it
trusts for XOAUTH2.

`dovecot` (session-scoped) starts `/usr/sbin/dovecot -F` on 127.0.0.1 with free ports and a
test-owned configuration, certificate and Maildir store under a fresh directory in /tmp:

- IMAP plain/STARTTLS and IMAPS, POP3 plain/STLS and POP3S, all with a self-signed certificate
  for 127.0.0.1 (made with the `openssl` command);
- accounts in a `passwd-file` (each test takes an account of its own, with an empty mailbox), a `static` userdb, and an `oauth2` passdb for XOAUTH2;
- Dovecot's login processes refuse to run as root, so when the tests run as root they run as
  `dovenull`, Dovecot's own processes as `dovecot`, and the mail store belongs to `nobody`.

`oauth_provider` (session-scoped) is a small HTTP server on 127.0.0.1 with a token endpoint
(the refresh-token grant Helpa uses) and an introspection endpoint (what Dovecot asks whether an
access token is valid, and for whom).

conftest.py imports these fixtures, so any test in helpa/mail/tests can ask for them.
"""

from __future__ import annotations

import imaplib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

DOVECOT = "/usr/sbin/dovecot"
INSTALL_HINT = "apt-get install dovecot-imapd dovecot-pop3d"
HOST = "127.0.0.1"
START_SECONDS = 20
SPARE_ACCOUNTS = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- OAuth 2 provider -------------------------------------------------------------------------


@dataclass
class Grant:
    """A refresh token the provider knows: whose mailbox it opens, for which client."""

    username: str
    client_id: str
    client_secret: str
    rotate: bool = False  # answer with a new refresh token (and retire this one)


@dataclass
class OAuthProvider:
    url: str
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # → user, expiry
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lifetime: int = 3600

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def grant(self, username: str, *, rotate: bool = False) -> tuple[str, str, str]:
        """A new client and refresh token for `username`: (client_id, secret, refresh_token)."""
        client_id, secret, refresh = (secrets.token_urlsafe(8) for _ in range(3))
        self.grants[refresh] = Grant(username, client_id, secret, rotate)
        return client_id, secret, refresh

    def issue(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        self.token_requests.append(form)
        grant = self.grants.get(form.get("refresh_token", ""))
        if form.get("grant_type") != "refresh_token" or grant is None:
            return 400, {"error": "invalid_grant", "error_description": "Unknown refresh token."}
        if (form.get("client_id"), form.get("client_secret")) != (
            grant.client_id,
            grant.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        access = secrets.token_urlsafe(24)
        self.access_tokens[access] = (grant.username, time.time() + self.lifetime)
        answer: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if grant.rotate:
            del self.grants[form["refresh_token"]]
            new = secrets.token_urlsafe(8)
            self.grants[new] = grant
            answer["refresh_token"] = new
        return 200, answer

    def introspect(self, token: str) -> dict[str, object]:
        username, expiry = self.access_tokens.get(token, ("", 0.0))
        if not username or expiry < time.time():
            return {"active": "false"}
        return {"active": "true", "username": username}


def _handler(provider: OAuthProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 — the http.server name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if self.path == "/token":
                status, answer = provider.issue(form)
            elif self.path == "/introspect":
                status, answer = 200, provider.introspect(form.get("token", ""))
            else:
                status, answer = 404, {"error": "not_found"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[OAuthProvider]:
    provider = OAuthProvider(url="")
    server = ThreadingHTTPServer((HOST, 0), _handler(provider))
    provider.url = f"http://{HOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()


# --- Dovecot ----------------------------------------------------------------------------------


@dataclass
class Account:
    username: str
    password: str


@dataclass
class Dovecot:
    run_dir: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes]
    mail_uid: int
    mail_gid: int
    spare_accounts: list[Account] = field(default_factory=list)
    host: str = HOST

    @property
    def passwd_file(self) -> Path:
        return self.run_dir / "passwd"

    @property
    def cert_file(self) -> Path:
        return self.run_dir / "cert.pem"

    def add_account(self) -> Account:
        """An account of its own with an empty mailbox. Accounts are made ahead, at start-up:
        Dovecot re-reads a changed passwd-file at most once a second."""
        if not self.spare_accounts:
            self.spare_accounts = _write_accounts(self.passwd_file, SPARE_ACCOUNTS)
            time.sleep(1.1)
        return self.spare_accounts.pop()

    def imap(self, account: Account) -> imaplib.IMAP4:
        """A logged-in IMAP connection, for putting mail in and looking at what is left."""
        conn = imaplib.IMAP4(self.host, self.ports["imap"], timeout=10)
        conn.login(account.username, account.password)
        return conn

    def append(self, account: Account, messages: list[bytes], folder: str = "INBOX") -> None:
        conn = self.imap(account)
        try:
            if folder != "INBOX":
                conn.create(folder)
            for raw in messages:
                typ, data = conn.append(folder, "", None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def folder(self, account: Account, folder: str = "INBOX") -> list[tuple[int, bytes, str]]:
        """What a mail client sees in `folder`: (uid, raw message, flags) for each message."""
        conn = self.imap(account)
        try:
            typ, _data = conn.select(folder, readonly=True)
            assert typ == "OK", _data
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            found = []
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta = item[0].decode()
                uid = int(meta.split("UID ")[1].split()[0])
                flags = meta.split("FLAGS (")[1].split(")")[0]
                found.append((uid, item[1], flags))
            return sorted(found)
        finally:
            conn.logout()

    def log(self) -> str:
        path = self.run_dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _write_accounts(passwd_file: Path, count: int) -> list[Account]:
    accounts = [
        Account(f"user-{secrets.token_hex(4)}", secrets.token_urlsafe(12)) for _ in range(count)
    ]
    with passwd_file.open("a") as f:
        for account in accounts:
            f.write(f"{account.username}:{{PLAIN}}{account.password}::::::\n")
    return accounts


def _config(run: Path, ports: dict[str, int], oauth_url: str, uid: int, gid: int) -> str:
    if os.geteuid() == 0:
        login_user, internal_user = "dovenull", "dovecot"
    else:  # an unprivileged Dovecot runs every process as the user who started it
        login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
    return f"""
instance_name = helpa-test-{run.name}
base_dir = {run}/run
state_dir = {run}/state
log_path = {run}/dovecot.log
listen = {HOST}
protocols = imap pop3
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{run}/cert.pem
ssl_key = <{run}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
mail_location = maildir:{run}/mail/%u

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {run}/passwd
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {run}/oauth2.conf
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={run}/mail/%u
}}

service imap-login {{
  inet_listener imap {{
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    port = {ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = {ports["pop3s"]}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _start(run: Path, oauth_url: str) -> Dovecot:
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("nobody")
        uid, gid = mail_user.pw_uid, mail_user.pw_gid
    else:
        uid, gid = os.geteuid(), os.getegid()
    run.chmod(0o755)  # Dovecot's unprivileged processes read the passwd-file and the store
    (run / "mail").mkdir()
    os.chown(run / "mail", uid, gid)
    spare = _write_accounts(run / "passwd", SPARE_ACCOUNTS)
    (run / "oauth2.conf").write_text(
        f"introspection_mode = post\n"
        f"introspection_url = {oauth_url}/introspect\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
        "force_introspection = yes\n"
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(run / "key.pem"),
            "-out",
            str(run / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    ports = {name: _free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
    conf = run / "dovecot.conf"
    conf.write_text(_config(run, ports, oauth_url, uid, gid))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(conf)],
        stdout=(run / "stdout.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Dovecot(
        run_dir=run, ports=ports, process=process, mail_uid=uid, mail_gid=gid, spare_accounts=spare
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _stop(server)
            pytest.fail(
                "Dovecot did not start:\n"
                + (run / "stdout.log").read_text(errors="replace")
                + server.log()
            )
        try:
            for port in ports.values():
                socket.create_connection((HOST, port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    _stop(server)
    pytest.fail(f"Dovecot did not listen within {START_SECONDS} s:\n{server.log()}")


def _stop(server: Dovecot) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def dovecot(oauth_provider: OAuthProvider) -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        pytest.fail(f"Dovecot is needed for the mail-fetching tests: {INSTALL_HINT}")
    if shutil.which("openssl") is None:
        pytest.fail("The openssl command is needed for the TLS tests: apt-get install openssl")
    # Not under pytest's tmp_path: that is private to the user running the tests, and Dovecot's
    # unprivileged processes must reach the store and the passwd-file.
    run = Path(tempfile.mkdtemp(prefix="helpa-dovecot-"))
    server = _start(run, oauth_provider.url)
    yield server
    _stop(server)
    shutil.rmtree(run, ignore_errors=True)
