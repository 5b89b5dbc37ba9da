"""A real SMTP server for the outgoing-mail tests: aiosmtpd on 127.0.0.1, collecting what it
receives. It can refuse recipients (permanently or once), be stopped and started again on the
same port (an outage), offer STARTTLS with a certificate made by `openssl`, and require a login.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Recorder:
    """The server's handler: what arrived, and which recipients to refuse."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address → reply, every time
    refuse_once: dict[str, str] = field(default_factory=dict)  # address → reply, the first time
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        key = address.lower()
        if key in self.refuse:
            return self.refuse[key]
        if key in self.refuse_once:
            return self.refuse_once.pop(key)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """One aiosmtpd server on 127.0.0.1; `stop()` and `start()` keep the port."""

    def __init__(self, **smtp_parameters: Any) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.smtp_parameters = smtp_parameters
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?plain"

    def start(self) -> None:
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, **self.smtp_parameters
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings):
    """A plain SMTP server that the installation sends through (HELPA_SMTP_URL)."""
    server = SmtpServer()
    server.start()
    settings.HELPA_SMTP_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
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
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def starttls_server(tls_files, monkeypatch):
    """An SMTP server that offers STARTTLS and requires a login (after TLS) as
    helpa / s3cret. The client trusts its certificate through SSL_CERT_FILE, which OpenSSL
    reads whenever a default context loads the system's certificates."""
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == b"helpa" and auth_data.password == b"s3cret"
        )
        if ok:
            recorder.logins.append((mechanism, auth_data.login.decode()))
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=ok, handled=False)

    server = SmtpServer(
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
        auth_required=True,
    )
    recorder = server.recorder
    server.start()
    yield server
    server.stop()
