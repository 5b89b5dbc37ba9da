"""Posts arriving at the same moment (several worker threads, real transactions): one token
makes one ticket, and the per-IP limit holds however many arrive together."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from helpa.tickets.models import Ticket
from helpa.webforms.models import BlockedSubmission, Reason, Submission

from .conftest import Visitor, message

pytestmark = pytest.mark.django_db(transaction=True)


def _all_at_once(posts: list[dict[str, Any]], form) -> list[int]:
    statuses: list[int] = []
    start = threading.Barrier(len(posts))

    def post(data: dict[str, Any]) -> None:
        try:
            client = Client()
            start.wait()
            response = client.post(f"/forms/{form.slug}/", data, REMOTE_ADDR="203.0.113.7")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(data,)) for data in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_one_token_posted_at_once_makes_one_ticket(visitor: Visitor, contact_form):
    _page, token = visitor.open(contact_form)
    statuses = _all_at_once([{"token": token, **message()} for _ in range(6)], contact_form)
    assert statuses == [302] * 6
    assert Ticket.objects.count() == 1
    assert Submission.objects.count() == 1


def test_a_simultaneous_flood_meets_the_ip_limit(visitor: Visitor, contact_form):
    tokens = [visitor.open(contact_form)[1] for _ in range(9)]
    posts = [{"token": t, **message(email=f"f{n}@example.com")} for n, t in enumerate(tokens)]
    statuses = _all_at_once(posts, contact_form)
    assert sorted(statuses) == [302] * 5 + [429] * 4
    assert Ticket.objects.count() == 5
    assert BlockedSubmission.objects.filter(reason=Reason.RATE_IP).count() == 4
