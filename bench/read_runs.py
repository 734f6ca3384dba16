#!/usr/bin/env python3
"""Reading many runs back: the query layer and the columnar read cache, against MLflow.

Three measurements of ``tracker.Api()`` on local run directories (the data
part of the compare view's first render and of the lab extension's lists),
each cold (no read cache yet: the events logs are parsed, in the OS page
cache since they were just written) and warm (a new ``Api`` object, the cache
on disk):

- **list**: ``Api.runs(project, filters={"config.lr": {"$lt": 0.05}},
  order="-summary_metrics.val/acc")`` over 1,000 runs of 100 steps x 4 metrics,
  and ``Api.runs(project)`` without a filter. Target: <= 300 ms warm.
- **history**: ``run.history(samples=1000)`` of one run of 10^6 steps x 4
  metrics (and of one metric). Target: <= 100 ms warm.
- **compare**: ``Api.runs(project).columns()`` (``{run.id: run.columns()}``,
  cold caches built by one process per CPU) for the 20 runs of a project,
  10^5 steps x 4 metrics each (8 x 10^6 points). Targets: <= 1 s warm, <= 5 s
  cold. Also cold with one process (``run.columns()`` in a loop), and the same
  20 logs through ``replay()`` (how runs were read before the cache).

The runs are written in the events-log format directly (the writer's own
encoder, ``records.encode_items``), not through ``tracker.init`` (which would
start 1,000 service processes).

Peer: **MLflow** (from the peers venv, ``bench/make_peers_venv.py``), with its
own client on a SQLite store: ``search_runs`` with the same filter and order,
``get_metric_history`` and the sampled ``get_metric_history_bulk_interval``
(what MLflow's UI uses), and the histories of 20 runs. Writing through
MLflow's API costs about 0.1-0.2 s per 1,000 points here, so its data sets are
smaller (said in the table), and ours are measured again at MLflow's size.
**wandb** has no Python reader for offline runs (``wandb.Api`` only talks to a
server), so it has no row here.

    python bench/read_runs.py                 # full, ~4-6 min
    python bench/read_runs.py --quick         # ~1 min
    python bench/read_runs.py --peers-python /path/to/.venv-peers/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

METRICS = ("train/loss", "train/acc", "val/loss", "val/acc")
FILTER = {"config.lr": {"$lt": 0.05}}
ORDER = "-summary_metrics.val/acc"


# -- writing runs (ours) ----------------------------------------------------------------
def write_run(base: Path, project: str, index: int, steps: int, seed: int) -> str:
    """One finished run directory with config, ``steps`` rows of 4 metrics and a summary rule."""
    import random

    from jupyter_tracker import records, rundir

    rng = random.Random(seed)
    run_id = f"r{index:07d}"
    path = rundir.create(base, run_id, offline=True)
    lr = rng.choice([0.1, 0.03, 0.01, 0.003])
    created = 1.79e9 + index
    rundir.write_info(path, {"id": run_id, "name": f"run-{index}", "project": project, "group": f"lr={lr}",
                             "job_type": "train", "tags": ["bench"], "notes": None, "mode": "offline",
                             "state": "finished", "created_at": created, "updated_at": created + steps * 0.01,
                             "host": "bench", "pid": 0})
    head = [[0, "start", created, {"pid": 0, "host": "bench", "resumed": False}],
            [0, "c", created, {"lr": lr, "seed": seed, "batch": 64, "optimizer": {"name": "adam", "beta": 0.9}}],
            [0, "m", created, {"name": "val/acc", "summary": "max", "step_metric": None}]]
    frames: list[bytes] = [records.encode(head[:1]), records.encode(head[1:])]
    seq = 3
    chunk = 50_000
    with open(path / rundir.EVENTS, "wb") as handle:
        handle.write(b"".join(frames))
        for start in range(0, steps, chunk):
            items = []
            for step in range(start, min(steps, start + chunk)):
                x = step / max(steps, 1)
                items.append([0, "h", step, created + step * 0.01,
                              {"train/loss": 1.0 / (1.0 + 40 * x) + rng.random() * 0.01, "train/acc": x * lr * 9,
                               "val/loss": 1.1 / (1.0 + 30 * x), "val/acc": lr * 9 * x + rng.random() * 0.02}])
            out: list[bytes] = []
            seq = records.encode_items(items, seq, out)
            handle.write(b"".join(out))
        handle.write(records.encode([[seq + 1, "state", created + steps * 0.01, {"state": "finished", "exit_code": 0}]]))
    # what finish() leaves beside the log: the final summary and config (summary.json)
    from jupyter_tracker.replay import replay

    log = replay(path / rundir.EVENTS, keep_rows=False)
    rundir.write_summary(path, log.summary, config=log.config)
    return run_id


def make_runs(base: Path, project: str, count: int, steps: int, first_seed: int = 0) -> list[str]:
    base.mkdir(parents=True, exist_ok=True)
    return [write_run(base, project, i, steps, first_seed + i) for i in range(count)]


def drop_caches(base: Path) -> None:
    """Delete every run's read cache (the next read is cold)."""
    for path in base.iterdir():
        shutil.rmtree(path / "cache", ignore_errors=True)


