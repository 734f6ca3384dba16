#!/usr/bin/env python3
"""Panel cost: kernel CPU and bytes of the live notebook panel while a run logs.

For each history length N (10^3, 10^5, 10^6 logged rows of 20 metrics by
default: ``train/loss``, ``train/acc``, ``val/metric`` and ``train/extra_K``),
a fresh worker process:

1. starts a real offline run (``tracker.init(mode="offline")``, temporary
   ``TRACKER_DIR``, ``TRACKER_SILENT=true``; its service process runs as for a
   user, sampling every 2 s, so the panel's system charts update too) and logs
   N rows at full speed, with no panel;
2. opens ``Panel(run)`` with a recording comm in place of the kernel's
   (``ipywidgets.comm.create_comm``): the comm serialises each message to JSON
   as a kernel's session would and keeps its size and the sizes of its binary
   buffers, and sends nothing. The panel reads the N rows from ``events.log``
   on its own thread (catch-up, timed);
3. steady state: logs ``--rate`` rows/s (bursts of rate/100 rows every 10 ms,
   from the main thread) for ``--seconds`` while the panel's own thread reads
   the log and redraws at its own pace, and measures the CPU of the panel
   thread (per-thread CPU clock: reading the log, redrawing, the system
   charts), the share of it spent reading (``Panel.pull``) and drawing
   (``Panel.draw``), the bytes sent per redraw and the points per line.

Prints a table and the target lines, writes ``bench/results/panel_cost.json``
and (unless ``BENCH_NO_RESULTS_MD=1``) rebuilds ``bench/RESULTS.md``.

    python bench/panel_cost.py            # N = 10^3, 10^5, 10^6; 30 s steady state each
    python bench/panel_cost.py --quick    # N = 10^3, 10^5; 5 s each
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "panel_cost"
METRICS = ("train/loss", "train/acc", "val/metric")
TARGET_CPU_PERCENT = 5.0
DEFAULT_METRICS = 20
FLAT_RATIO = 1.5  # CPU % at the longest history / at 10^3 above this is "not flat"


# ---------------------------------------------------------------------------
# worker: one history length in a fresh process
# ---------------------------------------------------------------------------
class _Recorder:
    """Every message the widgets would send: (thread id, JSON bytes, buffer bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, int, int]] = []
        self.opened = 0


def _install_recording_comm(rec: _Recorder) -> None:
    import ipywidgets.comm

    counter = iter(range(1, 1 << 62))

    def size(data: object, buffers: object) -> tuple[int, int]:
        # what a kernel's session.send would serialise (json_packer), and the raw buffers
        text = json.dumps(data, default=str, ensure_ascii=False, allow_nan=False)
        return len(text.encode("utf-8", "surrogateescape")), sum(memoryview(b).nbytes for b in (buffers or ()))

    class RecordingComm:
        kernel = "recording"

        def __init__(self, **kwargs: object) -> None:
            self.comm_id = kwargs.get("comm_id") or f"rec-{next(counter)}"
            js, buf = size(kwargs.get("data"), kwargs.get("buffers"))
            rec.messages.append((threading.get_ident(), js, buf))
            rec.opened += 1

        def send(self, data: object = None, metadata: object = None, buffers: object = None) -> None:
            js, buf = size(data, buffers)
            rec.messages.append((threading.get_ident(), js, buf))

        def on_msg(self, callback: object) -> None:
            self.callback = callback

        def close(self, *args: object, **kwargs: object) -> None:
            pass

    ipywidgets.comm.create_comm = lambda **kwargs: RecordingComm(**kwargs)


def _thread_cpu(thread: threading.Thread) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def metric_names(count: int) -> list[str]:
    """The 3 metrics of the benchmark, then ``train/extra_K`` up to ``count`` (``--metrics``)."""
    return list(METRICS[:count]) + [f"train/extra_{k}" for k in range(max(0, count - len(METRICS)))]


