#!/usr/bin/env python3
"""Service overhead: CPU and memory of a run's background service process.

Every run starts a service process (``python -m jupyter_tracker.service``)
that samples system metrics (default every 2 s, averaged over 30 s windows),
watches the kernel, and in online mode streams the run to the server. This
measures what that process costs while the run logs at a modest rate:

- **offline**: ``tracker.init(mode="offline")``;
- **online**: a real tracker server (``python -m jupyter_tracker.server --port 0``
  with its own data directory and a token made with its CLI), and the run
  started with ``TRACKER_MODE=online``, ``TRACKER_HOST``, ``TRACKER_API_KEY``, so
  the service's sync thread uploads the events as they are written. The
  server's own CPU is reported for information.

Each mode runs in a fresh worker process (``--worker``) that starts the run,
finds its service (``run.companions.service.pid``), logs ``--rate`` rows/s (3 metrics)
from the main thread, lets the service warm up, then measures it over
``--seconds``: CPU % = (user + system CPU seconds, psutil) / wall × 100 and
RSS (sampled every second). Then it finishes the run and checks that the
service exits (and, online, that every record reached the server).

    python bench/service_overhead.py            # 30 s per mode (< 3 min)
    python bench/service_overhead.py --quick    # 6 s per mode (< 1 min)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "service_overhead"
TARGET_CPU_PERCENT = 1.0


# ---------------------------------------------------------------------------
# worker: one run, one mode
# ---------------------------------------------------------------------------
def _cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _tree_cpu(proc) -> float:
    """CPU seconds of a process and its live children (the server may fork workers)."""
    import psutil

    total = _cpu(proc)
    for child in proc.children(recursive=True):
        try:
            total += _cpu(child)
        except psutil.Error:
            pass
    return total


def _tree_rss(proc) -> float:
    import psutil

    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def worker_main(args: argparse.Namespace) -> int:
    import psutil

    import jupyter_tracker as tracker
    from jupyter_tracker import settings

    out: dict = {"mode": args.mode, "seconds": args.seconds, "warmup": args.warmup, "rate": args.rate,
                 "stats_interval_s": settings.stats_interval(), "stats_window_s": settings.stats_window()}
    run = tracker.init(project="bench-service", name=f"service-{args.mode}")
    out["run_mode"] = run.mode
    if run.mode != args.mode:
        raise RuntimeError(f"asked for a {args.mode} run, got {run.mode}")
    service = psutil.Process(run.companions.service.pid)
    server = psutil.Process(args.server_pid) if args.server_pid else None
    me = psutil.Process()
    log = run.log
    burst = max(1, round(args.rate / 100.0))
    period = burst / args.rate
    step = 0

    def log_for(seconds: float, each_second=None) -> int:
        """Log ``rate`` rows/s on a fixed schedule for ``seconds``; call ``each_second()`` once a second."""
        nonlocal step
        start = time.perf_counter()
        k = 0
        next_tick = start + 1.0
        while True:
            now = time.perf_counter()
            if now >= start + seconds:
                return k * burst
            if each_second is not None and now >= next_tick:
                next_tick += 1.0
                each_second()
            due = start + k * period
            if due > now:
                time.sleep(due - now)
            for _ in range(burst):
                i = step
                log({"train/loss": 1.0 / (1 + i * 1e-3), "train/acc": (i % 1000) / 1000.0,
                     "val/metric": (i * 0.37) % 5.0}, step=i)
                step += 1
            k += 1

    # -- warm-up: the service imports, primes psutil, takes its first samples --------
    log_for(args.warmup)
    out["service_startup_cpu_s"] = _cpu(service)
    out["service_age_at_measure_s"] = time.time() - service.create_time()

    # -- measurement ------------------------------------------------------------------
    rss: list[float] = []
    server_rss: list[float] = []
    threads: list[int] = []

    def sample() -> None:
        try:
            rss.append(service.memory_info().rss / 2**20)
            threads.append(service.num_threads())
            if server is not None:
                server_rss.append(_tree_rss(server))
        except psutil.Error:
            pass

    sample()
    c0, s0, k0 = _cpu(service), (_tree_cpu(server) if server else None), _cpu(me)
    w0 = time.perf_counter()
    rows = log_for(args.seconds, sample)
    wall = time.perf_counter() - w0
    c1, s1, k1 = _cpu(service), (_tree_cpu(server) if server else None), _cpu(me)
    sample()
    out.update({
        "wall_s": wall,
        "rows_logged": rows,
        "rows_per_s": rows / wall,
        "service_cpu_s": c1 - c0,
        "service_cpu_percent": 100 * (c1 - c0) / wall,
        "service_rss_mb_median": sorted(rss)[len(rss) // 2] if rss else None,
        "service_rss_mb_max": max(rss) if rss else None,
        "service_threads": max(threads) if threads else None,
        "kernel_process_cpu_percent": 100 * (k1 - k0) / wall,
        "server_cpu_percent": (100 * (s1 - s0) / wall) if server else None,
        "server_rss_mb_max": max(server_rss) if server_rss else None,
        "system_live_exists": (run.path / "system-live.json").exists(),
    })
    # -- finish: the service must exit (online: after uploading everything) -------------
    t0 = time.perf_counter()
    run.finish()
    out["finish_s"] = time.perf_counter() - t0
    try:
        code = run.companions.service.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = None
        run.companions.service.proc.kill()
    out["service_exit_code"] = code
    out["service_exit_after_finish_s"] = time.perf_counter() - t0
    system_log = run.path / "system.log"
    out["system_records"] = system_log.read_bytes().count(b"\n") if system_log.exists() else 0
    if args.mode == "online":
        from jupyter_tracker import records
        from jupyter_tracker.rundir import read_sync as read_status

        status = read_status(run.path)
        last_seq = records.last_seq(run.path / "events.log")
        acked = (status.get("events") or {}).get("acked")
        out.update({"sync_status": status.get("status"), "sync_acked": acked, "events_last_seq": last_seq,
                    "sync_complete": acked == last_seq and status.get("status") == "done"})
    Path(args.out).write_text(json.dumps(out))
    return 0


# ---------------------------------------------------------------------------
# runner
# ---------------------------------------------------------------------------
def run_worker(mode: str, args: argparse.Namespace, tmp: Path) -> dict:
    work = tmp / mode
    work.mkdir()
    out = work / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}  # stats interval/window: defaults
    env.update(TRACKER_DIR=str(work / "runs"), TRACKER_CONFIG_DIR=str(work / "config"), TRACKER_SILENT="true",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    server = None
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--mode", mode, "--seconds", str(args.seconds),
           "--warmup", str(args.warmup), "--rate", str(args.rate), "--out", str(out)]
    try:
        if mode == "online":
            from servers import ServerProcess

            server = ServerProcess(work / "server", env=env)
            env.update(TRACKER_MODE="online", TRACKER_HOST=server.base, TRACKER_API_KEY=server.token)
            cmd += ["--server-pid", str(server.proc.pid)]
        else:
            env["TRACKER_MODE"] = "offline"
        started = time.perf_counter()
        proc = subprocess.run(cmd, check=False, cwd=str(work), env=env, capture_output=True, text=True,
                              timeout=args.seconds + args.warmup + 180)
    finally:
        if server is not None:
            server.stop()
    if proc.returncode != 0 or not out.exists():
        return {"mode": mode, "error": f"worker exit {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}"}
    result = json.loads(out.read_text())
    result["worker_wall_s"] = time.perf_counter() - started
    service_log = next((work / "runs").glob("*/logs/service.log"), None)
    if service_log is not None:
        text = service_log.read_text(errors="replace")
        problems = [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line or "Traceback" in line]
        result["service_log_problems"] = problems[:20]
    return result


def _f(v, digits=3):
    from _common import fmt_num

    return fmt_num(v, digits)


HEADERS = ["mode", "service CPU %", "service CPU s / wall s", "service RSS MB (median / max)", "threads",
           "startup CPU s", "rows/s logged", "kernel process CPU %", "server CPU %", "server RSS MB",
           "service exit after finish s", "data complete"]


def table_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.get("error"):
            rows.append([r["mode"], "ERROR", r["error"][:160]] + [""] * (len(HEADERS) - 3))
            continue
        if r["mode"] == "online":
            complete = (f"yes ({r['sync_acked']:,} of {r['events_last_seq']:,} records acked, {r['sync_status']})"
                        if r.get("sync_complete") else
                        f"NO ({r.get('sync_acked')} of {r.get('events_last_seq')} acked, status {r.get('sync_status')})")
        else:
            complete = "n/a (local)"
        rows.append([
            r["mode"],
            _f(r["service_cpu_percent"]),
            f"{r['service_cpu_s']:.2f} / {r['wall_s']:.1f}",
            f"{_f(r['service_rss_mb_median'])} / {_f(r['service_rss_mb_max'])}",
            str(r["service_threads"]),
            _f(r["service_startup_cpu_s"]),
            f"{r['rows_per_s']:,.0f}",
            _f(r["kernel_process_cpu_percent"]),
            _f(r["server_cpu_percent"]) if r.get("server_cpu_percent") is not None else "–",
            _f(r["server_rss_mb_max"]) if r.get("server_rss_mb_max") is not None else "–",
            _f(r["service_exit_after_finish_s"]) + ("" if r["service_exit_code"] == 0 else f" (exit {r['service_exit_code']})"),
            complete,
        ])
    return rows


def verdicts(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        label = f"service ≤ 1% of one core at 2 s sampling, {r['mode']}"
        if r.get("error"):
            lines.append(f"{label}: NOT MEASURED ({r['error'][:200]})")
            continue
        met = r["service_cpu_percent"] <= TARGET_CPU_PERCENT
        lines.append(f"{label}: {'met' if met else 'MISSED'} ({_f(r['service_cpu_percent'])}% = "
                     f"{r['service_cpu_s']:.2f} CPU s over {r['wall_s']:.1f} s, sampling every "
                     f"{r['stats_interval_s']:g} s, window {r['stats_window_s']:g} s, RSS {_f(r['service_rss_mb_max'])} MB, "
                     f"{r['rows_per_s']:,.0f} rows/s logged)")
        if r.get("service_exit_code") not in (0,):
            lines.append(f"WARNING ({r['mode']}): the service exited with {r.get('service_exit_code')} after finish()")
        if r["mode"] == "online" and not r.get("sync_complete"):
            lines.append(f"WARNING (online): upload incomplete after finish: {r.get('sync_acked')} of "
                         f"{r.get('events_last_seq')} records acknowledged, status {r.get('sync_status')}")
        if r.get("service_log_problems"):
            lines.append(f"NOTE ({r['mode']}): service.log has warnings/errors: {r['service_log_problems'][:3]}")
    return lines


def render_markdown(section: dict) -> str:
    from _common import machine_markdown, md_table

    p = section["params"]
    md = [
        f"_Generated {section['generated']} by `bench/service_overhead.py{' --quick' if section['mode'] == 'quick' else ''}` — "
        f"mode **{section['mode']}**, {p['seconds']:g} s measured per mode after {p['warmup']:g} s of warm-up, "
        f"{p['rate']:,} rows/s logged, suite took {section['suite_seconds']:.0f} s._\n\n",
        machine_markdown(section["machine"]),
        f"- Python {section['python']}, psutil {section['versions'].get('psutil')}\n",
        "\n### Targets\n\n",
        "".join(f"- {line}\n" for line in section["verdicts"]),
        "\n### Results\n\n",
        "CPU % = (user + system) CPU seconds of the process over the window / wall seconds × 100 (100 % = one core). "
        "*startup CPU*: the service's CPU from its start to the end of the warm-up (imports, first samples). "
        "*kernel process*: the worker (the \"notebook\"), logging and writing the events, for scale. *server*: the "
        "tracker server process (and any children) receiving the stream, for information. *data complete*: after "
        "`finish()`, the service uploaded every record of `events.log` and exited.\n\n",
        md_table(HEADERS, table_rows(section["results"])),
        "\n### Method\n\n" + METHOD_MD,
    ]
    return "".join(md)


METHOD_MD = """\
- **One fresh worker process per mode** (`service_overhead.py --worker`), its own temporary `TRACKER_DIR` and
  `TRACKER_CONFIG_DIR`, `TRACKER_SILENT=true`, `TRACKER_STATS_INTERVAL` and `TRACKER_STATS_WINDOW` unset (2 s
  sampling, 30 s windows: the defaults). The worker calls `tracker.init()` and finds the service with
  `run.companions.service.pid`; the service runs exactly as for a user.
