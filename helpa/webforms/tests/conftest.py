"""A contact form of the Support queue, and a visitor's way of opening and sending it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from helpa.tickets.models import Queue
from helpa.webforms.models import ContactForm, default_fields

TOKEN = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture
def contact_form(queue_support: Queue) -> ContactForm:
    """Name, e-mail, phone, customer number, subject, message and attachments; no minimum fill
    time (the tests of that set one)."""
    fields = default_fields()
    for key in ("phone", "customer_number", "attachments"):
        fields[key]["mode"] = "optional"
    return ContactForm.objects.create(
        name="Contact us",
        slug="contact",
        queue=queue_support,
        fields=fields,
        min_fill_seconds=0,
        fallback_address="help@example.com",
    )


@dataclass
class Visitor:
    """A browser without cookies, on one IP address."""

    client: Client
    ip: str = "203.0.113.7"

    def open(self, form: ContactForm, query: str = "") -> tuple[Any, str]:
        response = self.client.get(f"/forms/{form.slug}/{query}", REMOTE_ADDR=self.ip)
        assert response.status_code == 200, response.status_code
        match = TOKEN.search(response.content.decode())
        assert match, "the form carries a token"
        return response, match.group(1)

    def send(self, form: ContactForm, token: str, ip: str | None = None, **data: Any) -> Any:
        payload = {"token": token, "website": "", **data}
        return self.client.post(f"/forms/{form.slug}/?lang=en", payload, REMOTE_ADDR=ip or self.ip)

    def fill_and_send(self, form: ContactForm, query: str = "", **data: Any) -> Any:
        _response, token = self.open(form, query)
        return self.send(form, token, **data)


@pytest.fixture
def visitor(db: None) -> Visitor:
    # enforce_csrf_checks: the form must work without Django's CSRF cookie, as in a third-party
    # frame where the browser sends no cookies.
    return Visitor(Client(enforce_csrf_checks=True))


def message(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Ann Berg",
        "email": "ann@example.com",
        "subject": "The invoice is wrong",
        "message": "Hello,\nthe amount on invoice 1234 is wrong.",
    }
    data.update(overrides)
    return data
