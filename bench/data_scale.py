"""Data at scale: how lists, searches, function pages and opening a big execution behave as
the store grows, what a small step costs on disk, and how fast steps are written.

One store (a SQLite file, or a fresh PostgreSQL database with ``--database``) is grown in
stages to each size of ``--sizes`` (executions; ``--steps`` recorded steps each, two small
inputs and an output per step, written through ``Store.save_steps`` in worker-sized batches
like a worker streams them). It also holds one execution of 10,000 steps and a ``rare``
function with 100 runs (the function page of a function whose runs do not grow while the
others' do). At each stage every request is timed through the HTTP API in process
(``--rounds`` times, median), and the table prints each figure beside its value at the first
stage (the baseline of this run): flat in the data size means a ratio near 1.

    .venv/bin/python bench/data_scale.py --quick                 # seconds: a smoke run
    .venv/bin/python bench/data_scale.py --sizes 1000,10000,100000 --steps 100 --bulk
    .venv/bin/python bench/data_scale.py --database postgresql://postgres@127.0.0.1/test

With ``--bulk`` the store reaches 100,000 executions and 10 million steps in minutes: the
first execution of each function is written through the store and every later one is a copy
of it in bulk (``INSERT ... SELECT`` into every table keyed by execution id, a new id and its
own input; the tables' triggers keep the run counters and the search index), except the last
``--probe`` executions of each stage, which are written through ``Store.save_steps`` so that
the write rate is measured at every size. ``--database sqlite:///PATH`` keeps the SQLite file.

Figures (see docs/scaling.md): ``bytes/step`` is the size of the step tables and their
indexes divided by the number of steps; ``open 10k`` is ``GET /executions/{id}`` of the
10,000-step execution with ``Accept-Encoding: gzip`` (time, and bytes on the wire).
"""

from __future__ import annotations

import argparse
import json
import pickle
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from runtree.api import create_app
from runtree.models import VersionRecord
from runtree.service import VersionSettings
from runtree.settings import Settings
from runtree.store import Store
from runtree.store.ids import new_execution_id

BIG_STEPS = 10_000
RARE_RUNS = 100
FUNCTIONS = 20
BATCH = 500  # steps per save_steps call, as a worker batches them
REGIONS = ("eu", "us", "apac")
# Tables that hold steps, whatever the schema revision calls them.
STEP_TABLES = ("steps", "step_payloads", "step_values")


class NullDispatcher:
    """Runs nothing: the benchmark writes executions itself."""

    def start(self) -> None: ...
    def notify(self) -> None: ...
    def cancel(self, execution_id: str) -> bool:
        return False

    def stop(self, grace: float = 5.0) -> None: ...


def captured(value: Any) -> dict[str, Any]:
    blob = pickle.dumps(value, protocol=5)
    return {
        "preview": value,
        "size": len(blob),
        "format": "pickle",
        "truncated": False,
        "redacted": False,
        "type": type(value).__name__,
        "blob": blob,
    }


def small_step(step_id: int, parent_id: int | None, depth: int, started: int) -> dict[str, Any]:
    """A step as the tracking runtime sends it: ``price(item, qty) -> float``."""
    return {
        "id": step_id,
        "parent_id": parent_id,
        "sequence": step_id,
        "depth": depth,
        "name": "price" if parent_id is not None else "handle",
        "filename": "orders.py",
        "lineno": 12 if parent_id is not None else 3,
        "version": None,
        "status": "completed",
        "started_at_ns": started + step_id * 1_000,
        "duration_ns": 800,
        "inputs": {"item": captured(step_id % 97), "qty": captured(step_id % 5 + 1)},
        "output": captured(float(step_id % 89)),
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }


def steps_of(count: int) -> Iterator[dict[str, Any]]:
    started = time.time_ns()
    yield small_step(1, None, 0, started)
    for step_id in range(2, count + 1):
        yield small_step(step_id, 1, 1, started)


def order_input(order_id: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer": f"c{order_id % 1000}",
        "region": REGIONS[order_id % 3],
    }


def deploy(store: Store, name: str) -> VersionRecord:
    version, _ = store.deploy_version(
        "default",
        name,
        source=f"def {name}(order_id, customer, region):\n    return 1\n",
        settings=VersionSettings().model_dump(mode="json"),
        sha256=name,
        warnings=[],
        dependencies=[],
        signature={"name": name, "parameters": []},
        description=None,
        created_by=None,
    )
    return version


