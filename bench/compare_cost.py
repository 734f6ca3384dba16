#!/usr/bin/env python3
"""Compare view cost: CPU of ``tracker.compare()`` while runs record, and its first render.

1. **Live**: ``--runs`` (10) writer processes each start a real offline run in a
   temporary ``TRACKER_DIR`` (``TRACKER_SILENT=true``), log ``--warm`` rows of
   ``--metrics`` (4) metrics at once, then ``--rate`` rows/s (bursts every 50 ms)
   until stopped. This process opens ``compare(project=...)`` with a recording
   comm in place of the kernel's (each message serialised to JSON as a kernel
   would, nothing sent) and lets the view follow the runs on its own thread for
   ``--seconds``. Measured: the CPU of the view's thread (per-thread clock) as a
   share of one core, redraws per second, the longest gap between two redraws
   that showed new points, and bytes sent per second.
2. **First render**: ``--render-runs`` (20) runs of ``--render-rows`` (10^5) rows
   × 4 metrics written by writer processes, then ``compare()`` timed from the
   call to the first drawing done, cold (each run's read cache removed) and warm
   (the cache built). bqplot and ipywidgets are imported before the timing.

Targets (issue 11): ≤ 5% of one core while 10 runs are live, updates at least
once a second; first render of 20 runs × 10^5 steps × 4 metrics ≤ 1 s warm, ≤ 5 s cold.

    python bench/compare_cost.py            # 10 live runs for 30 s; 20 × 10^5 render
    python bench/compare_cost.py --quick    # 10 live runs for 10 s; 20 × 10^4 render
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

TARGET_CPU_PERCENT = 5.0
TARGET_GAP_S = 1.0
TARGET_WARM_S = 1.0
TARGET_COLD_S = 5.0

WRITER = r"""
import math, sys, time
import jupyter_tracker as tracker
project, name, warm, rate, metrics, live = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
run = tracker.init(project=project, name=name, mode="offline", config={"lr": 10 ** -(1 + int(name[-1:]) % 3), "seed": name})
keys = ["train/loss", "train/acc", "val/metric"] + [f"train/extra_{k}" for k in range(max(0, metrics - 3))]
keys = keys[:metrics]
def row(i):
    return {k: math.exp(-i / 5000) * (j + 1) + ((i * 7919 + j) % 97) / 970 for j, k in enumerate(keys)}
for i in range(warm):
    run.log(row(i))
i = warm
if live:
    print("ready", flush=True)
    burst = max(1, int(rate / 20))
    while True:
        for _ in range(burst):
            run.log(row(i))
            i += 1
        time.sleep(0.05)
