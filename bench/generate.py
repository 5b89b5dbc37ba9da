"""Fill an empty, migrated Helpa database with N tickets (~5 articles each) in set-based SQL.

Run inside Django's settings for the target database: `python -m bench.generate N`.
About 3 % of tickets are active (new/open/waiting/on hold), the rest resolved or closed, as in a
desk with years of history. One ticket (the lowest id) has a 200-article thread.
"""

from __future__ import annotations

import os
import random
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.words import WORDS  # noqa: E402
from helpa.accounts.models import Role, Team, User  # noqa: E402
from helpa.tickets.models import NumberSeries, Queue, Ticket  # noqa: E402

AGENTS = 50
QUEUES = 10
SENTENCES = 1000
BENCH_AGENT = "bench.agent@example.com"


def _sentences(rng: random.Random, count: int, length: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(length)) for _ in range(count)]


def _people() -> tuple[list[int], list[int]]:
    agents = [
        User.objects.create_user(
            BENCH_AGENT if n == 0 else f"agent{n}@example.com",
            "bench",
            full_name=f"Agent {n}",
            role=Role.AGENT,
        )
        for n in range(AGENTS)
    ]
    team = Team.objects.create(name="Everyone")
    team.members.set(agents)
    queues = [Queue.objects.create(name=f"Queue {n}", slug=f"queue-{n}") for n in range(QUEUES)]
    for queue in queues:
        queue.teams.add(team)
    return [a.pk for a in agents], [q.pk for q in queues]


def _load_postgres(count: int, agents: list[int], queues: list[int], rng: random.Random) -> None:
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_text (id int PRIMARY KEY, title text, body text)")
        rows = zip(
            range(SENTENCES),
            _sentences(rng, SENTENCES, 5),
            _sentences(rng, SENTENCES, 40),
            strict=True,
        )
        cur.executemany("INSERT INTO bench_text VALUES (%s, %s, %s)", list(rows))
        cur.execute(
            "ALTER TABLE bench_text ADD COLUMN title_tsv tsvector, ADD COLUMN body_tsv tsvector"
        )
        cur.execute(
            "UPDATE bench_text SET title_tsv = to_tsvector('swedish', title), "
            "body_tsv = to_tsvector('swedish', body)"
        )
        cur.execute(
            """
            INSERT INTO tickets_ticket (number, title, description, description_text, status,
                priority, queue_id, owner_id, is_draft, channel, version, created_at, updated_at,
                resolved_at, closed_at)
            SELECT 10000 + g, t.title, '<p>' || t.body || '</p>', t.body,
                CASE WHEN g %% 100 < 97 THEN (CASE WHEN g %% 5 = 0 THEN 'resolved' ELSE 'closed' END)
                     ELSE (ARRAY['new','open','waiting','on_hold'])[1 + g %% 4] END,
                1 + g %% 3,
                (%s::bigint[])[1 + g %% %s],
                CASE WHEN g %% 100 >= 97 AND g %% 4 = 0 THEN NULL ELSE (%s::bigint[])[1 + (g / 100) %% %s] END,
                false, 'email', 1,
                now() - (g::float / %s) * interval '1000 days',
                now() - (g::float / %s) * interval '1000 days' + interval '1 hour',
                NULL, NULL
            FROM generate_series(1, %s) g JOIN bench_text t ON t.id = g %% %s
            """,
            [queues, len(queues), agents, len(agents), count, count, count, SENTENCES],
        )
        cur.execute(
            """
            INSERT INTO tickets_article (ticket_id, kind, body_html, body_text, author_id,
                author_name, time_spent_minutes, created_at)
            SELECT tk.id, CASE WHEN k %% 2 = 1 THEN 'customer' ELSE 'reply' END,
                '<p>' || t.body || '</p>', t.body,
                CASE WHEN k %% 2 = 1 THEN NULL ELSE tk.owner_id END, 'Kund', 0,
                tk.created_at + k * interval '10 minutes'
            FROM tickets_ticket tk
            CROSS JOIN generate_series(1, 5) k
            JOIN bench_text t ON t.id = (tk.id * 7 + k) %% %s
            """,
            [SENTENCES],
        )
        cur.execute(
            """
            UPDATE tickets_ticket tk SET search_document =
                setweight(t.title_tsv, 'A') || t.body_tsv || a.body_tsv || b.body_tsv
            FROM bench_text t, bench_text a, bench_text b
            WHERE t.id = (tk.number - 10000) %% %s
              AND a.id = (tk.id * 7 + 1) %% %s AND b.id = (tk.id * 7 + 2) %% %s
            """,
            [SENTENCES, SENTENCES, SENTENCES],
        )
        cur.execute("ANALYZE")


