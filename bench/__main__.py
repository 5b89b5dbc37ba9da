"""`make bench`: build benchmark databases and print a table of page timings (see README.md).

    python -m bench [--db postgres|sqlite|both] [--sizes 10000,1000000] [--sqlite-size 100000]
                    [--keep] [--runs 30] [--no-explain]

Each database is generated, then measured, in its own process with that database's settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/")
TARGET_MS = 100.0
TARGET_RATIO = 2.0


def _helpa() -> list[str]:
    script = Path(sys.executable).with_name("helpa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "helpa"]


def _run(command: list[str], env: dict[str, str]) -> str:
    """Run a step in its own process under the database's settings; its stdout is returned,
    its stderr (progress) passes through."""
    clean = {
        k: v for k, v in os.environ.items() if k not in ("HELPA_DATABASE_NAME", "HELPA_TESTING")
    }
    result = subprocess.run(
        command,
        env={**clean, "HELPA_DEBUG": "0", "REDIS_URL": "", **env},
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return result.stdout


class Database:
    label = ""
    env: dict[str, str]  # DATABASE_URL and HELPA_DATA_DIR of this database

    def __init__(self, size: int) -> None:
        self.size = size

    def generated(self) -> int | None:
        """The size a complete earlier generation recorded, if the tickets are all still there."""
        raise NotImplementedError

    def recreate(self) -> None:
        raise NotImplementedError

    def prepare(self, keep: bool) -> dict[str, Any] | None:
        """Generate unless --keep and a complete database of this size exists. Returns the
        generation's timings, or None when the database was reused."""
        if keep and self.generated() == self.size:
            print(f"{self.label} {self.size:,}: reusing the generated database", file=sys.stderr)
            # Migrations added since (an index, say) apply to the kept data.
            _run([*_helpa(), "migrate", "--noinput", "--verbosity", "0"], self.env)
            return None
        print(f"{self.label} {self.size:,}: generating …", file=sys.stderr, flush=True)
        started = time.monotonic()
        self.recreate()
        _run([*_helpa(), "migrate", "--noinput", "--verbosity", "0"], self.env)
        migrated = time.monotonic()
        out = _run([sys.executable, "-m", "bench.generate", str(self.size)], self.env)
        timings = json.loads(out.strip().splitlines()[-1])
        timings["migrate"] = round(migrated - started, 1)
        timings["wall"] = round(time.monotonic() - started, 1)
        return timings

    def measure(
        self, runs: int, explain: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # Without DEBUG, static files come from the manifest that collectstatic writes.
        _run([*_helpa(), "collectstatic", "--noinput", "--verbosity", "0"], self.env)
        command = [sys.executable, "-m", "bench.measure", "--runs", str(runs)]
        out = _run(command + (["--explain"] if explain else []), self.env)
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        rows = [line for line in lines if "page" in line]
        plans = [line for line in lines if "explain" in line]
        for row in rows:
            row["db"] = self.label
        return rows, plans


class Postgres(Database):
    label = "PostgreSQL"

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.name = f"helpa_bench_{size}"
        self.env = {"DATABASE_URL": PG_URL + self.name, "HELPA_DATA_DIR": str(DATA / self.name)}

    def generated(self) -> int | None:
        try:
            with psycopg.connect(PG_URL + self.name, connect_timeout=3) as conn:
                tickets = conn.execute("SELECT tickets FROM bench_generated").fetchone()[0]
                count = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
        except psycopg.Error:
            return None
        return tickets if tickets == count else None

    def recreate(self) -> None:
        with psycopg.connect(PG_URL + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')


class Sqlite(Database):
    label = "SQLite"

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.folder = DATA / f"sqlite_{size}"
        self.env = {"DATABASE_URL": "", "HELPA_DATA_DIR": str(self.folder)}

    def generated(self) -> int | None:
        path = self.folder / "helpa.sqlite3"
        if not path.exists():
            return None
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                tickets = conn.execute("SELECT tickets FROM bench_generated").fetchone()[0]
                count = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
        except sqlite3.Error:
            return None
        return tickets if tickets == count else None

    def recreate(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "FAIL"


def _print_table(rows: list[dict[str, Any]], largest_pg: int | None) -> None:
    header = (
        f"{'db':<10} {'tickets':>9} {'articles':>9}  {'page':<30} {'median ms':>9} {'p95 ms':>7} "
        f"{'SQL ms':>6} {'queries':>7} {'rows':>4}  {'target':<8} verdict"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        binding = row["db"] == "PostgreSQL" and row["tickets"] == largest_pg
        target = f"<{TARGET_MS:.0f} ms" if binding else "(info)"
        verdict = _verdict(row["median"] < TARGET_MS) if binding else ""
        page = row["page"] + (" *" if row["mode"] != "page" else "")
        print(
            f"{row['db']:<10} {row['tickets']:>9,} {row['articles']:>9,}  {page:<30} "
            f"{row['median']:>9.1f} {row['p95']:>7.1f} {row['sql_median']:>6.1f} "
            f"{row['queries']:>7} {row['shown']:>4}  {target:<8} {verdict}"
        )
    busy = [row for row in rows if row["load"] > 1.5]
    if busy:
        print(
            f"\nNOTE: the machine was busy with other work during {len(busy)} page(s) (1-minute "
            f"load up to {max(r['load'] for r in busy):.1f}; the benchmark itself adds ~1): "
            "their figures are high; run again when it is idle (--keep)."
        )
    if any(row["mode"] != "page" for row in rows):
        print(
            "\nNOTE: pages marked * were measured without their template (it does not exist yet):"
            " the view's SQL and context only, not rendered. Run again when it exists."
        )


def _print_ratio(rows: list[dict[str, Any]]) -> None:
    overview = {
        row["tickets"]: row["median"]
        for row in rows
        if row["db"] == "PostgreSQL" and row["page"].startswith("overview")
    }
    if len(overview) < 2:
        return
    small, large = min(overview), max(overview)
    ratio = overview[large] / overview[small]
    print(
        f"\nOverview median at {large:,} tickets / at {small:,}: "
        f"{overview[large]:.1f} / {overview[small]:.1f} ms = {ratio:.2f} "
        f"(target < {TARGET_RATIO:.0f}: {_verdict(ratio < TARGET_RATIO)})"
    )


def _print_plans(db: Database, plans: list[dict[str, Any]]) -> None:
    """The slow SELECTs (1 ms or more) in short; the whole plans go to a file."""
    if not plans:
        return
    path = DATA / f"explain_{db.label.lower()}_{db.size}.txt"
    with path.open("w") as out:
        for p in plans:
            out.write(f"=== {p['explain']} — {p['ms']} ms in the request\n{p['sql']}\n\n")
            out.write(p["plan"] + "\n\n")
    print(f"\nSELECTs of 1 ms or more on {db.label} {db.size:,} (plans: {path}):")
    for p in plans:
        lines = [line.strip() for line in p["plan"].splitlines()]
        if isinstance(db, Postgres):  # planning and execution time
            timing = [line for line in lines if line.endswith(" ms")]
        else:  # the plan's steps: scans, index use, temporary b-trees for sorting
            timing = lines
        sql = " ".join(p["sql"].split())
        start = sql.find(" FROM ")
        summary = (sql[:40] + " …" + sql[start : start + 60]) if start > 40 else sql[:100]
        print(f"  {p['explain']:<30} {p['ms']:>7.1f} ms  [{'; '.join(timing)}]  {summary} …")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--sizes", default="10000,1000000", help="PostgreSQL ticket counts")
    parser.add_argument("--sqlite-size", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="reuse complete databases of the size")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument(
        "--no-explain",
        action="store_true",
        help="skip the query plans (largest PostgreSQL, SQLite)",
    )
    options = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)

    databases: list[Database] = []
    sizes = sorted(int(s.replace("_", "")) for s in options.sizes.split(",") if s.strip())
    if options.db in ("postgres", "both"):
        databases += [Postgres(size) for size in sizes]
    if options.db in ("sqlite", "both") and options.sqlite_size:
        databases.append(Sqlite(options.sqlite_size))
    largest_pg = max(sizes) if options.db in ("postgres", "both") and sizes else None

    rows: list[dict[str, Any]] = []
    generation: list[tuple[Database, dict[str, Any] | None]] = []
    explained: list[tuple[Database, list[dict[str, Any]]]] = []
    for db in databases:
        generation.append((db, db.prepare(options.keep)))
        largest = isinstance(db, Sqlite) or db.size == largest_pg
        explain = largest and not options.no_explain
        print(f"{db.label} {db.size:,}: measuring …", file=sys.stderr, flush=True)
        measured, plans = db.measure(options.runs, explain)
        rows += measured
        explained.append((db, plans))

    print()
    _print_table(rows, largest_pg)
    _print_ratio(rows)
    print("\nGeneration (seconds):")
    for db, timings in generation:
        if timings is None:
            print(f"  {db.label} {db.size:,}: reused (--keep)")
        else:
            steps = ", ".join(f"{k} {v}" for k, v in timings["steps"].items())
            print(
                f"  {db.label} {db.size:,}: {timings['wall']} s in all (migrate {timings['migrate']}; {steps})"
            )
    for db, plans in explained:
        _print_plans(db, plans)


if __name__ == "__main__":
    main()
