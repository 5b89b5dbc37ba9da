"""The background worker for real: a Huey consumer process, started the way `make run` and a
multi-machine installation start it, wakes an on-hold ticket whose time has come.

The consumer runs against this test's database (HELPA_DATABASE_NAME) and either the Redis server
on 127.0.0.1:6379 or a SQLite queue file (HELPA_HUEY_FILE). The test process puts the job on that
queue exactly as a web process does, by calling the task, and waits for the ticket to change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from huey.api import PeriodicTask, Result
from huey.contrib.djhuey import HUEY
from huey.storage import BaseStorage, RedisStorage, SqliteStorage

from helpa.accounts.models import User
from helpa.tickets import actions, tasks
from helpa.tickets.models import HistoryEntry, Queue, Status, Ticket

REDIS_URL = "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 30
pytestmark = pytest.mark.worker


@pytest.fixture
def held_ticket(transactional_db: None, alice: User, queue_support: Queue) -> Ticket:
    """An on-hold ticket whose hold ran out a minute ago (committed: the worker must see it)."""
    ticket = actions.open_ticket(alice, queue=queue_support, title="Waiting for the spare part")
    actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
    actions.set_status(
        alice, ticket, Status.ON_HOLD, on_hold_until=timezone.now() - timedelta(minutes=1)
    )
    return Ticket.objects.get(pk=ticket.pk)


@contextmanager
def queued_on(storage: BaseStorage) -> Iterator[None]:
    """Let tasks called in the block go onto `storage`, as in a web process.

    Under test, HUEY runs in immediate mode (a task runs at once, in process, on an in-memory
    storage). Switching `immediate` off with `immediate_use_memory` off keeps huey from building
    the configured storage (the installation's queue file); we hand it the worker's instead.
    """
    saved = HUEY.immediate, HUEY.immediate_use_memory, HUEY.storage
    HUEY.immediate_use_memory = False
    HUEY.immediate = False
    HUEY.storage = storage
    try:
        yield
    finally:
        HUEY.immediate = saved[0]
        HUEY.immediate_use_memory = saved[1]
        HUEY.storage = saved[2]


@dataclass
class Worker:
    """One `helpa run_huey` process, with the periodic schedule off: only the job a test queued
    can wake the ticket."""

    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "helpa", "run_huey", "--workers", "1", "--no-periodic"],
                env={
                    **os.environ,
                    "HELPA_HUEY_IMMEDIATE": "0",
                    "HELPA_DATABASE_NAME": str(connection.settings_dict["NAME"]),
                    **env,
                },
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_until_open(self, ticket: Ticket) -> Ticket:
        assert self.process is not None
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            fresh = Ticket.objects.get(pk=ticket.pk)
            if fresh.status == Status.OPEN:
                return fresh
            assert self.process.poll() is None, f"the worker exited:\n{self.log.read_text()}"
            time.sleep(0.2)
        pytest.fail(f"no wake-up within {WAIT_SECONDS} s; the worker said:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    started = Worker(log=tmp_path / "worker.log")
    yield started
    started.stop()


def _job_result(storage: BaseStorage, result: Result) -> object:
    """What the job returned, read from the worker's result store."""
    with queued_on(storage):
        return result.get(blocking=True, timeout=10)


def _assert_woken_by_the_job(ticket: Ticket) -> None:
    assert ticket.on_hold_until is None
    woke = HistoryEntry.objects.filter(ticket=ticket, field="status").order_by("id").last()
    assert (woke.old_value, woke.new_value) == (Status.ON_HOLD, Status.OPEN)
    assert woke.actor is None
    assert woke.actor_name == actions.WAKE_ACTOR.name == "Helpa (on hold ended)"


def test_a_redis_backed_worker_wakes_an_on_hold_ticket(held_ticket: Ticket, worker: Worker) -> None:
    name = f"helpa-test-{uuid.uuid4().hex[:12]}"
    storage = RedisStorage(name, url=REDIS_URL)
    try:
        with queued_on(storage):
            result = tasks.wake_on_hold_tickets_now()
        assert storage.queue_size() == 1  # queued, not run in this process
        assert Ticket.objects.get(pk=held_ticket.pk).status == Status.ON_HOLD

        worker.start({"REDIS_URL": REDIS_URL, "HELPA_HUEY_NAME": name})
        woken = worker.wait_until_open(held_ticket)

        _assert_woken_by_the_job(woken)
        assert _job_result(storage, result) == 1  # the one ticket
        assert storage.queue_size() == 0
    finally:
        storage.flush_all()


def test_a_sqlite_backed_worker_wakes_an_on_hold_ticket(
    held_ticket: Ticket, worker: Worker, tmp_path: Path
) -> None:
    """The default for one machine: the queue is a SQLite file (whatever the database is)."""
    queue_file = tmp_path / "huey.sqlite3"
    name = f"helpa-test-{uuid.uuid4().hex[:12]}"
    storage = SqliteStorage(name, filename=str(queue_file))
    with queued_on(storage):
        result = tasks.wake_on_hold_tickets_now()
    assert storage.queue_size() == 1

    env = {"REDIS_URL": "", "HELPA_HUEY_FILE": str(queue_file), "HELPA_HUEY_NAME": name}
    worker.start(env)
    woken = worker.wait_until_open(held_ticket)

    _assert_woken_by_the_job(woken)
    assert _job_result(storage, result) == 1


def test_the_wake_up_job_runs_every_minute() -> None:
    assert issubclass(tasks.wake_on_hold_tickets_every_minute.task_class, PeriodicTask)

    start = timezone.now().replace(second=0, microsecond=0)
    minutes = [start + timedelta(minutes=m) for m in range(0, 24 * 60, 7)]
    for minute in minutes:
        due = {task.name for task in HUEY.read_periodic(minute)}
        assert "wake_on_hold_tickets_every_minute" in due, minute