def timed(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)}


# -- measuring ours ------------------------------------------------------------------------
def measure_list(base: Path, count: int, repeat: int) -> dict:
    import jupyter_tracker as tracker

    make_runs(base, "many", count, 100)
    drop_caches(base)
    out: dict = {"runs": count}

    def filtered():
        runs = tracker.Api(base).runs("many", filters=FILTER, order=ORDER)
        out["found"] = len(runs)

    out["cold_filtered"] = timed(filtered, 1)
    out["warm_filtered"] = timed(filtered, repeat)
    out["warm_plain"] = timed(lambda: tracker.Api(base).runs("many"), repeat)
    return out


def measure_history(base: Path, steps: int, repeat: int) -> dict:
    import jupyter_tracker as tracker

    run_id = make_runs(base, "long", 1, steps, 7)[0]
    drop_caches(base)
    out: dict = {"steps": steps, "metrics": len(METRICS)}
    out["cold_all"] = timed(lambda: tracker.Api(base).run(run_id).history(samples=1000), 1)
    rows = tracker.Api(base).run(run_id).history(samples=1000)
    out["rows_all"] = len(rows)
    out["warm_all"] = timed(lambda: tracker.Api(base).run(run_id).history(samples=1000), repeat)
    out["warm_one"] = timed(lambda: tracker.Api(base).run(run_id).history(keys=["val/acc"], samples=1000), repeat)
    out["warm_columns"] = timed(lambda: tracker.Api(base).run(run_id).columns(samples=1000), repeat)
    return out


def measure_compare(base: Path, runs: int, steps: int, repeat: int, replay_reference: bool) -> dict:
    import jupyter_tracker as tracker
    from jupyter_tracker.replay import replay

    make_runs(base, "cmp", runs, steps, 100)
    drop_caches(base)
    out: dict = {"runs": runs, "steps": steps, "metrics": len(METRICS)}

    def read_all():
        data = tracker.Api(base).runs("cmp").columns()
        out["points"] = sum(len(c["value"]) for columns in data.values() for c in columns.values())

    def one_by_one():
        found = tracker.Api(base).runs("cmp")
        return {run.id: run.columns() for run in found}

    out["cold_serial"] = timed(one_by_one, 1)  # one process builds every cache
    drop_caches(base)
    out["cold"] = timed(read_all, 1)  # Runs.columns(): caches built by one process per CPU
    out["warm"] = timed(read_all, repeat)
    if replay_reference:
        out["replay"] = timed(lambda: [replay(path / "events.log") for path in base.iterdir() if path.is_dir()
                                       and path.name.startswith("offline-run")], 1)
    return out


