"""Time report benchmark: a year of time grouped by company, over 1,000,000 tickets and
~1,000,000 time entries on PostgreSQL (issue 7: under 500 ms).

    python -m bench.timereport [--size 1000000] [--entries 1000000] [--runs 5] [--keep]

Builds its own database `helpa_bench_time` (dropped and made again unless `--keep` finds a
complete one): migrated, filled with `bench.generate` (the page benchmark's tickets, people and
queues), then `--entries` time entries in one INSERT … SELECT: spread over the last two years
(730 local days), on tickets, agents and minutes (5–120) chosen by a multiplicative hash of the
entry's sequence number, 85 % billable, each with its ticket's queue, company and category (as
`actions.add_article` writes them), stored in the order of their days, as entries arrive when
agents log their work.

Measured through Django's test client, DEBUG off: `/reports/time/?period=last_year&group=company`
as an admin (every queue) and as the bench agent (three of ten queues), after a warm-up; the
median of `--runs` requests, the statement count, and EXPLAIN (ANALYZE, BUFFERS) of the report's
aggregate next to the same aggregate joined to the tickets (what the copied columns save).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

import psycopg

from bench.__main__ import DATA, PG_URL, Postgres, _run

TARGET_MS = 500.0
NAME = "helpa_bench_time"
URL = "/reports/time/?period=last_year&group=company&by=month"


class TimeDatabase(Postgres):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.name = NAME
        self.env = {"DATABASE_URL": PG_URL + NAME, "HELPA_DATA_DIR": str(DATA / NAME)}

    def entries(self) -> int:
        try:
            with psycopg.connect(PG_URL + self.name, connect_timeout=3) as conn:
                return conn.execute("SELECT count(*) FROM tickets_timeentry").fetchone()[0]
        except psycopg.Error:
            return 0


def _python_m(module: str, *args: str) -> list[str]:
    # `python -m` from the repository root: this checkout's code, whatever `helpa` is installed.
    return [sys.executable, "-m", module, *args]


def prepare(size: int, entries: int, keep: bool) -> dict[str, float]:
    db = TimeDatabase(size)
    (DATA / NAME).mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    if keep and db.generated() == size and os.environ.get("BENCH_REFILL"):
        with psycopg.connect(PG_URL + db.name, autocommit=True) as conn:
            conn.execute("TRUNCATE tickets_timeentry")
    if keep and db.generated() == size and db.entries() >= entries:
        print(f"{NAME}: reusing the generated database", file=sys.stderr)
        _run(_python_m("helpa", "migrate", "--noinput", "--verbosity", "0"), db.env)
        return timings
    if keep and db.generated() == size:
        print(f"{NAME}: {entries:,} time entries on the kept tickets …", file=sys.stderr)
        started = time.monotonic()
        _run(_python_m("bench.timereport", "--inside", "fill", "--entries", str(entries)), db.env)
        timings["entries_s"] = time.monotonic() - started
        return timings
    print(f"{NAME}: generating {size:,} tickets …", file=sys.stderr, flush=True)
    started = time.monotonic()
    db.recreate()
    _run(_python_m("helpa", "migrate", "--noinput", "--verbosity", "0"), db.env)
    _defaults_for_generate(db)
    _run(_python_m("bench.generate", str(size)), db.env)
    timings["tickets_s"] = time.monotonic() - started
    print(f"{NAME}: {entries:,} time entries …", file=sys.stderr, flush=True)
    started = time.monotonic()
    _run(_python_m("bench.timereport", "--inside", "fill", "--entries", str(entries)), db.env)
    timings["entries_s"] = time.monotonic() - started
    return timings


def _defaults_for_generate(db: TimeDatabase) -> None:
    """bench.generate names the ticket columns it knew; yes/no columns added since (legal
    hold…) get a database default of false, as Django would have written."""
    with psycopg.connect(PG_URL + db.name, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_name IN ('tickets_ticket', 'tickets_article') AND data_type = 'boolean' "
            "AND is_nullable = 'NO' AND column_default IS NULL"
        ).fetchall()
        for table, column in columns:
            conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT false')


def _setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
    django.setup()


def fill(count: int) -> None:
    """Runs inside the database's settings: `count` entries in one statement."""
    _setup_django()
    from django.db import connection

    from helpa.accounts.models import Role, User

    agents = list(User.objects.filter(role=Role.AGENT).order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cur:
        cur.execute("SET work_mem = '256MB'; SET synchronous_commit = off")
        cur.execute("SELECT min(id), count(*) FROM tickets_ticket")
        first, tickets = cur.fetchone()
        cur.execute(
            """
            INSERT INTO tickets_timeentry (ticket_id, article_id, user_id, minutes, billable,
                worked_on, note, created_at, queue_id, company_id, category_id)
            SELECT t.id, NULL, (%(agents)s::bigint[])[1 + (g.h3 %% %(agent_count)s)],
                   5 + g.h2 %% 116, g.h4 %% 100 < 85, g.day, '',
                   g.day + time '12:00', t.queue_id, t.company_id, t.category_id
            FROM (
                SELECT n,
                       (current_date - ((n * 2246822519) %% 4294967296 %% 730)::int) AS day,
                       (n * 3266489917) %% 4294967296 AS h2,
                       (n * 668265263) %% 4294967296 AS h3,
                       (n * 374761393) %% 4294967296 AS h4,
                       %(first)s + (n * 2654435761) %% 4294967296 %% %(tickets)s AS ticket
                FROM generate_series(1::bigint, %(count)s) AS n
            ) AS g
            JOIN tickets_ticket t ON t.id = g.ticket
            ORDER BY g.day, g.n
            """,
            {
                "agents": agents,
                "agent_count": len(agents),
                "first": first,
                "tickets": tickets,
                "count": count,
            },
        )
        cur.execute("VACUUM (ANALYZE) tickets_timeentry")


class QueryLog:
    def __init__(self) -> None:
        self.sql: list[tuple[str, Any]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.sql.append((sql, params))
        return execute(sql, params, many, context)


def measure(runs: int) -> dict[str, Any]:
    """Runs inside the database's settings."""
    _setup_django()
    from django.db import connection, transaction
    from django.db.models import Count, F, Q, Sum
    from django.test import Client

    from bench import BENCH_AGENT
    from helpa.accounts.models import Role, User
    from helpa.reports import periods
    from helpa.reports.timereport import PeriodStart
    from helpa.tickets.models import Ticket, TimeEntry

    admin, _created = User.objects.get_or_create(
        email="bench.admin@example.com", defaults={"role": Role.ADMIN, "full_name": "Bench Admin"}
    )
    result: dict[str, Any] = {"tickets": Ticket.objects.count()}
    period = periods.preset("last_year")
    in_year = TimeEntry.objects.filter(worked_on__gte=period.start, worked_on__lte=period.end)
    result["entries"] = TimeEntry.objects.count()
    result["entries_in_year"] = in_year.count()
    for label, user in (("admin", admin), ("agent", User.objects.get(email=BENCH_AGENT))):
        client = Client()
        client.force_login(user)
        for _ in range(2):  # warm-up
            assert client.get(URL).status_code == 200
        timings, counts = [], []
        for _ in range(runs):
            log = QueryLog()
            with connection.execute_wrapper(log):
                started = time.perf_counter()
                response = client.get(URL)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            counts.append(len(log.sql))
        result[label] = {
            "median_ms": statistics.median(timings),
            "max_ms": max(timings),
            "queries": max(counts),
            "bytes": len(response.content),
        }
    sums = {
        "total": Sum("minutes"),
        "billable": Sum("minutes", filter=Q(billable=True)),
        "n": Count("*"),
    }
    month = PeriodStart("worked_on", "month")
    copied = in_year.values(month=month, key=F("company_id")).annotate(**sums).order_by()
    joined = in_year.values(month=month, key=F("ticket__company_id")).annotate(**sums).order_by()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '32MB'")  # as timereport._sums
        result["explain_copied"] = copied.explain(analyze=True, buffers=True)
        result["explain_joined"] = joined.explain(analyze=True, buffers=True)
    return result


def _ms_of(plan: str) -> str:
    line = next((x for x in plan.splitlines() if x.startswith("Execution Time")), "")
    return line.split(":")[-1].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--inside", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside == "fill":
        fill(args.entries)
        return
    if args.inside == "measure":
        print(json.dumps(measure(args.runs)))
        return
    timings = prepare(args.size, args.entries, args.keep)
    # DEBUG off serves static files from the manifest: the page needs them collected.
    collect = _python_m("helpa", "collectstatic", "--noinput", "--verbosity", "0")
    _run(collect, TimeDatabase(args.size).env)
    print(f"{NAME}: measuring …", file=sys.stderr, flush=True)
    out = _run(
        _python_m("bench.timereport", "--inside", "measure", "--runs", str(args.runs)),
        TimeDatabase(args.size).env,
    )
    result = json.loads(out.strip().splitlines()[-1])
    print()
    print(
        f"Time report, PostgreSQL: {result['tickets']:,} tickets, {result['entries']:,} time "
        f"entries ({result['entries_in_year']:,} last year)"
        + (f"; generated in {sum(timings.values()):.0f} s" if timings else "")
    )
    print(f"{'page':<52}{'median':>10}{'max':>10}{'queries':>9}{'target':>10}")
    for label in ("admin", "agent"):
        row = result[label]
        ok = row["median_ms"] < TARGET_MS
        print(
            f"{'/reports/time/ last year by company (' + label + ')':<52}"
            f"{row['median_ms']:>8.0f}ms{row['max_ms']:>8.0f}ms{row['queries']:>9}"
            f"{'<' + str(int(TARGET_MS)) + ' ms':>10}  {'ok' if ok else 'FAIL'}"
        )
    print()
    print(f"aggregate on the entries' own columns: {_ms_of(result['explain_copied'])}")
    print(f"the same aggregate joined to the tickets: {_ms_of(result['explain_joined'])}")
    if os.environ.get("BENCH_EXPLAIN"):
        print("\n-- copied columns --\n" + result["explain_copied"])
        print("\n-- joined to tickets --\n" + result["explain_joined"])


if __name__ == "__main__":
    main()
