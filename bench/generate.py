"""Fill an empty, migrated Helpa database with N tickets (~5 articles each), set-based in SQL.

Run inside Django's settings for the target database: `python -m bench.generate N`.

The mix: ~3 % of tickets active (new/open/waiting/on hold), most of them recent, the rest resolved
or closed; 10 queues, each worked by one team of 5 agents (50 agents); 2,000 contacts at 200
companies; 1–9 articles per ticket (5 on average). BENCH_AGENT works three queues and owns a
full first page of active tickets from 10,000 tickets up; one has a 200-entry thread. The search
index is filled in the same pass (PostgreSQL: the tsvector column; SQLite: the FTS5 table) with
the text `search.reindex_ticket` would index.

Every per-ticket choice comes from a multiplicative hash of the ticket's sequence number, so
PostgreSQL and SQLite run the same SQL and get the same data. Prints one JSON line with the
step timings on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import BENCH_AGENT, LONG_THREAD  # noqa: E402
from bench.words import SENTENCES_PER_TOPIC, TOPICS, sentences  # noqa: E402
from helpa.accounts.models import Role, Team, User  # noqa: E402
from helpa.crm.models import Company, Contact  # noqa: E402
from helpa.tickets import search  # noqa: E402
from helpa.tickets.models import (  # noqa: E402
    Article,
    Attachment,
    Category,
    HistoryEntry,
    NumberSeries,
    Queue,
    Ticket,
    TicketType,
)

AGENTS = 50
QUEUES = 10  # queue i is worked by team i; agent a belongs to team a % QUEUES
BENCH_QUEUES = 3  # the bench agent (agent 0) is also in teams 1 and 2
CONTACTS = 2000
COMPANIES = 200
MAX_ARTICLES = 9  # a ticket has 1..9 articles, 5 on average
SECONDS_PER_TICKET = 157  # ~550 tickets a day: 1,000,000 tickets span five years
NUMBER_BASE = 10000
# Odd 32-bit multipliers: column k of the plan is (g * PRIMES[k] mod 2^32) >> 16.
PRIMES = [
    2654435761,
    2246822519,
    3266489917,
    668265263,
    374761393,
    1181783497,
    3432918353,
    1640531513,
    2869860233,
]

steps: dict[str, float] = {}


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    steps[name] = round(time.monotonic() - started, 1)
    print(f"  {name}: {steps[name]:.1f} s", file=sys.stderr, flush=True)


def _h(k: int) -> str:
    return f"((g * {PRIMES[k]}) % 4294967296 / 65536)"


def _ts(seconds_ago: str) -> str:
    """SQL for "now minus this many seconds" (negative: in the future)."""
    if connection.vendor == "postgresql":
        return f"(now() - ({seconds_ago}) * interval '1 second')"
    return f"datetime('now', (-({seconds_ago})) || ' seconds')"


def _people() -> dict[str, int]:
    """Teams, queues, agents, contacts, types, categories (ORM, a few hundred rows)."""
    teams = Team.objects.bulk_create([Team(name=f"Team {i}") for i in range(QUEUES)])
    queues = Queue.objects.bulk_create(
        [Queue(name=f"Queue {i}", slug=f"queue-{i}") for i in range(QUEUES)]
    )
    for team, queue in zip(teams, queues, strict=True):
        queue.teams.add(team)
    password = make_password("bench")  # one hash for all: hashing is slow on purpose
    agents = User.objects.bulk_create(
        [
            User(
                email=BENCH_AGENT if a == 0 else f"agent{a}@example.com",
                full_name="Bench Agent" if a == 0 else f"Agent {a:02d} Andersson",
                role=Role.AGENT,
                password=password,
            )
            for a in range(AGENTS)
        ]
    )
    User.objects.create(
        email="bench.admin@example.com", full_name="Bench Admin", role=Role.ADMIN, password=password
    )
    Membership = Team.members.through
    Membership.objects.bulk_create(
        [Membership(team=teams[a % QUEUES], user=agent) for a, agent in enumerate(agents)]
        + [Membership(team=teams[i], user=agents[0]) for i in range(1, BENCH_QUEUES)]
    )
    companies = Company.objects.bulk_create(
        [Company(name=f"Företag {i} AB", customer_number=f"K{i:05d}") for i in range(COMPANIES)]
    )
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                name=f"Kund {i} Karlsson",
                email=f"kund{i}@example.com",
                company=companies[i % COMPANIES],
            )
            for i in range(CONTACTS)
        ]
    )
    types = TicketType.objects.bulk_create(
        [TicketType(name=n) for n in ["Incident", "Fråga", "Beställning", "Reklamation", "Ändring"]]
    )
    categories = Category.objects.bulk_create([Category(name=f"Kategori {i}") for i in range(8)])
    ids = {
        "team0": teams[0].pk,
        "queue0": queues[0].pk,
        "agent0": agents[0].pk,
        "contact0": contacts[0].pk,
        "company0": companies[0].pk,
        "type0": types[0].pk,
        "category0": categories[0].pk,
    }
    # bulk_create gives consecutive ids on an empty database; the SQL below relies on it.
    assert agents[-1].pk == ids["agent0"] + AGENTS - 1
    assert contacts[-1].pk == ids["contact0"] + CONTACTS - 1
    assert queues[-1].pk == ids["queue0"] + QUEUES - 1
    return ids


def _thread_sentence(doc: int, k: int) -> int:
    """The sentence of article k (1-based) of a ticket whose text key is doc; k = 1 is the
    customer's first message, the same text as the description."""
    topic, j = divmod(doc, SENTENCES_PER_TOPIC)
    return topic * SENTENCES_PER_TOPIC + (j + (k - 1) * 7) % SENTENCES_PER_TOPIC


