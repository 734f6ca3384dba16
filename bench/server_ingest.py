#!/usr/bin/env python3
"""How fast the tracker server ingests and serves history, over real HTTP.

Starts ``python -m jupyter_tracker.server`` as a separate process (its own
temporary data directory, a free port, a token made with its CLI) and drives
it with ``requests``:

- ingest, 1 client: batches of ``--records`` history records x ``--metrics``
  scalar metrics each, sent one after the other to one run;
- ingest, 8 clients: 8 threads, one run each, at the same time;
- history read: one metric of 10^6 points, ``GET /history?samples=1000``,
  p50 / p99 latency over repeated requests.

Bodies are encoded before the clock starts (the figure is the server's, plus
HTTP), and every batch must come back acknowledged. SQLite always; PostgreSQL
too with ``--db postgresql://...`` (or ``$TRACKER_TEST_POSTGRES_URL``), in a
fresh schema dropped afterwards. Prints a table and writes
``bench/results/server_ingest.json``.

    python bench/server_ingest.py --quick          # < 1 min
    python bench/server_ingest.py --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import orjson
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import fmt_num, machine_info, machine_markdown, now_iso, write_section  # noqa: E402
from servers import ServerProcess  # noqa: E402



def make_bodies(batches: int, records: int, metrics: int, start_step: int = 0) -> list[bytes]:
    """Pre-encoded ``POST /records`` bodies: ``records`` history records of ``metrics`` values each."""
    names = [f"train/metric_{i}" for i in range(metrics)]
    out = []
    seq, step, ts = 1, start_step, 1.79e9
    for _ in range(batches):
        recs = []
        for _ in range(records):
            row = {name: (step * 0.001 + i) % 7.3 for i, name in enumerate(names)}
            recs.append([seq, "h", step, ts, row])
            seq += 1
            step += 1
            ts += 0.001
        out.append(orjson.dumps({"log": "events", "first_seq": seq - records, "last_seq": seq - 1, "records": recs}))
    return out


def new_run(session: requests.Session, server: ServerProcess, name: str) -> str:
    run_id = "b" + secrets.token_hex(6)
    response = session.put(f"{server.url}/runs/{run_id}", json={"project": "bench", "name": name}, headers=server.headers)
    response.raise_for_status()
    return run_id


def send_all(server: ServerProcess, run_id: str, bodies: list[bytes], latencies: list[float] | None = None) -> None:
    with requests.Session() as session:
        headers = dict(server.headers, **{"Content-Type": "application/json"})
        url = f"{server.url}/runs/{run_id}/records"
        for body in bodies:
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"batch refused: {response.status_code} {response.text[:200]}")
            if latencies is not None:
                latencies.append(time.perf_counter() - started)


def ingest(server: ServerProcess, clients: int, batches: int, records: int, metrics: int) -> dict:
    """Points per second for ``clients`` concurrent clients, each to its own run."""
    with requests.Session() as session:
        runs = [new_run(session, server, f"ingest-{i}") for i in range(clients)]
    bodies = make_bodies(batches, records, metrics)
    latencies: list[float] = []
    threads = [threading.Thread(target=send_all, args=(server, run, bodies, latencies)) for run in runs]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    points = clients * batches * records * metrics
    with requests.Session() as session:
        for run in runs:
            got = session.get(f"{server.url}/runs/{run}", headers=server.headers).json()
            if got["hwm"]["events"] != batches * records:
                raise RuntimeError(f"run {run}: hwm {got['hwm']} after {batches * records} records")
    return {
        "clients": clients,
        "points": points,
        "seconds": elapsed,
        "points_per_s": points / elapsed,
        "batch_p50_ms": 1000 * statistics.median(latencies),
        "batch_points": records * metrics,
    }


def history_read(server: ServerProcess, points: int, samples: int, reads: int) -> dict:
    """Latency of ``GET /history?samples=`` on one metric of ``points`` points."""
    with requests.Session() as session:
        run = new_run(session, server, "history-read")
    per_batch = 20_000
    bodies = make_bodies(points // per_batch, per_batch, 1)
    started = time.perf_counter()
    send_all(server, run, bodies)
    loaded = time.perf_counter() - started
    key = quote("train/metric_0", safe="")
    url = f"{server.url}/runs/{run}/history?keys={key}&samples={samples}"
    times = []
    with requests.Session() as session:
        for i in range(reads + 3):
            t0 = time.perf_counter()
            response = session.get(url, headers=server.headers)
            elapsed = time.perf_counter() - t0
            response.raise_for_status()
            series = response.json()["train/metric_0"]
            if i >= 3:  # the first reads warm the caches
                times.append(elapsed)
        full = len(series["step"])
    times.sort()
    return {
        "points": points,
        "samples": samples,
        "returned": full,
        "reads": reads,
        "p50_ms": 1000 * times[len(times) // 2],
        "p99_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.99))],
        "load_points_per_s": points / loaded,
    }


def _pg_schema(url: str) -> tuple[str, str]:
    """A fresh schema on ``url``; return (server URL using it, schema name)."""
    import psycopg

    schema = "bench_" + secrets.token_hex(4)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in plain else "?"
    return f"{plain}{sep}options=-csearch_path%3D{schema}", schema


def _pg_drop(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_backend(name: str, db: str | None, args: argparse.Namespace, tmp: Path) -> list[dict]:
    rows = []
    data_dir = tmp / name
    data_dir.mkdir()
    for workers in args.workers:
        server = ServerProcess(data_dir, db, workers)
        try:
            for clients in (1, 8):
                result = ingest(server, clients, args.batches, args.records, args.metrics)
                rows.append({"backend": name, "workers": workers, "what": f"ingest, {clients} client(s)", **result})
                print(f"  {name:10} workers={workers} clients={clients}: {result['points_per_s']:,.0f} points/s", flush=True)
            if workers == args.workers[0]:
                result = history_read(server, args.history_points, 1000, args.reads)
                rows.append({"backend": name, "workers": workers, "what": "history read (points/s: loading it)", **result})
                print(f"  {name:10} history read of {args.history_points:,} points: p50 {result['p50_ms']:.1f} ms, "
                      f"p99 {result['p99_ms']:.1f} ms", flush=True)
        finally:
            server.stop()
    return rows


def markdown(rows: list[dict], args: argparse.Namespace, machine: dict) -> str:
    lines = [
        f"Server ingest and history reads over HTTP (`bench/server_ingest.py{' --quick' if args.quick else ''}`), "
        f"{now_iso()}. Batches of {args.records:,} records x {args.metrics} metrics; bodies encoded before timing.\n\n",
        machine_markdown(machine),
        "\n| backend | workers | what | points | points/s | batch p50 ms | read p50 ms | read p99 ms |\n",
        "|---|---|---|---|---|---|---|---|\n",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['workers']} | {r['what']} | {r['points']:,} | "
            f"{fmt_num(r.get('points_per_s') or r.get('load_points_per_s'))} | {fmt_num(r.get('batch_p50_ms'))} | "
            f"{fmt_num(r.get('p50_ms'))} | {fmt_num(r.get('p99_ms'))} |\n"
        )
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer batches and reads (< 1 min)")
    parser.add_argument("--db", help="also measure this PostgreSQL URL (default $TRACKER_TEST_POSTGRES_URL)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--records", type=int, default=5000, help="records per batch (default 5000)")
    parser.add_argument("--metrics", type=int, default=4, help="metrics per record (default 4)")
    parser.add_argument("--batches", type=int, help="batches per client (default 40; --quick 6)")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="server worker counts to try, e.g. 1,2 (default 1,2; --quick 2)")
    parser.add_argument("--history-points", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, help="history reads (default 200; --quick 30)")
    parser.add_argument("--peers-python", help=argparse.SUPPRESS)  # accepted for run_all.py
    args = parser.parse_args(argv)
    args.batches = args.batches or (6 if args.quick else 40)
    args.reads = args.reads or (30 if args.quick else 200)
    args.workers = args.workers or ([2] if args.quick else [1, 2])
    pg_url = None if args.no_postgres else (args.db or os.environ.get("TRACKER_TEST_POSTGRES_URL"))
    machine = machine_info()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        print("SQLite:", flush=True)
        rows += run_backend("sqlite", None, args, Path(tmp))
        if pg_url:
            print("PostgreSQL:", flush=True)
            url, schema = _pg_schema(pg_url)
            try:
                rows += run_backend("postgresql", url, args, Path(tmp))
            finally:
                _pg_drop(pg_url, schema)
        else:
            print("PostgreSQL: skipped (no --db and no $TRACKER_TEST_POSTGRES_URL)")
    text = markdown(rows, args, machine)
    print()
    print(text)
    path = write_section("server_ingest", {
        "title": "Server ingest and history reads",
        "generated": now_iso(),
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "params": {k: v for k, v in vars(args).items() if k not in ("peers_python",)},
        "rows": rows,
        "markdown": text,
    })
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
