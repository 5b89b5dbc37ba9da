"""Time the agent's pages against the current database: `python -m bench.measure [--explain]`.

Run inside Django's settings for a database that `bench.generate` filled. Each page is requested
through Django's test client as the bench agent (`Client.force_login`), DEBUG off: middleware,
session, view, SQL and template, everything but the network. After a warm-up, RUNS requests
give the median and 95th percentile; an execute wrapper counts the SQL statements of each
request and the time spent in them.

Prints one JSON line per page on stdout. With --explain, also one line per slow SELECT of each
page (1 ms or more) with its plan: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN
on SQLite.

If a view's template does not exist yet, the page is measured without rendering (the view's
queries and context only) and labelled so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.template import TemplateDoesNotExist  # noqa: E402
from django.test import Client  # noqa: E402

from bench import BENCH_AGENT  # noqa: E402
from bench.words import COMMON_WORD, TWO_WORDS  # noqa: E402
from helpa.accounts.models import User  # noqa: E402
from helpa.tickets import views  # noqa: E402

WARMUP = 5
SLOW_QUERY_MS = 1.0


class QueryLog:
    """An execute wrapper: every statement's SQL, parameters and time."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Any, float]] = []

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.entries.append((sql, params, (time.perf_counter() - started) * 1000))

    @property
    def ms(self) -> float:
        return sum(e[2] for e in self.entries)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _consume(context: dict[str, Any]) -> None:
    """Evaluate what a template would have evaluated: every queryset in the context."""
    for value in context.values():
        if isinstance(value, QuerySet):
            list(value)


def _without_templates() -> None:
    def render(request: Any, template_name: str, context: Any = None, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        _consume(context or {})
        return HttpResponse(b"")

    views.render = render  # type: ignore[assignment]


def _get(client: Client, url: str) -> HttpResponse:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response


def _time_page(client: Client, url: str, runs: int, marker: bytes) -> dict[str, Any]:
    for _ in range(WARMUP):
        response = _get(client, url)
    shown = response.content.count(marker)
    timings, sql_times, counts = [], [], []
    for _ in range(runs):
        log = QueryLog()
        with connection.execute_wrapper(log):
            started = time.perf_counter()
            _get(client, url)
            timings.append((time.perf_counter() - started) * 1000)
        sql_times.append(log.ms)
        counts.append(len(log.entries))
    return {
        "median": round(statistics.median(timings), 2),
        "p95": round(_percentile(timings, 0.95), 2),
        "sql_median": round(statistics.median(sql_times), 2),
        "queries": max(counts),
        "shown": shown,
        # Other work on the machine skews the figures: the 1-minute load after the runs.
        "load": round(os.getloadavg()[0], 2),
    }


def _explain(client: Client, url: str) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE every SELECT of one request that took SLOW_QUERY_MS or more."""
    log = QueryLog()
    with connection.execute_wrapper(log):
        _get(client, url)
    found = []
    for sql, params, ms in sorted(log.entries, key=lambda e: -e[2]):
        if ms < SLOW_QUERY_MS or not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                text = connection.ops.compose_sql(sql, params)
            else:  # SQLite: the plan without timings
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                plan = "\n".join(row[3] for row in cursor.fetchall())
                text = f"{sql}\n-- params: {params!r}"
        found.append({"ms": round(ms, 2), "sql": text, "plan": plan})
    return found


def _facts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tickets, articles, long_ticket FROM bench_generated")
        tickets, articles, long_ticket = cursor.fetchone()
    return {"tickets": tickets, "articles": articles, "long_ticket": long_ticket}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    options = parser.parse_args()
    assert not settings.DEBUG, "measure with DEBUG off"

    facts = _facts()
    client = Client()
    client.force_login(User.objects.get(email=BENCH_AGENT))
    pages = [
        ("overview: my open tickets", "/tickets/", b'id="row-'),
        (
            "search: active, 1 common word",
            "/tickets/?" + urlencode({"view": "active", "q": COMMON_WORD}),
            b'id="row-',
        ),
        (
            "search: all, 2 words",
            "/tickets/?" + urlencode({"view": "all", "q": TWO_WORDS}),
            b'id="row-',
        ),
        ("ticket page: 200 articles", f"/t/{facts['long_ticket']}/", b'id="article-'),
    ]
    mode = "page"
    try:
        _get(client, pages[0][1])
        _get(client, pages[-1][1])
    except TemplateDoesNotExist:
        mode = "no template: SQL + context only, not rendered"
        _without_templates()
    for name, url, marker in pages:
        row = {"page": name, "url": url, "mode": mode, "vendor": connection.vendor, **facts}
        row.update(_time_page(client, url, options.runs, marker))
        print(json.dumps(row), flush=True)
        if options.explain:
            for found in _explain(client, url):
                print(json.dumps({"explain": name, **found}), flush=True)


if __name__ == "__main__":
    main()