def _row(i: int, extra: int = 0) -> dict[str, float]:
    # deterministic, noisy, different scales per metric
    noise = ((i * 7919) % 1000) / 1000.0 - 0.5
    row = {
        "train/loss": 2.0 / (1.0 + i * 1e-4) + 0.1 * noise,
        "train/acc": min(1.0, 0.5 + i * 1e-6) + 0.02 * noise,
        "val/metric": 0.3 + 0.05 * ((i // 100) % 10) + 0.01 * noise,
    }
    for k in range(extra):
        row[f"train/extra_{k}"] = ((i * (k + 3)) % 101) / 101.0 + 0.01 * noise
    return row


def worker_main(args: argparse.Namespace) -> int:
    out: dict = {"n": args.n, "seconds": args.seconds, "rate": args.rate, "metrics": args.metrics}
    if args.metrics < len(METRICS):
        raise SystemExit(f"--metrics must be at least {len(METRICS)}")
    extra = args.metrics - len(METRICS)
    names = metric_names(args.metrics)
    t_import = time.perf_counter()
    import jupyter_tracker as tracker

    out["import_tracker_ms"] = (time.perf_counter() - t_import) * 1000
    rec = _Recorder()
    t_import = time.perf_counter()
    import bqplot  # noqa: F401 - the panel imports it on its thread at its first chart; timed apart
    import ipywidgets  # noqa: F401

    out["import_widgets_ms"] = (time.perf_counter() - t_import) * 1000
    _install_recording_comm(rec)
    from jupyter_tracker.livepanel import Panel

    # -- instrumentation: at class level, before the panel binds its methods --------
    stats = {"measuring": False, "redraws": [], "pull_cpu": 0.0, "pull_calls": 0, "pull_rows": 0}
    original_draw = Panel.draw
    original_pull = Panel.pull

    def draw(self: Panel, *a, **kw) -> None:
        m0 = len(rec.messages)
        c0, w0 = time.thread_time(), time.perf_counter()
        try:
            original_draw(self, *a, **kw)
        finally:
            c1, w1 = time.thread_time(), time.perf_counter()
            stats["redraws"].append({"cpu": c1 - c0, "wall": w1 - w0, "m0": m0, "m1": len(rec.messages),
                                     "rows": self.store.rows, "at": w1, "measuring": stats["measuring"]})

    def pull(self: Panel, limit: int = 64 << 20) -> bool:
        rows0, c0 = self.store.rows, time.thread_time()
        try:
            return original_pull(self, limit)
        finally:
            if stats["measuring"]:
                stats["pull_cpu"] += time.thread_time() - c0
                stats["pull_calls"] += 1
                stats["pull_rows"] += self.store.rows - rows0

    Panel.draw = draw
    Panel.pull = pull

    run = tracker.init(project="bench-panel", name=f"panel-{args.n}", mode="offline")
    try:
        # -- history, without a panel -------------------------------------------------
        t0 = time.perf_counter()
        log = run.log
        for i in range(args.n):
            log(_row(i, extra), step=i)
        run._writer.drain()
        out["history_build_s"] = time.perf_counter() - t0
        out["events_log_mb"] = (run.path / "events.log").stat().st_size / 1e6

        # -- open: Panel(run) returns at once; its thread reads the N rows and draws -------
        c0, w0 = time.thread_time(), time.perf_counter()
        panel = Panel(run)
        out["open_wall_ms"] = (time.perf_counter() - w0) * 1000
        out["open_cpu_ms"] = (time.thread_time() - c0) * 1000
        run.companions.panel = panel
        run.notices.sink = panel.set_status
        panel_cpu0 = _thread_cpu(panel.redrawer.thread)
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:  # caught up: every row read and drawn in every chart
            if panel.store.rows >= args.n and len(panel.charts) == len(names) and stats["redraws"] and \
                    stats["redraws"][-1]["rows"] >= args.n and all(c.drawn >= args.n for c in panel.charts.values()):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the panel did not catch up within 600 s")
        out["catch_up_wall_s"] = time.perf_counter() - w0
        out["catch_up_panel_cpu_s"] = _thread_cpu(panel.redrawer.thread) - panel_cpu0
        first = stats["redraws"][-1]
        out["first_redraw_cpu_ms"] = first["cpu"] * 1000
        out["first_redraw_wall_ms"] = first["wall"] * 1000
        out["open_bytes"] = sum(js + buf for _, js, buf in rec.messages)
        out["rows_after_first_redraw"] = first["rows"]
        time.sleep(1.0)  # let a system sample pass

        # -- steady state ---------------------------------------------------------------
        panel_thread = panel.redrawer.thread
        rss0 = _rss_mb()
        writer_thread = run._writer._thread
        main_thread = threading.main_thread()
        burst = max(1, round(args.rate / 100.0))
        period = burst / args.rate
        start_index = len(stats["redraws"])
        stats["measuring"] = True
        cpu0 = {"panel": _thread_cpu(panel_thread), "writer": _thread_cpu(writer_thread),
                "main": _thread_cpu(main_thread), "process": time.process_time()}
        w_start = time.perf_counter()
        deadline = w_start + args.seconds
        i = args.n
        k = 0
        late = 0
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            due = w_start + k * period
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.05:
                late += 1
            for _ in range(burst):
                log(_row(i, extra), step=i)
                i += 1
            k += 1
        w_end = time.perf_counter()
        stats["measuring"] = False
        cpu1 = {"panel": _thread_cpu(panel_thread), "writer": _thread_cpu(writer_thread),
                "main": _thread_cpu(main_thread), "process": time.process_time()}
        wall = w_end - w_start
        steady = [r for r in stats["redraws"][start_index:] if r["measuring"]]
        logged = i - args.n
        # catching up: the panel must show every row logged
        stopped = time.perf_counter()
        while time.perf_counter() - stopped < 10.0:  # the panel draws every row once the log is idle
            if set(panel.charts) == set(names) and all(c.drawn == i for c in panel.charts.values()):
                break
            time.sleep(0.05)
        caught_up_s = time.perf_counter() - stopped
        drawn = {name: chart.drawn for name, chart in panel.charts.items()}
        points = {f"{name} {key}": len(xy[0]) for name, chart in panel.charts.items() for key, xy in chart.sent.items()}
        last_x = {name: float(chart.sent["raw"][0][-1]) for name, chart in panel.charts.items() if "raw" in chart.sent}

        per_redraw_bytes = [sum(js + buf for _, js, buf in rec.messages[r["m0"]:r["m1"]]) for r in steady]
        per_redraw_msgs = [r["m1"] - r["m0"] for r in steady]
        cpu_ms = [r["cpu"] * 1000 for r in steady]
        wall_ms = [r["wall"] * 1000 for r in steady]
        out.update({
            "steady_wall_s": wall,
            "rows_logged": logged,
            "rows_per_s": logged / wall,
            "late_bursts": late,
            "rows_at_start": args.n,
            "rows_at_end": i,
            "redraws": len(steady),
            "redraws_per_s": len(steady) / wall,
            "panel_thread_cpu_percent": 100 * (cpu1["panel"] - cpu0["panel"]) / wall,
            "redraw_cpu_percent": 100 * sum(r["cpu"] for r in steady) / wall,
            "read_cpu_percent": 100 * stats["pull_cpu"] / wall,
            "read_us_per_row": (1e6 * stats["pull_cpu"] / stats["pull_rows"]) if stats["pull_rows"] else None,
            "read_calls": stats["pull_calls"],
            "rss_mb": _rss_mb(),
            "rss_growth_mb": _rss_mb() - rss0,
            "writer_thread_cpu_percent": 100 * (cpu1["writer"] - cpu0["writer"]) / wall,
            "main_thread_cpu_percent": 100 * (cpu1["main"] - cpu0["main"]) / wall,
            "process_cpu_percent": 100 * (cpu1["process"] - cpu0["process"]) / wall,
            "redraw_cpu_ms_p50": _percentile(cpu_ms, 0.5),
            "redraw_cpu_ms_p95": _percentile(cpu_ms, 0.95),
            "redraw_cpu_ms_max": max(cpu_ms) if cpu_ms else None,
            "redraw_wall_ms_p50": _percentile(wall_ms, 0.5),
            "redraw_wall_ms_p95": _percentile(wall_ms, 0.95),
            "bytes_per_redraw_p50": _percentile(per_redraw_bytes, 0.5),
            "bytes_per_redraw_max": max(per_redraw_bytes) if per_redraw_bytes else None,
            "messages_per_redraw_p50": _percentile(per_redraw_msgs, 0.5),
            "bytes_per_s": sum(per_redraw_bytes) / wall,
            "points_per_line": points,
            "points_per_line_max": max(points.values()) if points else None,
            "drawn_after_catch_up": drawn,
            "last_x_drawn": last_x,
            "caught_up": all(v == i for v in drawn.values()) and set(drawn) == set(names),
            "caught_up_s": caught_up_s,
            "redraw_cpu_ms_series": [round(x, 3) for x in cpu_ms],
        })
    finally:
        Panel.draw = original_draw
        Panel.pull = original_pull
        run.finish()
    Path(args.out).write_text(json.dumps(out))
    return 0


# ---------------------------------------------------------------------------
# runner
# ---------------------------------------------------------------------------
def run_worker(n: int, args: argparse.Namespace, tmp: Path) -> dict:
    work = tmp / f"n{n}"
    work.mkdir()
    out = work / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DIR=str(work / "runs"), TRACKER_CONFIG_DIR=str(work / "config"), TRACKER_SILENT="true",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--n", str(n), "--seconds", str(args.seconds),
           "--rate", str(args.rate), "--metrics", str(args.metrics), "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=str(work), env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not out.exists():
        return {"n": n, "error": f"worker exit {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}"}
    result = json.loads(out.read_text())
    result["worker_wall_s"] = time.perf_counter() - started
    if proc.stderr.strip():
        result["worker_stderr"] = proc.stderr[-2000:]
    return result


def _f(v, digits=3):
    from _common import fmt_num

    return fmt_num(v, digits)


def _n_label(n: int) -> str:
    exp = len(str(n)) - 1
    return f"10^{exp}" if n == 10 ** exp else f"{n:,}"


HEADERS = ["N (rows/metric)", "catch-up s (panel CPU s)", "panel CPU % (thread)", "of which reading %",
           "ms/redraw p50", "ms/redraw p95", "redraws/s", "bytes/redraw p50", "bytes/redraw max",
           "points/line (max)", "caught up"]


def table_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.get("error"):
            rows.append([_n_label(r["n"]), "ERROR", r["error"][:120]] + [""] * (len(HEADERS) - 3))
            continue
        rows.append([
            _n_label(r["n"]),
            f"{_f(r['catch_up_wall_s'])} ({_f(r['catch_up_panel_cpu_s'])})",
            _f(r["panel_thread_cpu_percent"]),
            _f(r["read_cpu_percent"]),
            _f(r["redraw_cpu_ms_p50"]),
            _f(r["redraw_cpu_ms_p95"]),
            _f(r["redraws_per_s"]),
            f"{r['bytes_per_redraw_p50']:,.0f}" if r["bytes_per_redraw_p50"] is not None else "–",
            f"{r['bytes_per_redraw_max']:,.0f}" if r["bytes_per_redraw_max"] is not None else "–",
            f"{r['points_per_line_max']:,}" if r["points_per_line_max"] is not None else "–",
            f"{_f(r['caught_up_s'])} s" if r["caught_up"] else "NO",
        ])
    return rows


CONTEXT_HEADERS = ["N", "rows logged (rows/s)", "rows at end", "redraw wall ms p50/p95", "redraw CPU % (sum)",
                   "reading µs/row", "writer thread CPU %", "main thread CPU %", "process CPU %", "bytes/s",
                   "msgs/redraw", "RSS MB (growth)", "build history s", "events.log MB"]


def context_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.get("error"):
            continue
        rows.append([
            _n_label(r["n"]),
            f"{r['rows_logged']:,} ({r['rows_per_s']:,.0f})",
            f"{r['rows_at_end']:,}",
            f"{_f(r['redraw_wall_ms_p50'])} / {_f(r['redraw_wall_ms_p95'])}",
            _f(r["redraw_cpu_percent"]),
            _f(r["read_us_per_row"]),
            _f(r["writer_thread_cpu_percent"]),
            _f(r["main_thread_cpu_percent"]),
            _f(r["process_cpu_percent"]),
            f"{r['bytes_per_s']:,.0f}",
            _f(r["messages_per_redraw_p50"]),
            f"{_f(r['rss_mb'])} ({_f(r['rss_growth_mb'])})",
            _f(r["history_build_s"]),
            _f(r["events_log_mb"]),
        ])
    return rows


def verdicts(results: list[dict]) -> list[str]:
    ok = [r for r in results if not r.get("error")]
    lines = []
    if not ok:
        return ["panel ≤ 5% of one core at any history length: NOT MEASURED (every worker failed)"]
    totals = [(r["n"], r["panel_thread_cpu_percent"]) for r in ok]
    worst = max(totals, key=lambda t: t[1])
    met = worst[1] <= TARGET_CPU_PERCENT and len(ok) == len(results)
    metrics = ok[0].get("metrics")
    figures = ", ".join(f"{_n_label(n)}: {_f(t)}%" for n, t in totals)
    lines.append(f"panel ≤ 5% of one core at any history length, {metrics} metrics and the system charts: "
                 f"{'met' if met else 'MISSED'} (panel thread, which reads the log and redraws — {figures}; "
                 f"worst {_f(worst[1])}% at {_n_label(worst[0])})")
    small = min(ok, key=lambda r: r["n"])
    big = max(ok, key=lambda r: r["n"])
    if big["n"] != small["n"]:
        ms_ratio = (big["redraw_cpu_ms_p50"] / small["redraw_cpu_ms_p50"]) if small["redraw_cpu_ms_p50"] else float("inf")
        rate_ratio = big["redraws_per_s"] / small["redraws_per_s"] if small["redraws_per_s"] else float("inf")
        lines.append(f"cost per redraw flat as history grows: {'met' if ms_ratio <= FLAT_RATIO else 'MISSED'} — ms/redraw "
                     f"p50 at {_n_label(big['n'])} / at {_n_label(small['n'])} = {ms_ratio:.2f}x (redraws/s ratio "
                     f"{rate_ratio:.2f}x; 'flat' = ratio ≤ {FLAT_RATIO})")
    pts = [r["points_per_line_max"] for r in ok if r["points_per_line_max"] is not None]
    if pts:
        lines.append(f"points per line ≤ ~2,000 whatever N: {'met' if max(pts) <= 2600 else 'MISSED'} (max {max(pts):,})")
    sizes = [r["bytes_per_redraw_p50"] for r in ok if r["bytes_per_redraw_p50"] is not None]
    if sizes:
        per_n = ", ".join(f"{_n_label(r['n'])}: {r['bytes_per_redraw_p50']:,.0f}" for r in ok)
        lines.append(f"bytes per redraw (p50): {per_n}")
    lagging = [_n_label(r["n"]) for r in ok if not r["caught_up"]]
    if lagging:
        lines.append(f"WARNING: the panel had not drawn every logged row 10 s after logging stopped at N = {', '.join(lagging)}")
    return lines


def render_markdown(section: dict) -> str:
    from _common import machine_markdown, md_table

    p = section["params"]
    res = section["results"]
    md = [
        f"_Generated {section['generated']} by `bench/panel_cost.py{' --quick' if section['mode'] == 'quick' else ''}` — "
        f"mode **{section['mode']}**, N = {', '.join(_n_label(n) for n in p['ns'])} rows of {p.get('metrics', 3)} metrics, "
        f"steady state {p['seconds']:g} s at {p['rate']:,} rows/s per N, suite took {section['suite_seconds']:.0f} s._\n\n",
        machine_markdown(section["machine"]),
        f"- Python {section['python']}, ipywidgets {section['versions'].get('ipywidgets')}, "
        f"bqplot {section['versions'].get('bqplot')}\n",
        "\n### Targets\n\n",
        "".join(f"- {line}\n" for line in section["verdicts"]),
        "\n### Results\n\n",
        "CPU % = CPU seconds / wall seconds × 100 (100 % = one core) over the steady state. *panel CPU %*: the whole "
        "`tracker-panel` thread (per-thread CPU clock): it reads `events.log` (*of which reading*: `Panel.pull`), "
        "redraws the metric charts and the system charts; nothing else in the process works for the panel. "
        "*catch-up*: from `Panel(run)` until every one of the N rows was read and drawn in every chart (wall "
        "seconds, and the panel thread's CPU seconds). *ms/redraw*: `time.thread_time()` around `Panel.draw`. "
        "*bytes/redraw*: JSON of each comm message plus its binary buffers. *points/line*: points in the last x/y "
        "sent per line (raw and smoothed). *caught up*: how long after logging stopped every chart had drawn every "
        "logged row (while the run logs, a chart waits with changes under half a pixel, at most 5 s).\n\n",
        md_table(HEADERS, table_rows(res)),
        "\nContext (same runs): rows logged during the steady state; redraw wall time (includes waiting for the GIL); "
        "sum of redraw CPU; the other threads of the process; data rate to the (absent) frontend.\n\n",
        md_table(CONTEXT_HEADERS, context_rows(res)),
    ]
    errs = [r for r in res if r.get("error")]
    if errs:
        md.append("\nErrors:\n\n" + "".join(f"- N={r['n']:,}: `{r['error'][:500]}`\n" for r in errs))
    imports = [r for r in res if not r.get("error")]
    if imports:
        md.append(f"\nOne-time imports in each worker, not in the figures above: jupyter_tracker "
                  f"{_f(statistics.median(r['import_tracker_ms'] for r in imports))} ms, ipywidgets + bqplot "
                  f"{_f(statistics.median(r['import_widgets_ms'] for r in imports))} ms (median); in a fresh kernel "
                  "the panel pays the bqplot import on its own thread at its first redraw.\n")
    md.append("\n### Method\n\n" + METHOD_MD)
    return "".join(md)


METHOD_MD = """\
- **One fresh worker process per N** (`panel_cost.py --worker`), with its own temporary `TRACKER_DIR`,
  `TRACKER_SILENT=true` and every other `TRACKER_*` variable unset: a real `tracker.init(mode="offline")` run whose
  service process samples the system every 2 s as for a user (so the panel's system charts update too).
- **History first**: N rows of `--metrics` metrics (20 by default) with `step=i` are logged at full speed with no
  panel, then the writer is drained. Then `Panel(run)` is created as `open_panel` does (without displaying it); its
  thread reads the whole log (the catch-up is timed) and redraws.
- **No frontend**: `ipywidgets.comm.create_comm` is replaced by a recording comm that serialises each message's
  data with `json.dumps` (what the kernel's session does on the sending thread) and keeps its size and the sizes of
  its binary buffers. The ZMQ send of a real kernel is not included.
- **Steady state**: the main thread logs `--rate` rows/s (default 2,000; bursts of rate/100 rows every 10 ms, on a
  fixed schedule) for `--seconds` (30 s; quick 5 s) while the panel thread reads the log and redraws on its own
  (at most 5 Hz, within 5% of a core, as the product schedules it). Measured: the panel thread's CPU clock
  (`pthread_getcpuclockid`) over the window, `time.thread_time()` around each `Panel.draw` and `Panel.pull`, the
  comm messages sent inside each redraw, and the points of the last line sent per chart. The product's default
  view is used (auto smoothing: EMA 0.6, step axis, linear y). The history keeps growing during the window
  (N + rate × seconds at the end).
- **Verdicts**: the panel's cost is its thread's CPU, worst N; "flat" compares the CPU per redraw at the longest
  history with the one at 10^3 (ratio ≤ 1.5 allowed for noise on this small shared machine). Nothing is repeated
  or trimmed: one run per N, as measured.
"""


def runner_main(args: argparse.Namespace) -> int:
    from _common import new_section, publish_section

    ns = args.ns or ([1_000, 100_000] if args.quick else [1_000, 100_000, 1_000_000])
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    suite0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-panel-") as tmp:
        for n in ns:
            print(f"  N = {n:,}: ...", flush=True, end="")
            r = run_worker(n, args, Path(tmp))
            results.append(r)
            if r.get("error"):
                print(f" ERROR {r['error'][-300:]}", flush=True)
            else:
                print(f" panel thread {r['panel_thread_cpu_percent']:.2f}% (reading {r['read_cpu_percent']:.2f}%), "
                      f"{r['redraws_per_s']:.1f} redraws/s, {r['redraw_cpu_ms_p50']:.2f} ms/redraw p50 "
                      f"(worker {r['worker_wall_s']:.0f} s)", flush=True)
    section = new_section("Live panel cost", args.quick, {"ns": ns, "seconds": args.seconds, "rate": args.rate, "metrics": args.metrics},
                          time.perf_counter() - suite0, results, packages=("ipywidgets", "bqplot", "numpy"))
    section["verdicts"] = verdicts(results)
    section["markdown"] = render_markdown(section)
    publish_section(SECTION, section, [(HEADERS, table_rows(results)), (CONTEXT_HEADERS, context_rows(results))])
    return 1 if any(r.get("error") for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 10^3 and 10^5, 8 s steady state (< 1 min)")
    parser.add_argument("--ns", type=lambda s: [int(float(x)) for x in s.split(",")], default=None,
                        help="history lengths, e.g. 1e3,1e5,1e6")
    parser.add_argument("--seconds", type=float, default=None, help="steady-state seconds per N (30; --quick 8)")
    parser.add_argument("--rate", type=int, default=2000, help="rows/s logged during the steady state (2000)")
    parser.add_argument("--metrics", type=int, default=DEFAULT_METRICS,
                        help="metrics per row (20: train/loss, train/acc, val/metric and train/extra_K)")
    parser.add_argument("--peers-python", help=argparse.SUPPRESS)  # accepted for run_all.py
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    sys.path.insert(0, str(HERE))
    return runner_main(args)


if __name__ == "__main__":
    sys.exit(main())