def _load_sqlite(count: int, agents: list[int], queues: list[int], rng: random.Random) -> None:
    titles = _sentences(rng, SENTENCES, 5)
    bodies = _sentences(rng, SENTENCES, 40)
    now = time.time()
    statuses = ["new", "open", "waiting", "on_hold"]
    with connection.cursor() as cur:
        batch = []
        for g in range(1, count + 1):
            active = g % 100 >= 97
            status = statuses[g % 4] if active else ("resolved" if g % 5 == 0 else "closed")
            owner = None if active and g % 4 == 0 else agents[(g // 100) % len(agents)]
            updated = now - g / count * 1000 * 86400
            body = bodies[g % SENTENCES]
            batch.append(
                (
                    10000 + g,
                    titles[g % SENTENCES],
                    f"<p>{body}</p>",
                    body,
                    status,
                    1 + g % 3,
                    queues[g % len(queues)],
                    owner,
                    updated,
                    updated + 3600,
                )
            )
            if len(batch) == 20000 or g == count:
                cur.executemany(
                    "INSERT INTO tickets_ticket (number, title, description, description_text, "
                    "status, priority, queue_id, owner_id, is_draft, channel, version, created_at, "
                    "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, 'email', 1, "
                    "datetime(%s, 'unixepoch'), datetime(%s, 'unixepoch'))",
                    batch,
                )
                batch = []
        cur.execute("CREATE TEMP TABLE bench_text (id INTEGER PRIMARY KEY, body TEXT)")
        cur.executemany("INSERT INTO bench_text VALUES (%s, %s)", list(enumerate(bodies)))
        cur.execute(
            "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 5) "
            "INSERT INTO tickets_article (ticket_id, kind, body_html, body_text, author_id, "
            "author_name, time_spent_minutes, created_at) "
            "SELECT tk.id, CASE WHEN k.n % 2 = 1 THEN 'customer' ELSE 'reply' END, "
            "'<p>' || t.body || '</p>', t.body, CASE WHEN k.n % 2 = 1 THEN NULL ELSE tk.owner_id END, "
            "'Kund', 0, datetime(tk.created_at, '+' || (k.n * 10) || ' minutes') "
            "FROM tickets_ticket tk CROSS JOIN k JOIN bench_text t ON t.id = (tk.id * 7 + k.n) % 1000"
        )
        cur.execute(
            "INSERT INTO tickets_ticket_fts (rowid, title, body) "
            "SELECT tk.id, tk.title, tk.description_text || ' ' || a.body || ' ' || b.body "
            "FROM tickets_ticket tk JOIN bench_text a ON a.id = (tk.id * 7 + 1) % 1000 "
            "JOIN bench_text b ON b.id = (tk.id * 7 + 2) % 1000"
        )
        cur.execute("ANALYZE")


def _long_thread() -> None:
    """The ticket-page target: one active ticket with a 200-article thread."""
    ticket = Ticket.objects.filter(status="open").order_by("id").first()
    assert ticket is not None
    missing = 200 - ticket.articles.count()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO tickets_article (ticket_id, kind, body_html, body_text, author_id, "
            "author_name, time_spent_minutes, created_at) "
            "SELECT %s, kind, body_html, body_text, author_id, author_name, 5, created_at "
            "FROM tickets_article ORDER BY id LIMIT %s",
            [ticket.pk, missing],
        )


def main() -> None:
    count = int(sys.argv[1])
    rng = random.Random(count)
    started = time.monotonic()
    with transaction.atomic():
        agents, queues = _people()
        if connection.vendor == "postgresql":
            _load_postgres(count, agents, queues, rng)
        else:
            _load_sqlite(count, agents, queues, rng)
    _long_thread()
    NumberSeries.objects.filter(name="ticket").update(next_value=10001 + count)
    print(f"generated {count} tickets in {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