def _text_tables(cur) -> None:  # type: ignore[no-untyped-def]
    """bench_text: the 1,000 sentences; bench_thread: the indexed text of every (doc, n)."""
    rows = sentences()
    body = {i: b for i, _t, b in rows}
    cur.execute("CREATE TEMP TABLE bench_text (id integer PRIMARY KEY, title text, body text)")
    cur.executemany("INSERT INTO bench_text VALUES (%s, %s, %s)", rows)
    cur.execute("CREATE TEMP TABLE bench_thread (doc integer, n integer, body text)")
    thread = [
        (
            doc,
            n,
            "\n".join([body[doc], *(body[_thread_sentence(doc, k)] for k in range(1, n + 1))]),
        )
        for doc in range(len(rows))
        for n in range(1, MAX_ARTICLES + 1)
    ]
    cur.executemany("INSERT INTO bench_thread VALUES (%s, %s, %s)", thread)
    cur.execute("CREATE UNIQUE INDEX bench_thread_key ON bench_thread (doc, n)")
    cur.execute("CREATE TEMP TABLE bench_k (k integer PRIMARY KEY)")
    cur.executemany("INSERT INTO bench_k VALUES (%s)", [(k,) for k in range(1, MAX_ARTICLES + 1)])
    if connection.vendor == "postgresql":
        config = settings.SEARCH_CONFIG
        cur.execute(
            "ALTER TABLE bench_text ADD COLUMN title_tsv tsvector; "
            "ALTER TABLE bench_thread ADD COLUMN tsv tsvector"
        )
        cur.execute(f"UPDATE bench_text SET title_tsv = to_tsvector('{config}', title)")
        cur.execute(f"UPDATE bench_thread SET tsv = to_tsvector('{config}', body)")
        cur.execute("ANALYZE bench_text; ANALYZE bench_thread; ANALYZE bench_k")


