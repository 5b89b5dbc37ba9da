"""Webhooks over HTTPS to a receiver the test starts on 127.0.0.1 with its own certificate
authority: the connection goes to the address Helpa checked, while the certificate is checked
for the URL's host name — a certificate for another name, or from an authority nobody trusts,
is refused and the delivery retried."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpa.api import webhooks
from helpa.api.models_webhooks import Webhook, WebhookDelivery, WebhookEvent


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _authority(directory: Path, name: str) -> Path:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem"


def _certificate(directory: Path, authority: str, name: str, alt_names: str) -> tuple[Path, Path]:
    """A server certificate signed by `authority`, for the subjectAltName given."""
    (directory / f"{name}.ext").write_text(f"subjectAltName={alt_names}\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{authority}.pem",
        "-CAkey", f"{authority}.key", "-CAcreateserial", "-days", "2",
        "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem", directory / f"{name}.key"


@dataclass
class HttpsReceiver:
    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)


def _serve(cert: Path, key: Path) -> tuple[ThreadingHTTPServer, HttpsReceiver]:
    state = HttpsReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 — the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append({"host": self.headers.get("Host"), "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


@pytest.fixture
def pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An authority Helpa trusts (through SSL_CERT_FILE, which OpenSSL reads when Python asks
    for the default certificates) and one it does not."""
    trusted = _authority(tmp_path, "trusted-ca")
    _authority(tmp_path, "stranger-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted))
    return tmp_path


@pytest.fixture
def localhost_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "localhost" resolves to 127.0.0.1 only (some machines list ::1 first, where the test
    server does not listen)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def serve(pki: Path) -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(authority: str, alt_names: str) -> HttpsReceiver:
        cert, key = _certificate(pki, authority, f"server-{len(servers)}", alt_names)
        server, state = _serve(cert, key)
        servers.append(server)
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _deliver(url: str) -> WebhookDelivery:
    hook = Webhook.objects.create(url=url, events=list(WebhookEvent.values), allow_private=True)
    delivery = WebhookDelivery.objects.create(
        webhook=hook, event="ticket.created", payload={"n": 1}
    )
    webhooks.send_due()
    delivery.refresh_from_db()
    return delivery


def test_https_to_the_checked_address_with_the_certificate_checked_for_the_name(
    db: None, serve: Any, localhost_is_loopback: None
) -> None:
    # The certificate names only "localhost", not the address connected to: it is accepted
    # because the name checked is the URL's, while the socket goes to the resolved 127.0.0.1.
    receiver = serve("trusted-ca", "DNS:localhost")
    delivery = _deliver(f"https://localhost:{receiver.port}/hooks")
    assert delivery.state == WebhookDelivery.State.SENT and delivery.last_status_code == 200
    [request] = receiver.received
    assert request["host"] == f"localhost:{receiver.port}"
    assert json.loads(request["body"]) == {"n": 1}


def test_a_certificate_for_another_name_is_refused_and_retried(
    db: None, serve: Any, localhost_is_loopback: None
) -> None:
    receiver = serve("trusted-ca", "DNS:hooks.example.com")
    delivery = _deliver(f"https://localhost:{receiver.port}/hooks")
    assert delivery.state == WebhookDelivery.State.PENDING and delivery.attempts == 1
    assert "certificate" in delivery.last_error.lower()
    assert not receiver.received


def test_a_certificate_from_an_unknown_authority_is_refused(db: None, serve: Any) -> None:
    receiver = serve("stranger-ca", "IP:127.0.0.1")
    delivery = _deliver(f"https://127.0.0.1:{receiver.port}/hooks")
    assert delivery.state == WebhookDelivery.State.PENDING
    assert "certificate verify failed" in delivery.last_error
    assert not receiver.received


def test_https_to_an_address_with_a_certificate_for_it(db: None, serve: Any) -> None:
    receiver = serve("trusted-ca", "IP:127.0.0.1")
    delivery = _deliver(f"https://127.0.0.1:{receiver.port}/hooks")
    assert delivery.state == WebhookDelivery.State.SENT
    assert len(receiver.received) == 1
