#!/usr/bin/env python3
"""The JupyterLab extension: the Runs sidebar over 1,000 local runs, and the compare view
of 20 runs x 10^5 points, in a real JupyterLab (the test harness, tests/e2e/lab.py) and
headless Chromium.

Targets (issue 12):

- **sidebar, first list** of 1,000 local runs <= 500 ms (the lab server's answer to
  ``GET /tracker/api/runs``, wall time, with and without the runs' read caches);
- **sidebar, refresh** <= 100 ms of the lab server's CPU (nothing changed: 304; one run
  changed: 200);
- **compare data** for 20 runs x 10^5 steps x 4 metrics <= 300 ms from the lab server
  (``GET /tracker/api/compare``, at most 2,000 points per line, smoothed on every point);
- **compare drawn** <= 300 ms in Chromium (every chart of the compare view, from the
  data's arrival to the last chart drawn; also from the command to the last chart).

Server CPU is the JupyterLab process's user+system time around the requests (psutil).
Runs are written in the events-log format directly (``bench/read_runs.py``'s writer).

    python bench/lab_extension.py            # ~3 min
    python bench/lab_extension.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _common import machine_markdown, md_table, new_section, publish_section
from read_runs import make_runs

TARGETS = {"first_list_ms": 500, "refresh_cpu_ms": 100, "compare_data_ms": 300, "compare_draw_ms": 300}


def rename(folder: Path, old: str, new: str, into: Path) -> str:
    """Give a written run another id (read_runs numbers every set of runs from r0000000)."""
    from jupyter_tracker import rundir

    path = next(folder.glob(f"*-{old}"))
    info = rundir.read_info(path)
    info["id"] = new
    rundir.write_info(path, info)
    path.rename(into / path.name.replace(old, new))
    return new


def _request(lab, path: str, etag: str | None = None) -> tuple[int, bytes, str | None]:
    headers = {"Authorization": f"token {lab.token}"}
    if etag:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(lab.base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read(), response.headers.get("Etag")
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304:
            return 304, b"", etag
        raise


def _cpu(lab) -> float:
    import psutil

    times = psutil.Process(lab.proc.pid).cpu_times()
    return times.user + times.system


def measure(lab, path: str, repeat: int, etag: bool = False) -> dict:
    """Wall time and server CPU of ``repeat`` GETs (with the previous ETag when ``etag``)."""
    walls, cpus, sizes, statuses = [], [], [], []
    tag = None
    for _ in range(repeat):
        c0, t0 = _cpu(lab), time.perf_counter()
        status, body, new_tag = _request(lab, path, tag if etag else None)
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((_cpu(lab) - c0) * 1000)
        sizes.append(len(body))
        statuses.append(status)
        tag = new_tag
    return {"wall_ms": statistics.median(walls), "wall_ms_first": walls[0], "cpu_ms": statistics.median(cpus),
            "cpu_ms_first": cpus[0], "bytes": sizes[-1], "statuses": sorted(set(statuses)), "n": repeat}


def measure_saved_index(folder: Path, data_dir: str, repeat: int) -> dict:
    """A new lab server's first list when the index it saved before is there (in this process:
    the listing work of ``GET /tracker/api/runs`` without HTTP)."""
    import os

    from jupyter_tracker.labserver.localruns import LocalSource
    from jupyter_tracker.labserver.sources import ListQuery

    os.environ["JUPYTER_DATA_DIR"] = data_dir
    times = []
    for _ in range(repeat):
        source = LocalSource(lambda: [folder])
        started = time.perf_counter()
        source.runs(ListQuery(project="sidebar", limit=1000))
        times.append((time.perf_counter() - started) * 1000)
    return {"wall_ms": statistics.median(times), "n": repeat}


def run(quick: bool) -> dict:
    from tests.e2e.lab import Lab, labextension_or_fail

    labextension_or_fail()
    repeat = 3 if quick else 7
    base = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    results: dict = {}
    try:
        t0 = time.perf_counter()
        sidebar_ids = make_runs(base / "tracker", "sidebar", 1000, 100)
        written = make_runs(base / "compare", "compare", 20, 100_000 if not quick else 20_000, first_seed=5000)
        compare_ids = [rename(base / "compare", run_id, "c" + run_id[1:], base / "tracker") for run_id in written]
        results["write_s"] = round(time.perf_counter() - t0, 1)
        env = {"TRACKER_DIR": str(base / "tracker")}
        runs_path = "/tracker/api/runs?limit=1000&project=sidebar"
        compare_path = f"/tracker/api/compare?ids={','.join(compare_ids)}&samples=2000&smoothing=ema&amount=0.6"
        compare_raw = f"/tracker/api/compare?ids={','.join(compare_ids)}&samples=2000"
        # cold: no read cache yet; a fresh lab server (empty index). The listing reads each finished run's
        # summary.json; the compare request then builds the 20 runs' read caches (parsing events.log)
        with Lab(env=env) as lab:
            results["first_list_cold"] = measure(lab, runs_path, 1)
            results["compare_data_cold"] = measure(lab, compare_path, 1)
        # warm: the caches on disk, a fresh lab server again (its index empty)
        with Lab(env=env) as lab:
            results["first_list_warm"] = measure(lab, runs_path, 1)
            results["list_again"] = measure(lab, runs_path, repeat)
            results["refresh_unchanged"] = measure(lab, runs_path, repeat, etag=True)
            changed = []
            for i in range(repeat):
                status, _, tag = _request(lab, runs_path)
                run_dir = next((base / "tracker").glob(f"*-{sidebar_ids[i]}"))
                with open(run_dir / "events.log", "ab") as handle:  # one run moves on (a new, valid record)
                    from jupyter_tracker import records

                    handle.write(records.encode([[10_000 + i, "s", time.time(), {"set": {"note": i}}]]))
                c0, w0 = _cpu(lab), time.perf_counter()
                status, _, _ = _request(lab, runs_path, tag)
                changed.append(((time.perf_counter() - w0) * 1000, (_cpu(lab) - c0) * 1000, status))
            results["refresh_one_changed"] = {"wall_ms": statistics.median(c[0] for c in changed),
                                              "cpu_ms": statistics.median(c[1] for c in changed),
                                              "statuses": sorted({c[2] for c in changed}), "n": len(changed)}
            results["compare_data_warm"] = measure(lab, compare_path, repeat)
            results["compare_data_unsmoothed"] = measure(lab, compare_raw, repeat)
            results["compare_bytes"] = results["compare_data_warm"]["bytes"]
            results["index_saved"] = measure_saved_index(base / "tracker", lab.env["JUPYTER_DATA_DIR"], repeat)

            nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
                {"cell_type": "code", "metadata": {}, "source": "1", "outputs": [], "execution_count": None}]}
            with lab.open(nb, name="bench-lab") as page:
                p = page.page
                # the sidebar's first list and render in the browser
                p.evaluate("() => window.jupyterapp.commands.execute('tracker:open-runs')")
                try:
                    p.wait_for_function("() => document.querySelectorAll('.tracker-runs .tracker-run-row').length >= 1000",
                                        timeout=120_000)
                except Exception:
                    print(p.evaluate("() => [document.querySelectorAll('.tracker-runs .tracker-run-row').length,"
                                     " document.querySelector('.tracker-runs-message').textContent]"), page.console)
                    raise
                results["sidebar_browser"] = p.evaluate("() => window.jupyterTracker.sidebar.timings")
                draws = []
                for i in range(repeat):
                    p.evaluate("() => window.jupyterTracker.views.forEach(w => w.close())")
                    started = time.perf_counter()
                    p.evaluate("(ids) => window.jupyterapp.commands.execute('tracker:compare', {ids})", compare_ids)
                    p.wait_for_function("() => { const v = document.querySelector('.tracker-compare-view');"
                                        " return v && v.dataset.drawn; }", timeout=120_000)
                    total = (time.perf_counter() - started) * 1000
                    info = p.evaluate("() => { const v = document.querySelector('.tracker-compare-view');"
                                      " return {draw: +v.dataset.drawMs, data: +v.dataset.dataMs,"
                                      " charts: v.querySelectorAll('.tracker-chart canvas').length}; }")
                    draws.append({**info, "total": total})
                page.screenshot("compare-20-runs", ".tracker-compare-view")
                console = list(page.console)
            results["compare_browser"] = {
                "draw_ms": statistics.median(d["draw"] for d in draws),
                "data_ms_in_page": statistics.median(d["data"] for d in draws),
                "command_to_drawn_ms": statistics.median(d["total"] for d in draws),
                "charts": draws[-1]["charts"], "n": len(draws), "console_errors": console[:5]}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return results


def markdown(r: dict, quick: bool) -> tuple[list[str], list[list]]:
    def ok(value: float, target: float) -> str:
        return f"{value:.0f} ms ({'met' if value <= target else '**missed**'}, target {target} ms)"

    steps = "2x10^4" if quick else "10^5"
    rows = [
        ["sidebar: first list of 1,000 runs, no read cache (wall)", ok(r["first_list_cold"]["wall_ms"], 500)],
        ["sidebar: first list of 1,000 runs, caches on disk, new lab server (wall)", ok(r["first_list_warm"]["wall_ms"], 500)],
        ["sidebar: first list of a new lab server with its saved index (listing work, no HTTP)",
         ok(r["index_saved"]["wall_ms"], 500)],
        ["sidebar: list again (index warm, wall / server CPU)", f"{r['list_again']['wall_ms']:.0f} / {r['list_again']['cpu_ms']:.0f} ms"],
        ["sidebar: refresh, nothing changed (304), server CPU", ok(r["refresh_unchanged"]["cpu_ms"], 100)],
        ["sidebar: refresh, one run changed (200), server CPU", ok(r["refresh_one_changed"]["cpu_ms"], 100)],
        ["sidebar: browser render of the 1,000 rows", f"{r['sidebar_browser']['render']:.0f} ms"],
        [f"compare: data of 20 runs x {steps} steps x 4 metrics, smoothed (EMA on every point), first request "
         "of a new lab server, read caches on disk (wall)", ok(r["compare_data_warm"]["wall_ms_first"], 300)],
        ["compare: the same, no read caches yet (each run's log parsed and its cache built; wall)",
         f"{r['compare_data_cold']['wall_ms']:.0f} ms"],
        ["compare: the same again (each run's lines kept until its files change; wall)",
         f"{r['compare_data_warm']['wall_ms']:.0f} ms"],
        ["compare: not smoothed, first request / again (wall)",
         f"{r['compare_data_unsmoothed']['wall_ms_first']:.0f} / {r['compare_data_unsmoothed']['wall_ms']:.0f} ms"],
        ["compare: bytes sent (4 metrics x 20 runs, <= 2,000 points per line)", f"{r['compare_bytes'] / 1e6:.1f} MB"],
        [f"compare: drawn in Chromium ({r['compare_browser']['charts']} charts, 20 runs x 2 lines each)", ok(r["compare_browser"]["draw_ms"], 300)],
        ["compare: command to last chart drawn (request included)", f"{r['compare_browser']['command_to_drawn_ms']:.0f} ms"],
    ]
    return ["measurement", "result"], rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run(args.quick)
    header, rows = markdown(results, args.quick)
    section = new_section("JupyterLab extension: sidebar and compare view", args.quick,
                          {"runs": 1000, "compare_runs": 20, "compare_steps": 20_000 if args.quick else 100_000},
                          time.perf_counter() - started, [results])
    missed = [row[0] for row in rows if "missed" in row[1]]
    section["verdicts"] = [f"missed: {m}" for m in missed] or ["every target met on this run"]
    section["markdown"] = (
        f"Run {section['generated']} ({section['mode']}), {section['suite_seconds']:.0f} s.\n\n"
        + machine_markdown(section["machine"]) + "\n"
        + "".join(f"- {line}\n" for line in section["verdicts"]) + "\n"
        + "The lab server is JupyterLab's own process (the extension's handlers read runs in a thread pool); "
        "1,020 local runs in one folder (1,000 of 100 steps listed, 20 long ones compared). Server CPU is the "
        "JupyterLab process's user+system time around each request. The machine is shared: figures move "
        "with its load.\n\n"
        + md_table(header, rows, ["l", "l"]) + "\n")
    publish_section("lab_extension", section, [(header, rows)])
    print(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
