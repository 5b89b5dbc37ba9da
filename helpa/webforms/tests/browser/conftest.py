"""The ticket app's browser fixtures (Chromium through Playwright, the live server on 127.0.0.1),
plus a second web server on another port: the customer's own website."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpa.tickets.tests.browser.conftest import browser  # noqa: F401  (the fixture)


@pytest.fixture
def other_site() -> Iterator[Callable[[str], str]]:
    """`other_site(html)` serves the page at / of a server on another 127.0.0.1 port and gives
    its address."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def serve(html: str) -> str:
        pages["/"] = html.encode()
        return origin + "/"

    yield serve
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