class Generator:
    """Grows a store: executions of the ``f*`` functions, with their steps."""

    def __init__(self, store: Store, steps: int, *, bulk: bool = False, probe: int = 20) -> None:
        self.store = store
        self.steps = steps
        self.probe = probe
        self.cloner = Cloner(store) if bulk else None
        self.versions = [deploy(store, f"f{index}") for index in range(FUNCTIONS)]
        self.count = 0
        self.steps_written = 0
        self.write_seconds = 0.0

    def run(self, version: VersionRecord, order_id: int, steps: int) -> str:
        store = self.store
        record = store.enqueue_execution(
            version=version,
            trigger="api",
            input=order_input(order_id),
            versions={},
        )
        store.claim_execution(record.id, "bench")
        batch: list[dict[str, Any]] = []
        started = time.perf_counter()
        for step in steps_of(steps):
            batch.append(step)
            if len(batch) == BATCH:
                store.save_steps(record.id, batch)
                batch = []
        if batch:
            store.save_steps(record.id, batch)
        self.write_seconds += time.perf_counter() - started
        self.steps_written += steps
        store.finish_execution(record.id, status="succeeded", output=1)
        return record.id

    def grow_to(self, executions: int) -> None:
        """Real executions (``Store.save_steps``) up to ``executions``, or with ``bulk``: all
        but the last ``probe`` cloned in bulk from the templates, the rest real (so the write
        rate keeps being measured at every size)."""
        if self.cloner is not None:
            self.cloner.clone(self, max(executions - self.probe, self.count))
        while self.count < executions:
            self.real(self.count)

    def real(self, order_id: int) -> str:
        version = self.versions[order_id % FUNCTIONS]
        execution_id = self.run(version, order_id, self.steps)
        self.count += 1
        if self.cloner is not None and version.id not in self.cloner.templates:
            self.cloner.templates[version.id] = execution_id
        return execution_id


class Cloner:
    """Bulk copies of executions the store wrote: each new execution is a copy of the rows of
    a template execution of the same function (written through ``enqueue_execution``,
    ``save_steps`` and ``finish_execution``) with a new id and its own input, copied by
    ``INSERT ... SELECT`` into every table keyed by execution id, so the rows are exactly as
    the store writes them and the tables' triggers (run counters, the search index) run as
    for any insert. Thousands of executions per statement: minutes for ten million steps."""

    CHUNK = 1_000  # executions per transaction
    STAGE = "bench_clones"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.templates: dict[int, str] = {}  # version id -> template execution id
        self.clone_seconds = 0.0
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE {self.STAGE} (id VARCHAR(32) PRIMARY KEY, "
                    "template VARCHAR(32) NOT NULL, input TEXT NOT NULL)"
                )
            )
        found = inspect(store.engine)
        self.exec_columns = [c["name"] for c in found.get_columns("executions")]
        self.keyed = {
            name: [c["name"] for c in found.get_columns(name)]
            for name in found.get_table_names()
            if name != "executions"
            and any(c["name"] == "execution_id" for c in found.get_columns(name))
            and name != "execution_search_rows"  # kept by the executions triggers
        }
        json_input = "CAST(n.input AS json)" if not store.is_sqlite else "n.input"
        picked = {"id": "n.id", "input": json_input}
        self.exec_sql = text(
            f"INSERT INTO executions ({', '.join(self.exec_columns)}) SELECT "
            + ", ".join(picked.get(c, f"t.{c}") for c in self.exec_columns)
            + f" FROM {self.STAGE} n JOIN executions t ON t.id = n.template ORDER BY n.id"
        )
        self.row_sql = [
            text(
                f"INSERT INTO {name} ({', '.join(columns)}) SELECT "
                + ", ".join("n.id" if c == "execution_id" else f"t.{c}" for c in columns)
                + f" FROM {self.STAGE} n JOIN {name} t ON t.execution_id = n.template"
                + " ORDER BY n.id"
            )
            for name, columns in self.keyed.items()
        ]

    def clone(self, generator: Generator, target: int) -> None:
        started = time.perf_counter()
        while generator.count < target:
            missing = [v for v in generator.versions if v.id not in self.templates]
            if missing:  # the first executions of each function are real: the templates
                generator.real(generator.count)
                continue
            upto = min(target, generator.count + self.CHUNK)
            rows = [
                {
                    "id": new_execution_id(),
                    "template": self.templates[generator.versions[n % FUNCTIONS].id],
                    "input": json.dumps(order_input(n)),
                }
                for n in range(generator.count, upto)
            ]
            with self.store.engine.begin() as conn:
                conn.execute(
                    text(f"INSERT INTO {self.STAGE} VALUES (:id, :template, :input)"), rows
                )
                conn.execute(self.exec_sql)
                for statement in self.row_sql:
                    conn.execute(statement)
                conn.execute(text(f"DELETE FROM {self.STAGE}"))
            generator.count = upto
        if not self.store.is_sqlite:
            with self.store.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        self.clone_seconds += time.perf_counter() - started


