"""The background worker for real: a Huey consumer process, as `make run` and a multi-machine
installation start it, wakes an on-hold ticket whose time has come.

The consumer runs against the test database (HELPA_DATABASE_NAME) and either the Redis server on
127.0.0.1:6379 or a SQLite queue file; the test puts the job on that queue as the web process
would and waits for the ticket to change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

from helpa.accounts.models import User
from helpa.tickets import actions, tasks
from helpa.tickets.models import HistoryEntry, Queue, Status, Ticket

REDIS_URL = "redis://127.0.0.1:6379/15"
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _on_hold_until_a_minute_ago(alice: User, support: Queue) -> Ticket:
    ticket = actions.open_ticket(alice, queue=support, title="Waiting for the spare part")
    actions.update_ticket(alice, ticket, {"owner": alice})
    held = actions.set_status(
        alice, ticket, Status.ON_HOLD, on_hold_until=timezone.now() + timedelta(hours=1)
    )
    # Time passes: the hold has run out.
    Ticket.objects.filter(pk=held.pk).update(on_hold_until=timezone.now() - timedelta(minutes=1))
    return held


def _start_consumer(extra_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        HELPA_HUEY_IMMEDIATE="0",
        HELPA_DATABASE_NAME=str(connection.settings_dict["NAME"]),
        **extra_env,
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "helpa", "run_huey", "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until_open(ticket: Ticket, consumer: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if Ticket.objects.get(pk=ticket.pk).status == Status.OPEN:
            return
        assert consumer.poll() is None, f"the worker exited early:\n{log.read_text()}"
        time.sleep(0.3)
    pytest.fail(f"the worker did not wake the ticket within 40 s:\n{log.read_text()}")


@pytest.fixture
def stop_afterwards() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _job() -> bytes:
    """The wake-up job serialised exactly as the web process would put it on the queue."""
    return HUEY.serialize_task(tasks.wake_on_hold_tickets_now.s())


def test_a_redis_backed_worker_wakes_an_on_hold_ticket(
    alice: User, support: Queue, tmp_path: Path, stop_afterwards: list
) -> None:
    name = f"helpa-test-{uuid.uuid4().hex[:8]}"
    queue = RedisStorage(name, url=REDIS_URL)
    queue.flush_all()
    ticket = _on_hold_until_a_minute_ago(alice, support)
    queue.enqueue(_job())

    log = tmp_path / "worker.log"
    consumer = _start_consumer({"REDIS_URL": REDIS_URL, "HELPA_HUEY_NAME": name}, log)
    stop_afterwards.append(consumer)
    _wait_until_open(ticket, consumer, log)

    woke = HistoryEntry.objects.filter(ticket=ticket, field="status").last()
    assert (woke.old_value, woke.new_value) == (Status.ON_HOLD, Status.OPEN)
    assert woke.actor_name == actions.WAKE_ACTOR.name
    queue.flush_all()


def test_the_default_sqlite_backed_worker_wakes_an_on_hold_ticket(
    alice: User, support: Queue, tmp_path: Path, stop_afterwards: list
) -> None:
    queue_file = tmp_path / "huey.sqlite3"
    queue = SqliteStorage("helpa", filename=str(queue_file))
    ticket = _on_hold_until_a_minute_ago(alice, support)
    queue.enqueue(_job())

    log = tmp_path / "worker.log"
    env = {"HELPA_HUEY_FILE": str(queue_file), "REDIS_URL": ""}
    consumer = _start_consumer(env, log)
    stop_afterwards.append(consumer)
    _wait_until_open(ticket, consumer, log)
    assert Ticket.objects.get(pk=ticket.pk).on_hold_until is None


def test_the_wake_up_job_is_due_every_minute() -> None:
    start = timezone.now().replace(second=0, microsecond=0)
    for minute in range(0, 120, 7):
        due = {task.name for task in HUEY.read_periodic(start + timedelta(minutes=minute))}
        assert "wake_on_hold_tickets_every_minute" in due