- **Online**: a tracker server is started first (`python -m jupyter_tracker.server --port 0 --data-dir TMP`, SQLite,
  one worker), with a token made by `python -m jupyter_tracker.server token create`; the worker gets
  `TRACKER_MODE=online`, `TRACKER_HOST`, `TRACKER_API_KEY`, so the service's sync thread streams the events log.
- **Load**: the worker's main thread logs `--rate` rows/s (default 1,000; 3 scalar metrics per row, bursts of rate/100
  rows every 10 ms on a fixed schedule) through warm-up and measurement.
- **Measured**, after `--warmup` s (5 s; quick 2 s): the service's `psutil` CPU times (user + system) at the start
  and end of a `--seconds` window (30 s; quick 6 s), its RSS and thread count sampled every second, the worker's
  own CPU and, online, the server's CPU and RSS. CPU times have a 10 ms resolution (clock ticks): ±0.03 % over
  30 s, ±0.1 % over 10 s.
- **Then** the worker calls `run.finish()`, waits for the service to exit (it finishes the upload first) and checks
  its exit code, the `system.log` records and, online, that `sync.json` acknowledges the last sequence number of
  `events.log`. One run per mode, not repeated or trimmed.
"""


def runner_main(args: argparse.Namespace) -> int:
    from _common import new_section, publish_section

    args.seconds = args.seconds or (6.0 if args.quick else 30.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 5.0)
    suite0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-service-") as tmp:
        for mode in args.modes:
            print(f"  {mode}: ...", flush=True, end="")
            r = run_worker(mode, args, Path(tmp))
            results.append(r)
            if r.get("error"):
                print(f" ERROR {r['error'][-300:]}", flush=True)
            else:
                print(f" service {r['service_cpu_percent']:.3f}% CPU, RSS {r['service_rss_mb_max']:.1f} MB "
                      f"(worker {r['worker_wall_s']:.0f} s)", flush=True)
    section = new_section("Service overhead", args.quick, {"modes": args.modes, "seconds": args.seconds, "warmup": args.warmup, "rate": args.rate},
                          time.perf_counter() - suite0, results, packages=("psutil",))
    section["verdicts"] = verdicts(results)
    section["markdown"] = render_markdown(section)
    publish_section(SECTION, section, [(HEADERS, table_rows(results))])
    return 1 if any(r.get("error") for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="6 s per mode after 2 s of warm-up (< 1 min)")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per mode (30; --quick 6)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before measuring (5; --quick 3)")
    parser.add_argument("--rate", type=int, default=1000, help="rows/s logged by the run (1000)")
    parser.add_argument("--modes", type=lambda s: s.split(","), default=["offline", "online"],
                        help="offline,online (default both)")
    parser.add_argument("--peers-python", help=argparse.SUPPRESS)  # accepted for run_all.py
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    sys.path.insert(0, str(HERE))
    return runner_main(args)


if __name__ == "__main__":
    sys.exit(main())