def step_bytes(store: Store) -> tuple[int, int, dict[str, int]]:
    """(bytes of the step tables and their indexes, number of steps, bytes of each table and
    index that holds steps or their value index, by name)."""
    found = inspect(store.engine)
    tables = [name for name in (*STEP_TABLES, "value_hashes") if found.has_table(name)]
    with store.engine.connect() as conn:
        steps = conn.scalar(text("SELECT count(*) FROM steps"))
        parts: dict[str, int] = {}
        for name in tables:
            if store.is_sqlite:
                rows = conn.execute(
                    text(
                        "SELECT name, sum(pgsize) FROM dbstat WHERE name IN "
                        "(SELECT name FROM sqlite_master WHERE tbl_name = :t) GROUP BY name"
                    ),
                    {"t": name},
                )
            else:
                conn.execute(text(f"ANALYZE {name}"))
                rows = conn.execute(
                    text(
                        "SELECT c.relname, pg_table_size(c.oid) FROM pg_class c WHERE c.oid = "
                        "CAST(:t AS regclass) UNION ALL SELECT i.relname, pg_relation_size(i.oid) "
                        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                        "WHERE x.indrelid = CAST(:t AS regclass)"
                    ),
                    {"t": name},
                )
            parts.update({str(part): int(size or 0) for part, size in rows})
    step_parts = {
        part: size
        for part, size in parts.items()
        if not part.startswith(
            ("value_hashes", "ix_value_hashes", "pk_value_hashes", "sqlite_autoindex_value")
        )
    }
    return sum(step_parts.values()), int(steps or 0), parts