# -- MLflow, in the peers venv --------------------------------------------------------------
def mlflow_worker(params: dict) -> dict:
    """Run in the peers venv: write the scaled data through MLflow's client, then read it back."""
    import random

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient()
    store = client._tracking_client.store
    out: dict = {"version": __import__("mlflow").__version__}
    rng = random.Random(1)

    def new_run(experiment: str, lr: float, steps: int, metrics: tuple[str, ...]) -> str:
        run = client.create_run(experiment)
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param("lr", str(lr))])
        batch: list = []
        for step in range(steps):
            x = step / max(steps, 1)
            for name in metrics:
                batch.append(Metric(name, lr * 9 * x + rng.random() * 0.02, 0, step))
            if len(batch) >= 1000 - len(metrics):
                client.log_batch(run_id, metrics=batch)
                batch = []
        if batch:
            client.log_batch(run_id, metrics=batch)
        client.set_terminated(run_id)
        return run_id

    # list: N runs with params and their final metrics (one value each: what search_runs reads)
    started = time.perf_counter()
    many = client.create_experiment("many")
    for _ in range(params["list_runs"]):
        new_run(many, rng.choice([0.1, 0.03, 0.01, 0.003]), 1, METRICS)
    out["write_list_s"] = time.perf_counter() - started

    def search():
        found = client.search_runs([many], filter_string="params.lr != '0.1'",
                                   order_by=["metrics.`val/acc` DESC"], max_results=1000)
        out["found"] = len(found)

    out["list_filtered"] = timed(search, params["repeat"])
    out["list_plain"] = timed(lambda: client.search_runs([many], max_results=1000), params["repeat"])

    # history: one run, one metric
    started = time.perf_counter()
    long = client.create_experiment("long")
    long_run = new_run(long, 0.1, params["history_steps"], ("val/acc",))
    out["write_history_s"] = time.perf_counter() - started
    out["history_full"] = timed(lambda: client.get_metric_history(long_run, "val/acc"), max(1, params["repeat"] // 3))
    out["history_sampled"] = timed(lambda: store.get_metric_history_bulk_interval([long_run], "val/acc", 1000, None, None),
                                   params["repeat"])

    # compare: 20 runs x S steps x 4 metrics, every history
    started = time.perf_counter()
    cmp = client.create_experiment("cmp")
    ids = [new_run(cmp, 0.01, params["compare_steps"], METRICS) for _ in range(params["compare_runs"])]
    out["write_compare_s"] = time.perf_counter() - started

    def read_all():
        runs = client.search_runs([cmp], max_results=1000)
        points = 0
        for run in runs:
            for name in METRICS:
                points += len(client.get_metric_history(run.info.run_id, name))
        out["compare_points"] = points

    out["compare"] = timed(read_all, max(1, params["repeat"] // 3))
    out["ids"] = len(ids)
    return out


def run_mlflow(peers_python: str, params: dict, tmp: Path) -> dict:
    if not os.path.exists(peers_python):
        return {"error": f"no peers python at {peers_python} (python3 bench/make_peers_venv.py)"}
    folder = tmp / "mlflow"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKER_", "WANDB_"))}
    env.update(MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}", MLFLOW_DISABLE_TELEMETRY="true",
               PYTHONPATH=str(HERE))
    done = subprocess.run([peers_python, str(Path(__file__).resolve()), "--mlflow-worker", json.dumps(params)],
                          capture_output=True, text=True, env=env, cwd=folder, timeout=3600)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout)[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- report ------------------------------------------------------------------------------------
def ms(stat: dict | None) -> str:
    from _common import fmt_stat

    return fmt_stat(stat, 3, 1000.0) if stat else "–"


def verdict(stat: dict, target_s: float) -> str:
    return "met" if stat["median"] <= target_s else f"**missed** ({stat['median'] * 1000:.0f} ms)"


def markdown(res: dict, args: argparse.Namespace, machine: dict, load: dict) -> str:
    from _common import machine_markdown, md_table, now_iso

    lst, hist, cmp, small, peer = res["list"], res["history"], res["compare"], res.get("compare_small"), res["mlflow"]
    lines = [
        f"Reading runs back (`bench/read_runs.py{' --quick' if args.quick else ''}`), {now_iso()}. Times in ms: "
        "median [min–max] over the repetitions; *cold* = the first read, no read cache yet (events logs parsed, "
        "already in the OS page cache), *warm* = a new `tracker.Api` object, read cache on disk.\n\n",
        machine_markdown(machine),
        f"- Load average (1 min) before / after: {load['before']:.2f} / {load['after']:.2f} on "
        f"{os.cpu_count()} CPUs (the machine is shared; figures under load are slower than on a quiet machine)\n\n",
    ]
    rows = [
        [f"`Api.runs(filters, order)` over {lst['runs']:,} runs ({lst['found']} found)", ms(lst["cold_filtered"]),
         ms(lst["warm_filtered"]), "≤ 300 warm", verdict(lst["warm_filtered"], 0.3)],
        [f"`Api.runs(project)` over {lst['runs']:,} runs", "–", ms(lst["warm_plain"]), "", ""],
        [f"`history(samples=1000)` of {hist['steps']:,} steps x {hist['metrics']} metrics ({hist['rows_all']} rows)",
         ms(hist["cold_all"]), ms(hist["warm_all"]), "≤ 100 warm", verdict(hist["warm_all"], 0.1)],
        ["… of one metric (`keys=['val/acc']`)", "–", ms(hist["warm_one"]), "", ""],
        ["… `columns(samples=1000)`, every metric", "–", ms(hist["warm_columns"]), "", ""],
        [f"`columns()` of {cmp['runs']} runs x {cmp['steps']:,} steps x {cmp['metrics']} metrics "
         f"({cmp['points']:,} points)", ms(cmp["cold"]), ms(cmp["warm"]), "≤ 1,000 warm, ≤ 5,000 cold",
         f"warm {verdict(cmp['warm'], 1.0)}, cold {verdict(cmp['cold'], 5.0)}"],
    ]
    rows.append(["… cold with one process building every cache (`run.columns()` in a loop)", ms(cmp["cold_serial"]),
                 "", "", ""])
    if cmp.get("replay"):
        rows.append(["… the same 20 logs through `replay()` (before the cache)", ms(cmp["replay"]), "", "", ""])
    lines.append("### jupyter-tracker\n\n")
    lines.append(md_table(["what", "cold", "warm", "target", "verdict"], rows, ["l", "r", "r", "l", "l"]))
    lines.append("\n### Side by side with MLflow (its own client, SQLite store), at MLflow's data sizes\n\n")
    if "error" in peer:
        lines.append(f"_MLflow not measured: {peer['error'][:300]}_\n")
    else:
        p = res["params_mlflow"]
        peer_rows = [
            [f"list {p['list_runs']:,} runs, filter + order", ms(peer["list_filtered"]),
             "`search_runs(filter_string=\"params.lr != '0.1'\", order_by=[\"metrics.`val/acc` DESC\"])`",
             ms(res["list_small"]["warm_filtered"]) if res.get("list_small") else "–"],
            [f"list {p['list_runs']:,} runs", ms(peer["list_plain"]), "`search_runs()`",
             ms(res["list_small"]["warm_plain"]) if res.get("list_small") else "–"],
            [f"full history, 1 metric x {p['history_steps']:,} steps", ms(peer["history_full"]), "`get_metric_history`",
             ms(res["history_small"]["warm_full"]) if res.get("history_small") else "–"],
            [f"sampled history (1,000), 1 metric x {p['history_steps']:,} steps", ms(peer["history_sampled"]),
             "`get_metric_history_bulk_interval` (the UI's)",
             ms(res["history_small"]["warm_sampled"]) if res.get("history_small") else "–"],
            [f"{p['compare_runs']} runs x {p['compare_steps']:,} steps x 4 metrics, every point", ms(peer["compare"]),
             "`search_runs` + `get_metric_history` per metric", ms(small["warm"]) if small else "–"],
        ]
        lines.append(f"MLflow {peer['version']}; writing the data through its client took "
                     f"{peer['write_list_s'] + peer['write_history_s'] + peer['write_compare_s']:.0f} s. "
                     "The last column is jupyter-tracker (warm) on the same sizes.\n\n")
        lines.append(md_table(["what", "MLflow", "MLflow call", "jupyter-tracker"], peer_rows, ["l", "r", "l", "r"]))
    lines.append("\nwandb: no row; wandb 0.31 cannot read offline runs back from Python (`wandb.Api` reads a server).\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer repetitions (~1 min)")
    parser.add_argument("--peers-python", default=None, help="python of the peers venv (default: $PEERS_PYTHON, "
                        "$PEERS_VENV/bin/python, .venv-peers/bin/python)")
    parser.add_argument("--no-peers", action="store_true", help="skip MLflow")
    parser.add_argument("--mlflow-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mlflow_worker:
        print(json.dumps(mlflow_worker(json.loads(args.mlflow_worker))))
        return 0
    from _common import default_peers_python, machine_info, now_iso, write_section

    quick = args.quick
    repeat = 3 if quick else 7
    sizes = {"list": 300 if quick else 1000, "history": 200_000 if quick else 1_000_000,
             "compare_runs": 20, "compare_steps": 20_000 if quick else 100_000}
    params_mlflow = {"list_runs": 100 if quick else 500, "history_steps": 20_000 if quick else 100_000,
                     "compare_runs": 20, "compare_steps": 500 if quick else 2_500, "repeat": repeat}
    machine = machine_info()
    load = {"before": os.getloadavg()[0]}
    results: dict = {"params_mlflow": params_mlflow, "sizes": sizes}
    with tempfile.TemporaryDirectory(prefix="tracker-read-bench-") as folder:
        tmp = Path(folder)
        print(f"list: {sizes['list']:,} runs", flush=True)
        results["list"] = measure_list(tmp / "list", sizes["list"], repeat)
        print(f"  {results['list']}", flush=True)
        print(f"history: {sizes['history']:,} steps", flush=True)
        results["history"] = measure_history(tmp / "history", sizes["history"], repeat * 2)
        print(f"  {results['history']}", flush=True)
        shutil.rmtree(tmp / "history")
        print(f"compare: {sizes['compare_runs']} x {sizes['compare_steps']:,}", flush=True)
        results["compare"] = measure_compare(tmp / "compare", sizes["compare_runs"], sizes["compare_steps"],
                                             repeat, replay_reference=True)
        print(f"  {results['compare']}", flush=True)
        shutil.rmtree(tmp / "compare")
        if not args.no_peers:
            # ours again at MLflow's sizes, for the side-by-side table
            results["list_small"] = measure_list(tmp / "list-small", params_mlflow["list_runs"], repeat)
            results["history_small"] = measure_small_history(tmp / "history-small", params_mlflow["history_steps"], repeat)
            results["compare_small"] = measure_compare(tmp / "compare-small", params_mlflow["compare_runs"],
                                                       params_mlflow["compare_steps"], repeat, replay_reference=False)
            python = args.peers_python or default_peers_python()
            print(f"MLflow ({python}): {params_mlflow}", flush=True)
            results["mlflow"] = run_mlflow(python, params_mlflow, tmp)
            print(f"  {results['mlflow']}", flush=True)
        else:
            results["mlflow"] = {"error": "skipped (--no-peers)"}
    load["after"] = os.getloadavg()[0]
    text = markdown(results, args, machine, load)
    print()
    print(text)
    path = write_section("read_runs", {
        "title": "Reading runs back: Api.runs, history, compare data",
        "generated": now_iso(),
        "mode": "quick" if quick else "full",
        "machine": machine,
        "load": load,
        "params": {"quick": quick, "repeat": repeat, **sizes},
        "results": results,
        "markdown": text,
    })
    print(f"written {path}")
    if os.environ.get("BENCH_NO_RESULTS_MD") != "1":
        from run_all import assemble_results_md

        print(f"regenerated {assemble_results_md()}")
    return 0


def measure_small_history(base: Path, steps: int, repeat: int) -> dict:
    """One metric, ``steps`` points: the full history and a 1,000-point sample (MLflow's sizes)."""
    import jupyter_tracker as tracker

    run_id = make_runs(base, "long", 1, steps, 9)[0]
    tracker.Api(base).run(run_id).columns()
    return {
        "warm_full": timed(lambda: tracker.Api(base).run(run_id).columns(["val/acc"]), repeat),
        "warm_sampled": timed(lambda: tracker.Api(base).run(run_id).columns(["val/acc"], samples=1000), repeat),
    }


if __name__ == "__main__":
    sys.exit(main())