def _plan(cur, count: int) -> None:  # type: ignore[no-untyped-def]
    """bench_plan: one row per ticket with every random choice made."""
    recent = max(count // 25, 1)  # the newest 4 %: 60 % of them still active
    expected_visible_active = max(count * 0.029 * BENCH_QUEUES / QUEUES, 1)
    # Among the active tickets of the bench agent's queues, the share (of 900) the bench agent
    # owns: a sixth (as the team's other 5) once there are enough, more in a small desk.
    bench_share = round(900 * min(1.0, max(1 / 6, 80 / expected_visible_active)))
    docs = len(TOPICS) * SENTENCES_PER_TOPIC
    day = 86400
    cur.execute(
        f"""
        CREATE TEMP TABLE bench_plan AS
        WITH RECURSIVE s(g) AS (SELECT CAST(1 AS bigint) UNION ALL SELECT g + 1 FROM s WHERE g < {count}),
        r AS (
            SELECT g, {_h(0)} % {docs} AS doc, 1 + {_h(1)} % {MAX_ARTICLES} AS n,
                {_h(2)} % {QUEUES} AS q,
                CASE WHEN {count} - g < {recent} THEN {_h(3)} % 1000 < 600
                     ELSE {_h(3)} % 1000 < 5 END AS act,
                {_h(4)} % 100 AS rs, {_h(5)} % 1000 AS ro, {_h(6)} % {CONTACTS} AS c,
                {_h(7)} % 100 AS rm, {_h(8)} % {day} AS jitter,
                ({count} - g) * {SECONDS_PER_TICKET} + {_h(8)} % {SECONDS_PER_TICKET} AS created_ago
            FROM s
        )
        SELECT g, doc, n, q, c, act, created_ago,
            CASE WHEN act THEN (CASE WHEN rs < 20 THEN 'new' WHEN rs < 65 THEN 'open'
                                     WHEN rs < 90 THEN 'waiting' ELSE 'on_hold' END)
                 WHEN {count} - g < {recent} AND rs < 60 THEN 'resolved'
                 WHEN rs < 5 THEN 'resolved'
                 ELSE 'closed' END AS status,
            CASE WHEN act AND ro < 100 THEN -1
                 WHEN act AND q < {BENCH_QUEUES} AND ro < {100 + bench_share} THEN 0
                 ELSE q + {QUEUES} * (ro % {AGENTS // QUEUES}) END AS owner_idx,
            CASE WHEN act AND created_ago > 14 * {day} THEN jitter * 10
                 WHEN act THEN created_ago * rm / 100
                 ELSE created_ago - (CASE WHEN n * 10800 < created_ago / 2 THEN n * 10800
                                          ELSE created_ago / 2 END) END AS updated_ago,
            CASE WHEN act AND rm < 30 THEN 4 * {day} - jitter * 14 END AS due_ago,
            CASE WHEN rm >= 20 THEN rm % 5 END AS type_idx,
            CASE WHEN rm >= 10 THEN (rm / 7) % 8 END AS category_idx,
            CASE WHEN jitter % 10 < 2 THEN 1 WHEN jitter % 10 < 9 THEN 2 ELSE 3 END AS priority,
            CASE WHEN (ro / 5) % 10 < 7 THEN 'email' WHEN (ro / 5) % 10 = 7 THEN 'phone'
                 WHEN (ro / 5) % 10 = 8 THEN 'portal' ELSE 'agent' END AS channel
        FROM r
        """
    )
    if connection.vendor == "postgresql":
        cur.execute("ANALYZE bench_plan")


def _tickets(cur, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    pg = connection.vendor == "postgresql"
    search_column = ", search_document" if pg else ""
    search_value = ", setweight(t.title_tsv, 'A') || th.tsv" if pg else ""
    search_join = "JOIN bench_thread th ON th.doc = p.doc AND th.n = p.n" if pg else ""
    cur.execute(
        f"""
        INSERT INTO tickets_ticket (number, title, description, description_text, status,
            priority, type_id, category_id, queue_id, team_id, owner_id, contact_id, company_id,
            due_at, hidden_until, on_hold_until, is_draft, channel, parent_id, created_by_id,
            version, created_at, updated_at, resolved_at, closed_at, legal_hold{search_column})
        SELECT {NUMBER_BASE} + p.g, t.title, '<p>' || t.body || '</p>', t.body, p.status,
            p.priority, {ids["type0"]} + p.type_idx, {ids["category0"]} + p.category_idx,
            {ids["queue0"]} + p.q, {ids["team0"]} + p.q,
            CASE WHEN p.owner_idx >= 0 THEN {ids["agent0"]} + p.owner_idx END,
            {ids["contact0"]} + p.c, {ids["company0"]} + p.c % {COMPANIES},
            CASE WHEN p.due_ago IS NOT NULL THEN {_ts("p.due_ago")} END, NULL,
            CASE WHEN p.status = 'on_hold' THEN {_ts("-3 * 86400 - p.created_ago % 86400")} END,
            false, p.channel, NULL,
            CASE WHEN p.channel = 'agent' THEN {ids["agent0"]} + p.q END,
            1 + p.n, {_ts("p.created_ago")}, {_ts("p.updated_ago")},
            CASE WHEN p.status IN ('resolved', 'closed') THEN {_ts("p.updated_ago")} END,
            CASE WHEN p.status = 'closed' THEN {_ts("p.updated_ago")} END, false{search_value}
        FROM bench_plan p JOIN bench_text t ON t.id = p.doc {search_join}
        ORDER BY p.g
        """
    )


def _articles(cur, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    per_topic = SENTENCES_PER_TOPIC
    kind = (
        "CASE WHEN k.k % 2 = 1 THEN 'customer' "
        "WHEN (p.g + k.k) % 7 = 0 THEN 'note' ELSE 'reply' END"
    )
    cur.execute(
        f"""
        INSERT INTO tickets_article (ticket_id, kind, body_html, body_text, author_id,
            author_contact_id, author_name, time_spent_minutes, created_at, deleted_at)
        SELECT tk.id, {kind}, '<p>' || s.body || '</p>', s.body,
            CASE WHEN k.k % 2 = 0 THEN COALESCE(tk.owner_id, {ids["agent0"]} + p.q) END,
            CASE WHEN k.k % 2 = 1 THEN tk.contact_id END, '',
            CASE WHEN k.k % 2 = 0 THEN 5 ELSE 0 END,
            {_ts("p.created_ago - (k.k - 1) * ((p.created_ago - p.updated_ago) / p.n)")}, NULL
        FROM bench_plan p
        JOIN tickets_ticket tk ON tk.number = {NUMBER_BASE} + p.g
        JOIN bench_k k ON k.k <= p.n
        JOIN bench_text s ON s.id = (p.doc / {per_topic}) * {per_topic}
            + ((p.doc % {per_topic}) + (k.k - 1) * 7) % {per_topic}
        """
    )


def _sqlite_search(cur) -> None:  # type: ignore[no-untyped-def]
    cur.execute(
        f"""
        INSERT INTO tickets_ticket_fts (rowid, title, body)
        SELECT tk.id, tk.title, th.body
        FROM bench_plan p
        JOIN tickets_ticket tk ON tk.number = {NUMBER_BASE} + p.g
        JOIN bench_thread th ON th.doc = p.doc AND th.n = p.n
        """
    )


@contextmanager
def _without_indexes(cur) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Drop the secondary indexes (and, on PostgreSQL, the foreign keys and the unique number)
    of the two big tables for the load and build them afterwards: much faster than
    maintaining them row by row (and than 6 million deferred foreign-key checks at commit)."""
    tables = ("tickets_ticket", "tickets_article")
    if connection.vendor == "postgresql":
        cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid IN ('tickets_ticket'::regclass, 'tickets_article'::regclass) "
            "AND contype IN ('f', 'u')"
        )
        constraints = cur.fetchall()
        for table, name, _definition in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT LIKE '%%_pkey'",
            [list(tables)],
        )
        indexes = cur.fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        yield
        with step("indexes"):
            cur.execute("SET maintenance_work_mem = '512MB'")
            for _name, definition in indexes:
                cur.execute(definition)
        with step("constraints"):
            for table, name, definition in constraints:
                cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    else:
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('tickets_ticket', 'tickets_article')"
        )
        indexes = cur.fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        yield
        with step("indexes"):
            for _name, definition in indexes:
                cur.execute(definition)


def _long_thread(bench: User) -> Ticket:
    """The ticket-page target: an open ticket of the bench agent with a 200-entry thread
    (customer mails, replies, notes, discussion, system lines), history, files, followers."""
    ticket = Ticket.objects.filter(owner=bench, status="open").order_by("-updated_at").first()
    assert ticket is not None, "the bench agent owns no open ticket"
    existing = ticket.articles.count()
    colleague = User.objects.filter(teams__in=bench.teams.all()).exclude(pk=bench.pk).first()
    texts = [s[2] for s in sentences()][:200]
    start = timezone.now() - timedelta(days=60)
    kinds = []
    for k in range(existing, LONG_THREAD):
        if k % 25 == 24:
            kinds.append("discussion")
        elif k % 40 == 39:
            kinds.append("system")
        elif k % 10 == 9:
            kinds.append("note")
        else:
            kinds.append("customer" if k % 2 == 0 else "reply")
    articles = Article.objects.bulk_create(
        [
            Article(
                ticket=ticket,
                kind=kind,
                body_html=f"<p>{texts[k % len(texts)]}</p><p>{texts[(k * 7) % len(texts)]}</p>",
                body_text=f"{texts[k % len(texts)]}\n\n{texts[(k * 7) % len(texts)]}",
                author=None if kind in ("customer", "system") else (bench, colleague)[k % 2],
                author_contact=ticket.contact if kind == "customer" else None,
                author_name="Helpa" if kind == "system" else "",
                time_spent_minutes=5 if kind == "reply" else 0,
                created_at=start + timedelta(minutes=17 * k),
            )
            for k, kind in zip(range(existing, LONG_THREAD), kinds, strict=True)
        ]
    )
    Attachment.objects.bulk_create(
        [
            Attachment(
                ticket=ticket,
                article=articles[i],
                file=f"attachments/{ticket.pk}/bench/skarmdump-{i}.png",
                filename=f"skärmdump-{i}.png",
                content_type="image/png",
                size=48_000 + i,
            )
            for i in range(0, len(articles), 20)
        ]
    )
    HistoryEntry.objects.bulk_create(
        [
            HistoryEntry(
                ticket=ticket,
                actor=bench if v % 3 else colleague,
                field=("status", "priority", "owner", "due_at")[v % 4],
                old_value="open" if v % 4 == 0 else str(v),
                new_value="waiting" if v % 4 == 0 else str(v + 1),
                version=v,
                created_at=start + timedelta(hours=v),
            )
            for v in range(2, 62)
        ]
    )
    ticket.followers.add(colleague)
    Ticket.objects.filter(pk=ticket.pk).update(version=62, updated_at=timezone.now())
    search.reindex_ticket(ticket.pk)
    return ticket


def _mark(cur, count: int, long_ticket: int) -> None:  # type: ignore[no-untyped-def]
    """The marker `--keep` looks for: this database was generated completely, at this size."""
    cur.execute("DROP TABLE IF EXISTS bench_generated")
    cur.execute(
        "CREATE TABLE bench_generated (tickets integer, articles integer, long_ticket integer, "
        "seconds real)"
    )
    cur.execute("SELECT count(*) FROM tickets_article")
    articles = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO bench_generated VALUES (%s, %s, %s, %s)",
        [count, articles, long_ticket, sum(steps.values())],
    )


def main() -> None:
    count = int(sys.argv[1])
    assert not Ticket.objects.exists(), "generate into an empty, migrated database"
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        if pg:
            cur.execute("SET work_mem = '256MB'; SET synchronous_commit = off")
        else:
            for pragma in ["synchronous = OFF", "foreign_keys = OFF", "cache_size = -500000"]:
                cur.execute(f"PRAGMA {pragma}")
        with step("people"):
            ids = _people()
        with step("text"):
            _text_tables(cur)
        with step("plan"):
            _plan(cur, count)
        with _without_indexes(cur):
            with step("tickets"):
                _tickets(cur, ids)
            with step("articles"):
                _articles(cur, ids)
            if not pg:
                with step("search index"):
                    _sqlite_search(cur)
        with step("long thread"):
            long_ticket = _long_thread(User.objects.get(email=BENCH_AGENT))
        NumberSeries.objects.filter(name="ticket").update(next_value=NUMBER_BASE + count + 1)
        with step("vacuum analyze"):
            if pg:
                cur.execute("VACUUM (ANALYZE) tickets_ticket, tickets_article")
                cur.execute("ANALYZE")
            else:
                cur.execute("PRAGMA foreign_keys = ON")
                cur.execute("ANALYZE")
        _mark(cur, count, long_ticket.number)
    print(json.dumps({"steps": steps, "total": round(sum(steps.values()), 1)}))


if __name__ == "__main__":
    main()