def median_ms(run: Callable[[], object], rounds: int) -> float:
    run()  # warm: statement caches, pages
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def requests(client: TestClient, big_id: str, big: int) -> dict[str, Callable[[], httpx.Response]]:
    def get(url: str) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            response = client.get(url)
            response.raise_for_status()
            return response

        return call

    return {
        "list executions": get("/api/v1/executions?limit=50"),
        "list of one function": get("/api/v1/executions?function=f3&limit=50"),
        "search key=value": get("/api/v1/executions?q=customer%3Dc123&limit=50"),
        "search a value": get("/api/v1/executions?q=c123&limit=50"),
        "search a missing value": get("/api/v1/executions?q=zzz_nowhere&limit=50"),
        "search a common value": get("/api/v1/executions?q=region%3Dus&limit=50"),
        "functions": get("/api/v1/functions"),
        "function page (rare)": get("/api/v1/functions/default/rare"),
        "stats (rare)": get("/api/v1/functions/default/rare/stats"),
        "home page (UI)": get("/"),
        "function page (UI)": get("/functions/default/rare"),
        f"open {big:,} steps": get(f"/api/v1/executions/{big_id}"),
    }


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as directory:
            yield url or f"sqlite:///{Path(directory) / 'scale.db'}"
        return
    name = f"runtree_bench_{secrets.token_hex(4)}"
    admin = make_url(url).set(drivername="postgresql")
    plain = admin.render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="executions at each stage")
    parser.add_argument("--steps", type=int, default=100, help="steps per execution")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--big", type=int, default=BIG_STEPS, help="steps of the big execution")
    parser.add_argument(
        "--quick", action="store_true", help="sizes 20,60, 5 steps, 2 rounds, big 500"
    )
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="copy executions in bulk from ones the store wrote (--probe real ones per stage)",
    )
    parser.add_argument("--probe", type=int, default=20, help="real executions per stage")
    parser.add_argument(
        "--reuse", action="store_true", help="time the requests again on a kept --database"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    steps, rounds, big, rare_runs = args.steps, args.rounds, args.big, RARE_RUNS
    if args.quick:
        sizes, steps, rounds, big, rare_runs = [20, 60], 5, 2, 500, 10

    if args.reuse:
        retime(args.database, rounds, big)
        return
    with database(args.database) as url, Store(url) as store:
        settings = Settings(database_url=url, auth=False, scheduler=False)
        generator = Generator(store, steps, bulk=args.bulk, probe=args.probe)
        rare = deploy(store, "rare")
        for index in range(rare_runs):
            generator.run(rare, 10_000_000 + index, 1)
        big_id = generator.run(deploy(store, "big"), 20_000_000, big)
        with TestClient(create_app(settings, store=store, dispatcher=NullDispatcher())) as client:
            client.headers["Accept-Encoding"] = "gzip"
            calls = requests(client, big_id, big)
            results: list[tuple[int, dict[str, float], float, int, float]] = []
            for size in sizes:
                written, seconds = generator.steps_written, generator.write_seconds
                generator.grow_to(size)
                size_bytes, step_count, parts = step_bytes(store)
                timings = {label: median_ms(call, rounds) for label, call in calls.items()}
                wire = calls[f"open {big:,} steps"]().num_bytes_downloaded
                rate = (generator.steps_written - written) / (generator.write_seconds - seconds)
                results.append((size, timings, size_bytes / step_count, wire, rate))
                cloned = generator.cloner.clone_seconds if generator.cloner else 0.0
                print(
                    f"stage {size:,} executions, {step_count:,} steps: "
                    f"{size_bytes / step_count:.0f} bytes/step, {rate:,.0f} steps/s written "
                    f"through save_steps at this stage; {cloned:.0f} s of bulk copying so far",
                    flush=True,
                )
                print(
                    "  bytes/step by table and index: "
                    + ", ".join(f"{part} {size / step_count:.0f}" for part, size in parts.items()),
                    flush=True,
                )
                for label, ms in timings.items():
                    print(f"  {label}: {ms:.1f} ms", flush=True)
    report(results, steps, big, "SQLite" if url.startswith("sqlite") else "PostgreSQL")


def retime(url: str | None, rounds: int, big: int) -> None:
    """Time the requests again on a store an earlier run grew and kept (``--database
    sqlite:///PATH``), without growing it: e.g. after a change to the queries."""
    if url is None:
        raise SystemExit("--reuse needs --database")
    with Store(url) as store:
        settings = Settings(database_url=url, auth=False, scheduler=False)
        page, _ = store.search_executions(namespace="default", name="big", limit=1)
        size_bytes, step_count, _ = step_bytes(store)
        app = create_app(settings, store=store, dispatcher=NullDispatcher())
        with TestClient(app) as client:
            client.headers["Accept-Encoding"] = "gzip"
            calls = requests(client, page[0].id, big)
            print(f"{step_count:,} steps, {size_bytes / step_count:.0f} bytes/step")
            for label, call in calls.items():
                print(f"  {label}: {median_ms(call, rounds):.1f} ms", flush=True)


def report(
    results: list[tuple[int, dict[str, float], float, int, float]],
    steps: int,
    big: int,
    backend: str,
) -> None:
    first = results[0][1]
    print(f"\n{backend}, {steps} steps per execution; median ms (ratio to the first stage)")
    header = "request".ljust(26) + "".join(f"{size:>22,}" for size, *_ in results)
    print(header)
    for label in first:
        cells = "".join(
            f"{timings[label]:>13.1f} ({timings[label] / first[label]:>4.2f}x)"
            for _, timings, *_ in results
        )
        print(label.ljust(26) + cells)
    print("bytes/step".ljust(26) + "".join(f"{per:>22.0f}" for _, _, per, _, _ in results))
    print(
        f"open {big:,}: bytes on wire".ljust(26)
        + "".join(f"{wire:>22,}" for *_, wire, _ in results)
    )
    print("steps/s written".ljust(26) + "".join(f"{rate:>22,.0f}" for *_, rate in results))


if __name__ == "__main__":
    main()