run.finish()
print("done", flush=True)
"""


def _env(tracker_dir: Path) -> dict[str, str]:
    env = dict(os.environ, TRACKER_DIR=str(tracker_dir), TRACKER_SILENT="true", TRACKER_DISABLE_CODE="true")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _writers(tracker_dir: Path, project: str, count: int, warm: int, rate: float, metrics: int,
             live: bool) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", WRITER, project, f"run-{k}", str(warm), str(rate), str(metrics),
                              "1" if live else "0"], env=_env(tracker_dir), stdout=subprocess.PIPE, text=True)
            for k in range(count)]


def _thread_cpu(thread: threading.Thread) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


class _Bytes:
    def __init__(self) -> None:
        self.total = 0


def _install_recording_comm(sent: _Bytes) -> None:
    import ipywidgets.comm

    counter = iter(range(1, 1 << 62))

    class RecordingComm:
        kernel = "recording"

        def __init__(self, **kwargs: object) -> None:
            self.comm_id = kwargs.get("comm_id") or f"rec-{next(counter)}"

        def send(self, data: object = None, metadata: object = None, buffers: object = None) -> None:
            text = json.dumps(data, default=str, ensure_ascii=False, allow_nan=False)
            sent.total += len(text.encode("utf-8", "surrogateescape")) + sum(memoryview(b).nbytes for b in buffers or ())

        def on_msg(self, callback: object) -> None:
            self.callback = callback

        def close(self, *args: object, **kwargs: object) -> None:
            pass

    ipywidgets.comm.create_comm = lambda **kwargs: RecordingComm(**kwargs)


def live_cost(args: argparse.Namespace, base: Path) -> dict:
    tracker_dir = base / "live"
    os.environ["TRACKER_DIR"] = str(tracker_dir)
    procs = _writers(tracker_dir, "live", args.runs, args.warm, args.rate, args.metrics, live=True)
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", "a writer failed to start"
        import bqplot  # noqa: F401
        import ipywidgets  # noqa: F401

        from jupyter_tracker.livepanel.compare import compare

        sent = _Bytes()
        _install_recording_comm(sent)
        began = time.perf_counter()
        view = compare(project="live", live=False)
        first = time.perf_counter() - began
        draws: list[tuple[float, int]] = []
        original = view.draw

        def counted() -> None:
            original()
            points = sum(len(m.x) for (kind, _), m in view.charts["train/loss"].marks.items() if kind == "raw")
            draws.append((time.monotonic(), points))

        view.draw = counted  # type: ignore[method-assign]
        view.start()
        assert view.redrawer is not None
        time.sleep(2.0)  # settle: the first cycles read what the runs logged meanwhile
        cpu0, wall0, bytes0, n0 = _thread_cpu(view.redrawer.thread), time.monotonic(), sent.total, len(draws)
        time.sleep(args.seconds)
        cpu1, wall1, bytes1 = _thread_cpu(view.redrawer.thread), time.monotonic(), sent.total
        window = [d for d in draws if wall0 <= d[0] <= wall1]
        view.close()
        live_now = sum(d.live for d in view.source.shown())
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    times = [wall0] + [t for t, _ in window] + [wall1]
    gaps = [b - a for a, b in zip(times, times[1:])]
    cpu = (cpu1 - cpu0) / (wall1 - wall0) * 100
    return {
        "runs": args.runs, "live_runs": live_now, "rate_rows_s": args.rate, "metrics": args.metrics,
        "seconds": round(wall1 - wall0, 2), "first_draw_s": round(first, 3),
        "cpu_percent_of_one_core": round(cpu, 2), "redraws": len(draws) - n0,
        "redraws_per_s": round(len(window) / (wall1 - wall0), 2), "longest_gap_s": round(max(gaps), 3),
        "kB_sent_per_s": round((bytes1 - bytes0) / 1024 / (wall1 - wall0), 1),
    }


def first_render(args: argparse.Namespace, base: Path) -> dict:
    tracker_dir = base / "render"
    os.environ["TRACKER_DIR"] = str(tracker_dir)
    began = time.perf_counter()
    procs = []
    pending = list(range(args.render_runs))
    while pending or procs:  # two writers at a time: one per core
        while pending and len(procs) < 2:
            k = pending.pop(0)
            procs += [subprocess.Popen([sys.executable, "-c", WRITER, "render", f"run-{k}", str(args.render_rows), "0",
                                        "4", "0"], env=_env(tracker_dir), stdout=subprocess.DEVNULL)]
        procs[0].wait()
        procs.pop(0)
    written = time.perf_counter() - began
    import bqplot  # noqa: F401
    import ipywidgets  # noqa: F401

    from jupyter_tracker.livepanel.compare import compare

    _install_recording_comm(_Bytes())
    for cache in tracker_dir.glob("*/cache"):
        shutil.rmtree(cache)
    out = {"runs": args.render_runs, "rows": args.render_rows, "metrics": 4, "write_s": round(written, 1)}
    for label in ("cold", "warm", "warm_again"):
        t0 = time.perf_counter()
        view = compare(project="render", live=False)
        out[f"{label}_s"] = round(time.perf_counter() - t0, 3)
        lines = sum(1 for chart in view.charts.values() for (kind, _) in chart.rows if kind == "raw")
        out["lines"] = lines
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0, help="rows/s each live run logs")
    parser.add_argument("--warm", type=int, default=5000, help="rows each live run logs before the view opens")
    parser.add_argument("--metrics", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--render-runs", type=int, default=20)
    parser.add_argument("--render-rows", type=int, default=None)
    parser.add_argument("--skip-render", action="store_true")
    args = parser.parse_args()
    args.seconds = args.seconds or (10.0 if args.quick else 30.0)
    args.render_rows = args.render_rows or (10_000 if args.quick else 100_000)
    base = Path(tempfile.mkdtemp(prefix="tracker-compare-bench-"))
    try:
        live = live_cost(args, base)
        render = None if args.skip_render else first_render(args, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\nlive: {live['runs']} runs ({live['live_runs']} live at the end), {live['rate_rows_s']:g} rows/s each, "
          f"{live['metrics']} metrics, {live['seconds']} s")
    print(f"  view thread CPU      {live['cpu_percent_of_one_core']:.2f} % of one core   (target <= {TARGET_CPU_PERCENT} %)")
    print(f"  redraws              {live['redraws_per_s']:.2f} /s, longest gap {live['longest_gap_s']:.2f} s"
          f"   (target: a new point shows within {TARGET_GAP_S:g} s)")
    print(f"  sent                 {live['kB_sent_per_s']:.1f} kB/s; first draw {live['first_draw_s']:.2f} s")
    verdicts = [
        f"CPU <= {TARGET_CPU_PERCENT}% of one core with {live['runs']} live runs: "
        f"{'met' if live['cpu_percent_of_one_core'] <= TARGET_CPU_PERCENT else 'MISSED'} ({live['cpu_percent_of_one_core']:.2f}%)",
        f"updates at least once a second: {'met' if live['longest_gap_s'] <= TARGET_GAP_S else 'MISSED'} "
        f"(longest gap {live['longest_gap_s']:.2f} s)",
    ]
    if render is not None:
        print(f"\nfirst render: {render['runs']} runs × {render['rows']} rows × 4 metrics ({render['lines']} lines)")
        print(f"  cold {render['cold_s']:.2f} s, warm {render['warm_s']:.2f} s, again {render['warm_again_s']:.2f} s"
              f"   (written in {render['write_s']} s)")
        full = render["runs"] >= 20 and render["rows"] >= 100_000
        scope = "" if full else " (smaller than the target's 20 × 10^5)"
        verdicts += [
            f"first render warm <= {TARGET_WARM_S:g} s: {'met' if render['warm_s'] <= TARGET_WARM_S else 'MISSED'}"
            f" ({render['warm_s']:.2f} s){scope}",
            f"first render cold <= {TARGET_COLD_S:g} s: {'met' if render['cold_s'] <= TARGET_COLD_S else 'MISSED'}"
            f" ({render['cold_s']:.2f} s){scope}",
        ]
    print()
    for line in verdicts:
        print(line)
    from _common import new_section, write_section

    section = new_section("compare view cost", args.quick, vars(args), 0.0, [live, render])
    section["verdicts"] = verdicts
    figures = [
        f"live: {live['runs']} runs, {live['rate_rows_s']:g} rows/s each, {live['metrics']} metrics, {live['seconds']} s: "
        f"view thread {live['cpu_percent_of_one_core']:.2f} % of one core, {live['redraws_per_s']:.2f} redraws/s, "
        f"longest gap {live['longest_gap_s']:.2f} s, {live['kB_sent_per_s']:.1f} kB/s sent",
    ]
    if render is not None:
        figures.append(f"first render of {render['runs']} runs x {render['rows']:,} rows x 4 metrics: cold "
                       f"{render['cold_s']:.2f} s, warm {render['warm_s']:.2f} s, again {render['warm_again_s']:.2f} s")
    section["markdown"] = (
        f"_Generated {section['generated']} by `bench/compare_cost.py` — mode **{section['mode']}**._\n\n"
        + "".join(f"- {line}\n" for line in figures) + "\n"
        + "".join(f"- {line}\n" for line in verdicts)
        + "\nCPU % = CPU seconds of the view's thread / wall seconds x 100 (100 % = one core).\n"
    )
    print(f"written {write_section('compare_cost', section)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
