"""`python -m bench.stats`: the statistics page over 1,000,000 tickets on PostgreSQL (target < 1 s).

    python -m bench.stats [--size 1000000] [--keep] [--runs 5] [--no-explain]

Builds `helpa_bench_stats` (PostgreSQL, dropped and made again unless `--keep` finds a complete
one) with `bench.generate`'s tickets spread over about three years, builds the statistics facts
with the app's own refresh (`facts.refresh(full=True)`, timed: facts per second), times an
incremental refresh of 2,000 changed tickets (what the worker does each minute on a busy
desk), then requests the statistics page through Django's test client as an admin — last 12
months, per month, grouped by queue; the same with a queue filter; an agent's page — and prints
the median of `--runs` requests, the statement count and the SQL time. With explain (default),
the page's slowest SELECTs are run under EXPLAIN ANALYZE into var/bench/explain_stats.txt.
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

from bench.__main__ import DATA, PG_URL, _helpa, _run

NAME = "helpa_bench_stats"
TARGET_MS = 1000.0
YEARS = 3


def _env() -> dict[str, str]:
    return {"DATABASE_URL": PG_URL + NAME, "HELPA_DATA_DIR": str(DATA / NAME)}


def _generated() -> int | None:
    try:
        with psycopg.connect(PG_URL + NAME, connect_timeout=3) as conn:
            tickets = conn.execute("SELECT tickets FROM bench_generated").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
    except psycopg.Error:
        return None
    return tickets if tickets == count else None


def _generate(size: int) -> float:
    started = time.monotonic()
    with psycopg.connect(PG_URL + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{NAME}"')
    _run([*_helpa(), "migrate", "--noinput", "--verbosity", "0"], _env())
    seconds_per_ticket = max(YEARS * 365 * 86400 // size, 1)
    _run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.argv = ['generate', '{size}']\n"
            "import bench.generate as g\n"
            f"g.SECONDS_PER_TICKET = {seconds_per_ticket}\n"
            "g.main()",
        ],
        _env(),
    )
    return time.monotonic() - started


# --- Inside Django (a subprocess with the database's settings) -----------------------------------


def measure(runs: int, explain: bool, rebuild: bool) -> None:  # pragma: no cover - a benchmark
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from bench import BENCH_AGENT
    from bench.measure import QueryLog
    from helpa.accounts.models import Role, User
    from helpa.reports import facts
    from helpa.reports.models import FactsState, TicketFact
    from helpa.tickets.models import Queue, Ticket

    out: dict[str, Any] = {"pages": []}
    tickets = Ticket.objects.count()
    out["tickets"] = tickets
    if rebuild or TicketFact.objects.count() != tickets:
        TicketFact.objects.all().delete()
        started = time.monotonic()
        written = facts.refresh(full=True)
        seconds = time.monotonic() - started
        out["rebuild"] = {"facts": written, "seconds": round(seconds, 1)}
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reports_ticketfact")
    # The worker's steady state: 2,000 tickets changed in the last minute.
    recent = list(Ticket.objects.order_by("-id").values_list("id", flat=True)[:2000])
    now = timezone.now()
    Ticket.objects.filter(id__in=recent).update(updated_at=now)
    FactsState.objects.update(watermark=now - facts.OVERLAP)
    started = time.monotonic()
    written = facts.refresh()
    out["incremental"] = {"facts": written, "ms": round((time.monotonic() - started) * 1000)}

    admin, _created = User.objects.get_or_create(
        email="bench.admin@example.com",
        defaults={"full_name": "Bench Admin", "role": Role.ADMIN},
    )
    agent = User.objects.get(email=BENCH_AGENT)
    queue = Queue.objects.order_by("id").first()
    pages = [
        ("admin: 12 months, by queue", admin, {"group": "queue"}),
        ("admin: 12 months, by queue, 1 queue", admin, {"group": "queue", "queue": queue.pk}),
        ("admin: 12 months, per week, by agent", admin, {"group": "agent", "bucket": "week"}),
        ("agent (3 queues): 12 months", agent, {}),
    ]
    log = QueryLog()
    for label, user, params in pages:
        client = Client()
        client.force_login(user)
        url = "/reports/statistics/"
        query = {"period": "last_12_months", **params}
        times, sql_times, counts = [], [], []
        # The worker refreshes every minute: the page finds the facts current, as on a desk
        # with a worker (the incremental refresh above is timed on its own).
        FactsState.objects.update(refreshed_at=timezone.now())
        client.get(url, query)  # warm-up: plans, caches
        for _n in range(runs):
            log.entries.clear()
            with connection.execute_wrapper(log):
                started = time.perf_counter()
                response = client.get(url, query)
                elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.status_code
            times.append(elapsed)
            sql_times.append(sum(ms for _s, _p, ms in log.entries))
            counts.append(len(log.entries))
        out["pages"].append(
            {
                "page": label,
                "median": round(statistics.median(times), 1),
                "max": round(max(times), 1),
                "sql": round(statistics.median(sql_times), 1),
                "queries": max(counts),
                "load": round(os.getloadavg()[0], 1),
            }
        )
        if explain and label.startswith("admin: 12 months, by queue") and "queue" not in params:
            slow = sorted(log.entries, key=lambda e: -e[2])[:6]
            with (DATA / "explain_stats.txt").open("w") as plans, connection.cursor() as cursor:
                cursor.execute("SET work_mem = '64MB'")  # as the page's transaction has it
                for sql, sql_params, ms in slow:
                    if not sql.lstrip().upper().startswith("SELECT"):
                        continue
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, sql_params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    plans.write(f"=== {ms:.1f} ms in the request\n{sql}\n\n{plan}\n\n")
    print(json.dumps(out))


# --- The table ------------------------------------------------------------------------------------


def _print(result: dict[str, Any], generation: float | None) -> None:
    print(f"\nStatistics on PostgreSQL, {result['tickets']:,} tickets over ~{YEARS} years")
    if generation is not None:
        print(f"  generated in {generation:.0f} s")
    rebuild = result.get("rebuild")
    if rebuild:
        rate = rebuild["facts"] / rebuild["seconds"] if rebuild["seconds"] else 0
        print(
            f"  facts rebuilt (refresh --all): {rebuild['facts']:,} in {rebuild['seconds']} s "
            f"= {rate:,.0f} facts/s"
        )
    else:
        print("  facts: reused (--keep)")
    inc = result["incremental"]
    print(f"  incremental refresh of {inc['facts']:,} changed tickets: {inc['ms']} ms\n")
    header = (
        f"{'page':<40} {'median ms':>9} {'max ms':>7} {'SQL ms':>7} {'queries':>7}  "
        f"{'target':<8} verdict"
    )
    print(header)
    print("-" * len(header))
    for row in result["pages"]:
        verdict = "ok" if row["median"] < TARGET_MS else "FAIL"
        print(
            f"{row['page']:<40} {row['median']:>9.1f} {row['max']:>7.1f} {row['sql']:>7.1f} "
            f"{row['queries']:>7}  <{TARGET_MS:.0f} ms  {verdict}"
        )
    busy = [r for r in result["pages"] if r["load"] > 2.5]
    if busy:
        print(
            f"\nNOTE: the machine was busy (1-minute load up to {max(r['load'] for r in busy)}): "
            "figures are high; run again with --keep when it is idle."
        )
    if (DATA / "explain_stats.txt").exists():
        print(f"\nPlans of the slowest SELECTs: {DATA / 'explain_stats.txt'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse a complete database and facts")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the facts even if kept")
    options = parser.parse_args()
    if options.inside:
        measure(options.runs, not options.no_explain, options.rebuild)
        return
    DATA.mkdir(parents=True, exist_ok=True)
    generation = None
    if options.keep and _generated() == options.size:
        print(f"{NAME}: reusing the generated database", file=sys.stderr)
        _run([*_helpa(), "migrate", "--noinput", "--verbosity", "0"], _env())
    else:
        print(f"{NAME}: generating {options.size:,} tickets …", file=sys.stderr, flush=True)
        generation = _generate(options.size)
    # Without DEBUG, static files come from the manifest that collectstatic writes.
    _run([*_helpa(), "collectstatic", "--noinput", "--verbosity", "0"], _env())
    command = [sys.executable, "-m", "bench.stats", "--inside", "--runs", str(options.runs)]
    if options.no_explain:
        command.append("--no-explain")
    if options.rebuild or not options.keep:
        command.append("--rebuild")
    print(f"{NAME}: facts and pages …", file=sys.stderr, flush=True)
    out = _run(command, {**_env(), "HELPA_DEBUG": "0"})
    result = json.loads(out.strip().splitlines()[-1])
    _print(result, generation)


if __name__ == "__main__":
    main()
