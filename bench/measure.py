"""Time the agent's pages against the current database: `python -m bench.measure`.

Prints one JSON line per page: median and 95th percentile of the server time (the whole Django
request through the test client: middleware, view, SQL, template), and the query count.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.generate import BENCH_AGENT  # noqa: E402
from helpa.accounts.models import User  # noqa: E402
from helpa.tickets.models import Article, Ticket  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "30"))


def _time(client: Client, url: str) -> dict[str, object]:
    for _ in range(3):  # warm caches and connections
        assert client.get(url).status_code == 200, url
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    return {
        "median": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "queries": len(queries.captured_queries),
    }


def main() -> None:
    client = Client()
    client.force_login(User.objects.get(email=BENCH_AGENT))
    long_thread = (
        Ticket.objects.annotate(n=Count("articles"))
        .filter(n__gte=200)
        .values_list("number", flat=True)
        .first()
    )
    pages = {
        "overview (my open, 50 rows)": "/tickets/",
        "search, 1 common word": "/tickets/?view=all&q=faktura",
        "search, 2 words": "/tickets/?view=all&q=skrivare+leverans",
        "ticket page, 200 articles": f"/t/{long_thread}/",
    }
    meta = {"tickets": Ticket.objects.count(), "articles": Article.objects.count()}
    for name, url in pages.items():
        print(json.dumps({"page": name, **meta, **_time(client, url)}), flush=True)


if __name__ == "__main__":
    main()
