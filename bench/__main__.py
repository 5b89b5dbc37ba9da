"""`make bench`: build benchmark databases (kept between runs) and print a table of timings.

python -m bench [--pg-sizes 10000,1000000] [--sqlite-size 100000] [--only pg|sqlite] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

PG = "postgres://postgres@127.0.0.1:5432/"
TARGET_MS = 100.0
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench"


def _run(module: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return result.stdout


def _pg_ticket_count(name: str) -> int | None:
    try:
        with psycopg.connect(PG + name, connect_timeout=3) as conn:
            return conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
    except psycopg.Error:
        return None


def _prepare_pg(size: int, fresh: bool) -> dict[str, str]:
    name = f"helpa_bench_{size}"
    env = {"DATABASE_URL": PG + name, "HELPA_DATA_DIR": str(DATA / name), "REDIS_URL": ""}
    if fresh or _pg_ticket_count(name) != size:
        with psycopg.connect(PG + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        print(f"generating PostgreSQL {size:,} tickets …", file=sys.stderr)
        _run("helpa", env, "migrate", "--verbosity", "0")
        _run("bench.generate", env, str(size))
    return env


def _prepare_sqlite(size: int, fresh: bool) -> dict[str, str]:
    folder = DATA / f"sqlite_{size}"
    env = {"DATABASE_URL": "", "HELPA_DATA_DIR": str(folder), "REDIS_URL": ""}
    marker = folder / "generated"
    if fresh or not marker.exists() or marker.read_text() != str(size):
        for path in folder.glob("helpa.sqlite3*"):
            path.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating SQLite {size:,} tickets …", file=sys.stderr)
        _run("helpa", env, "migrate", "--verbosity", "0")
        _run("bench.generate", env, str(size))
        marker.write_text(str(size))
    return env


def _measure(db: str, env: dict[str, str]) -> list[dict[str, object]]:
    _run("helpa", env, "collectstatic", "--noinput", "--verbosity", "0")
    rows = [
        json.loads(line) for line in _run("bench.measure", env).splitlines() if line.startswith("{")
    ]
    for row in rows:
        row["db"] = db
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-sizes", default="10000,1000000")
    parser.add_argument("--sqlite-size", type=int, default=100_000)
    parser.add_argument("--only", choices=["pg", "sqlite"])
    parser.add_argument("--fresh", action="store_true", help="regenerate the databases")
    options = parser.parse_args()

    rows: list[dict[str, object]] = []
    if options.only != "sqlite":
        for size in [int(s) for s in options.pg_sizes.split(",") if s]:
            rows += _measure("PostgreSQL", _prepare_pg(size, options.fresh))
    if options.only != "pg" and options.sqlite_size:
        rows += _measure("SQLite", _prepare_sqlite(options.sqlite_size, options.fresh))

    header = f"{'db':<11} {'tickets':>10} {'articles':>10}  {'page':<28} {'median ms':>9} {'p95 ms':>8} {'queries':>7}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        ok = "ok" if row["median"] < TARGET_MS else "SLOW"
        print(
            f"{row['db']:<11} {row['tickets']:>10,} {row['articles']:>10,}  {row['page']:<28} "
            f"{row['median']:>9.1f} {row['p95']:>8.1f} {row['queries']:>7}  <{TARGET_MS:.0f} {ok}"
        )
    overview = {
        r["tickets"]: r["median"]
        for r in rows
        if r["db"] == "PostgreSQL" and str(r["page"]).startswith("overview")
    }
    if len(overview) >= 2:
        small, large = min(overview), max(overview)
        ratio = overview[large] / overview[small]
        verdict = "ok" if ratio < 2 else "TOO HIGH"
        print(
            f"\noverview time at {large:,} / at {small:,} tickets: {ratio:.2f} (target < 2: {verdict})"
        )


if __name__ == "__main__":
    main()
