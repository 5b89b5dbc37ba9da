"""A fake SMS provider on 127.0.0.1 that speaks the 46elks and Twilio send APIs (paths,
Basic authentication, form fields, JSON answers and error shapes), and settings that point
Helpa at it."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpa.lib.tokens import new_token
from helpa.sms.models import Provider, SmsSettings
from helpa.tickets.models import Queue

ACCOUNT = "u1234567890abcdef"
SECRET = "s3cr3t-password"
TWILIO_SID = "AC00000000000000000000000000000000"
TWILIO_TOKEN = "12345"


@dataclass
class Sent:
    path: str
    user: str
    password: str
    form: dict[str, str]


@dataclass
class FakeProvider:
    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    # Answers to give, one per request, before the normal success ("500", "400", "401").
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        scheme, _sp, encoded = headers.get("Authorization", "").partition(" ")
        user, _c, password = base64.b64decode(encoded or "").decode().partition(":")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        with self.lock:
            if self.failures:
                status = self.failures.pop(0)
                if path.endswith("/Messages.json"):
                    error = {
                        "code": 21211,
                        "message": "The 'To' number is not valid.",
                        "status": status,
                    }
                    return status, json.dumps(error).encode()
                return status, b"Invalid to number" if status == 400 else b"Server error"
            if scheme != "Basic":
                return 401, b"Missing authentication"
            self.sent.append(Sent(path, user, password, form))
            number = len(self.sent)
        if path == "/a1/sms":
            return 200, json.dumps(
                {"id": f"s{number:031x}", "status": "created", "to": form.get("to"), "parts": 1}
            ).encode()
        if path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return 201, json.dumps({"sid": f"SM{number:032x}", "status": "queued"}).encode()
        return 404, b"Not found"


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    state = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 — the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, answer = state.answer(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def elks(queue_support: Queue, fake_provider: FakeProvider) -> tuple[SmsSettings, str]:
    """46elks set up, pointed at the fake provider; the inbound secret is returned."""
    raw, hashed = new_token()
    settings = SmsSettings.load()
    settings.provider = Provider.ELKS
    settings.api_url = f"{fake_provider.url}/a1"
    settings.account = ACCOUNT
    settings.secret = SECRET
    settings.sender = "+46766860000"
    settings.default_queue = queue_support
    settings.inbound_token_hash = hashed
    settings.save()
    return settings, raw


@pytest.fixture
def twilio(queue_support: Queue, fake_provider: FakeProvider) -> SmsSettings:
    settings = SmsSettings.load()
    settings.provider = Provider.TWILIO
    settings.api_url = f"{fake_provider.url}/2010-04-01"
    settings.account = TWILIO_SID
    settings.secret = TWILIO_TOKEN
    settings.sender = "+15005550006"
    settings.default_queue = queue_support
    settings.save()
    return settings
