#!/usr/bin/env python3
"""log() overhead: jupyter-tracker against peer trackers, side by side in one run.

Run the suite (from the repo root, with the python that has jupyter-tracker):

    python bench/log_overhead.py            # full: N = 20,000 and 200,000, 5 repetitions
    python bench/log_overhead.py --quick    # N = 5,000, 2 repetitions (< 1 min)

Every (configuration, N, repetition) runs in its own fresh worker process:

    python bench/log_overhead.py --worker CONFIG --n N --out RESULT.json --workdir DIR ...

The worker times ``import`` of the tool, ``init()``, the loop of N ``log()``
calls (the same loop for every configuration: see ``timed_loop``), and the
tool's ``finish()``; it snapshots child processes, threads and network
connections at the end of the loop, records peak RSS, then reads every point
back with the tool's own reader and checks each step of each metric. The
parent interleaves configurations (A B C ... A B C ...), summarises the
repetitions (median, min, max), computes jupyter-tracker's ratios against
wandb-offline and orjson-append within each repetition, prints tables and
writes bench/results/log_overhead*.json and bench/RESULTS.md.

Configurations and their settings are in bench/adapters.py; the method is in
bench/README.md and repeated in RESULTS.md.
"""

# The worker path must stay light: nothing but os/sys/time is imported at module
# level, so that the timed ``import <tool>`` starts from a bare interpreter.
import os
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
THIS_FILE = os.path.abspath(__file__)
SECTION = "log_overhead"
PYCACHE_DIR = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "jupyter-tracker-bench", "pycache"
)


# ---------------------------------------------------------------------------
# the loop every configuration runs
# ---------------------------------------------------------------------------
def timed_loop(log, n):
    """N calls of log(dict of 4 floats, step=i); returns seconds around the loop only."""
    perf = time.perf_counter
    t0 = perf()
    for i in range(n):
        x = i * 0.5
        log({"a": x, "b": 1.0 / (i + 1), "c": (i % 97) * 0.25, "d": -x}, step=i)
    return perf() - t0


def expected_point(i):
    x = i * 0.5
    return {"a": x, "b": 1.0 / (i + 1), "c": (i % 97) * 0.25, "d": -x}


# ---------------------------------------------------------------------------
# worker
# ---------------------------------------------------------------------------
LATE_WAIT_S = 10.0  # how long after finish() returned we keep looking for missing points


def _os_threads():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def expected_columns(n):
    """Column-wise expected values; must match timed_loop (checked in verify)."""
    a = [i * 0.5 for i in range(n)]
    return {
        "a": a,
        "b": [1.0 / (i + 1) for i in range(n)],
        "c": [(i % 97) * 0.25 for i in range(n)],
        "d": [-x for x in a],
    }


def verify(data, n, metrics):
    """Check that every step 0..n-1 of every metric came back exactly once with the logged value."""
    import math

    if data is None:
        return {"status": "n/a", "detail": "configuration stores nothing"}
    res = {
        "expected_points": n * len(metrics),
        "found_points": 0,
        "missing": 0,
        "duplicates": 0,
        "out_of_range": 0,
        "mismatched": 0,
        "per_metric_missing": {},
        "first_missing": {},
    }
    cols = expected_columns(n)
    for i in {0, n // 2, n - 1} if n else ():
        assert all(cols[k][i] == v for k, v in expected_point(i).items()), "expected_columns out of sync"
    steps_ok = list(range(n))
    for k in metrics:
        pts = data.get(k) or []
        res["found_points"] += len(pts)
        exp = cols[k]
        # fast path: exactly steps 0..n-1 in order, values equal
        try:
            steps = [int(s) for s, _ in pts]
        except (TypeError, ValueError):
            steps = None
        if steps == steps_ok and [v for _, v in pts] == exp:
            res["per_metric_missing"][k] = 0
            continue
        seen = {}
        for s, v in pts:
            try:
                s = int(s)
            except (TypeError, ValueError):
                res["out_of_range"] += 1
                continue
            if s in seen:
                res["duplicates"] += 1
                continue
            seen[s] = v
        res["out_of_range"] += sum(1 for s in seen if not 0 <= s < n)
        missing = 0
        first = None
        absent = object()
        for i in range(n):
            v = seen.get(i, absent)
            if v is absent:
                missing += 1
                if first is None:
                    first = i
                continue
            try:
                ok = v == exp[i] or math.isclose(float(v), exp[i], rel_tol=1e-6, abs_tol=1e-12)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                res["mismatched"] += 1
        res["missing"] += missing
        res["per_metric_missing"][k] = missing
        if first is not None:
            res["first_missing"][k] = first
    bad = res["missing"] or res["duplicates"] or res["out_of_range"] or res["mismatched"]
    res["status"] = "incomplete" if bad else "complete"
    return res


def make_template_main(opts):
    """Worker mode: create a pristine empty store for one tool in --workdir."""
    import json

    sys.path.insert(0, BENCH_DIR)
    import adapters

    res = {"status": "ok", "error": None}
    try:
        ad = adapters.ADAPTERS[opts["make-template"]](opts["workdir"], 0, "template")
        ad.do_import()
        ad.make_template(opts["workdir"])
    except BaseException as e:  # noqa: BLE001
        res = {"status": "error", "error": f"{type(e).__name__}: {e}"}
    with open(opts["out"], "w") as fh:
        json.dump(res, fh)
    return 0


def worker_main(argv):
    t_enter = time.perf_counter()
    opts = {}
    it = iter(argv)
    for a in it:
        if a.startswith("--"):
            opts[a[2:]] = next(it)
    if "make-template" in opts:
        return make_template_main(opts)
    name = opts["worker"]
    n = int(opts["n"])
    out_path = opts["out"]
    workdir = opts.get("workdir") or os.getcwd()
    spawn_time = float(opts.get("spawn-time", "nan"))
    run_name = opts.get("run-name") or f"{name}-n{n}"

    py_threads_before = 1  # a fresh interpreter runs only its main thread
    if "threading" in sys.modules:
        py_threads_before = sys.modules["threading"].active_count()
    os_threads_before = _os_threads()

    sys.path.insert(0, BENCH_DIR)
    import adapters  # stdlib-only at module level

    res = {
        "config": name,
        "n": n,
        "rep": int(opts.get("rep", 0)),
        "python": sys.executable,
        "python_version": sys.version.split()[0],
        "status": "error",
        "error": None,
    }
    perf = time.perf_counter
    ad = None
    try:
        cls = adapters.ADAPTERS[name]
        ad = cls(workdir, n, run_name)

        t0 = perf()
        ad.do_import()
        res["import_s"] = perf() - t0

        t0 = perf()
        ad.prepare()
        res["prepare_s"] = perf() - t0

        t0 = perf()
        log = ad.init()
        res["init_s"] = perf() - t0

        # helpers for the snapshot, imported before the loop so the snapshot is quick
        import threading

        try:
            import psutil
        except ImportError:
            psutil = None

        loop_s = timed_loop(log, n)
        res["loop_s"] = loop_s

        # -- snapshot at the end of the loop (before finish) --
        res["py_threads_end"] = threading.active_count()
        res["os_threads_end"] = _os_threads()
        res["children"] = []
        res["children_rss_mb"] = None
        res["inet_connections"] = None
        if psutil is not None:
            me = psutil.Process()
            kids = me.children(recursive=True)
            rss = 0
            for c in kids:
                try:
                    r = c.memory_info().rss
                    rss += r
                    res["children"].append({"pid": c.pid, "name": c.name(), "rss_mb": r / 2**20})
                except psutil.Error:
                    res["children"].append({"pid": c.pid, "name": "?", "rss_mb": None})
            res["children_rss_mb"] = rss / 2**20
            conns = []
            for p in [me, *kids]:
                try:
                    getc = getattr(p, "net_connections", None) or p.connections
                    for c in getc(kind="inet"):
                        raddr = f"{c.raddr.ip}:{c.raddr.port}" if c.raddr else ""
                        conns.append({"pid": p.pid, "laddr": f"{c.laddr.ip}:{c.laddr.port}", "raddr": raddr, "status": c.status})
                except psutil.Error:
                    pass
            res["inet_connections"] = conns
        res["extra_procs"] = len(res["children"]) if psutil is not None else None
        res["py_threads_before"] = py_threads_before
        res["os_threads_before"] = os_threads_before
        res["extra_py_threads"] = res["py_threads_end"] - py_threads_before
        res["extra_os_threads"] = (
            res["os_threads_end"] - os_threads_before if None not in (res["os_threads_end"], os_threads_before) else None
        )

        t0 = perf()
        ad.finish()
        res["finish_s"] = perf() - t0
        t_done = time.time()

        res["us_per_call_loop"] = loop_s / n * 1e6 if n else None
        res["us_per_call_amortised"] = (loop_s + res["finish_s"]) / n * 1e6 if n else None
        res["wall_worker_s"] = t_done - spawn_time if spawn_time == spawn_time else None
        res["wall_in_process_s"] = perf() - t_enter
        res["py_threads_after_finish"] = threading.active_count()
        res["os_threads_after_finish"] = _os_threads()

        import resource

        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        res["tool_version"] = ad.version()
        res["status"] = "ok"

        # -- read back with the tool's own API and check every point --
        t_finished = perf()
        try:
            data = ad.readback()
            rb = verify(data, n, adapters.METRICS)
            rb["readback_s"] = perf() - t_finished
            if rb["status"] == "incomplete":
                # Did finish() return before the data reached the store? Poll for a
                # while: "late" = everything there eventually, "incomplete" = not.
                first = rb
                wait = max(0.25, rb["readback_s"])
                while perf() - t_finished < LATE_WAIT_S:
                    time.sleep(wait)
                    rb = verify(ad.readback(), n, adapters.METRICS)
                    if rb["status"] == "complete":
                        rb["status"] = "late"
                        break
                rb["readback_s"] = first["readback_s"]
                rb["missing_right_after_finish"] = first["missing"]
                rb["first_missing_right_after_finish"] = first["first_missing"]
                rb["checked_until_s_after_finish"] = perf() - t_finished
            res["readback"] = rb
        except Exception as e:  # reported, never silently compared
            import traceback

            res["readback"] = {"status": "error", "detail": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:],
                               "readback_s": perf() - t_finished}
    except adapters.NotInstalled as e:
        res["status"] = "not installed"
        res["error"] = str(e)
    except BaseException as e:  # noqa: BLE001 - the parent must get a result whatever happens
        import traceback

        res["status"] = "error"
        res["error"] = f"{type(e).__name__}: {e}"
        res["traceback"] = traceback.format_exc()[-4000:]

    import json

    tmp = out_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(res, fh, default=str)
    os.replace(tmp, out_path)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown only after the result is safely on disk? No: a tool's
    # atexit hooks are part of its normal life; let the interpreter exit normally.
    return 0


# ---------------------------------------------------------------------------
# parent / runner
# ---------------------------------------------------------------------------
FULL_NS = (20_000, 200_000)
QUICK_NS = (5_000,)
FULL_REPS = 5
QUICK_REPS = 2
# Per-run caps on N for tools whose cost per call would not fit the time
# budget (full suite < 15 min on 2 noisy cores) at the requested N. Measured
# here: MLflow+SQLite ~10-20 ms per log_metrics call (sync, or async once
# flushed), Aim ~1 ms, wandb offline 0.4-0.9 ms (flat in N: a 200,000-call run
# alone takes 1.5-3 min, x5 repetitions). A capped row is labelled as such in
# every output, and so is a ratio computed against a capped run.
# --no-caps removes them; --cap CONFIG=N sets one.
FULL_CAPS = {"wandb-offline": 50_000, "mlflow-sync": 200, "mlflow-async": 200, "aim": 2_000}
QUICK_CAPS = {"mlflow-sync": 50, "mlflow-async": 50, "aim": 1_000}
OURS = "jupyter-tracker"
RATIO_REFS = ("wandb-offline", "orjson-append")

PROBE = r"""
import importlib.util, importlib.metadata as md, json, sys
mods = json.loads(sys.argv[1]); dists = json.loads(sys.argv[2])
out = {"executable": sys.executable, "version": sys.version.split()[0], "modules": {}, "dists": {}}
for m in mods:
    try:
        spec = importlib.util.find_spec(m)
        out["modules"][m] = bool(spec is not None and spec.origin is not None)
    except Exception:
        out["modules"][m] = False
for d in dists:
    try:
        out["dists"][d] = md.version(d)
    except md.PackageNotFoundError:
        out["dists"][d] = None
print(json.dumps(out))
"""


def _default_peers_python():
    from _common import default_peers_python

    return default_peers_python()


def _probe_python(python, modules, dists, cwd):
    import json
    import subprocess

    if not python or not os.path.exists(python):
        return {"ok": False, "error": f"python not found: {python}"}
    try:
        r = subprocess.run(
            [python, "-c", PROBE, json.dumps(modules), json.dumps(dists)],
            capture_output=True, text=True, timeout=60, cwd=cwd,
        )
        out = json.loads(r.stdout)
        out["ok"] = True
        return out
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def _procs_in_group(pgid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                st = fh.read()
            rest = st[st.rindex(")") + 2 :].split()
            if int(rest[2]) == pgid:
                with open(f"/proc/{d}/comm") as fh:
                    pids.append((int(d), fh.read().strip()))
        except (OSError, ValueError, IndexError):
            pass
    return pids


def _worker_env(adapter_cls, workdir):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("WANDB_", "TRACKIO_", "MLFLOW_", "TRACKER_", "AIM_")):
            del env[k]
    if os.environ.get("BENCH_KEEP_PYTHONPATH") != "1":
        env.pop("PYTHONPATH", None)
    if adapter_cls.python == "ours":
        # The suite's python may import jupyter-tracker from a source checkout
        # (editable install) that has no compiled bytecode, and this machine sets
        # PYTHONDONTWRITEBYTECODE=1; pip-installed peers ship bytecode. To import
        # every tool from bytecode, workers of the suite's python use a private
        # bytecode cache, filled by the warm-up run (see runner_main).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = PYCACHE_DIR
    for k, v in adapter_cls.env(workdir).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def make_template(cfg, python, base_dir, timeout, netns):
    """Create the tool's pristine empty store once per suite; returns (dir or None, error)."""
    import json
    import subprocess
    import tempfile

    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    import adapters

    cls = adapters.ADAPTERS[cfg]
    d = tempfile.mkdtemp(prefix=f"template-{cls.template_key}-", dir=base_dir)
    out = os.path.join(base_dir, f"template-{cls.template_key}.json")
    cmd = [python, THIS_FILE, "--make-template", cfg, "--workdir", d, "--out", out]
    if netns:
        cmd = ["unshare", "--net", "--"] + cmd
    try:
        r = subprocess.run(cmd, cwd=d, env=_worker_env(cls, d), capture_output=True, text=True, timeout=timeout, start_new_session=True)
        with open(out) as fh:
            res = json.load(fh)
        os.unlink(out)
    except Exception as e:  # noqa: BLE001
        return None, f"{type(e).__name__}: {e}"
    if res.get("status") != "ok" or r.returncode != 0:
        return None, res.get("error") or r.stderr[-500:]
    return d, None


def run_one(cfg, n, rep, python, base_dir, timeout, netns, keep, template_dir=None):
    import json
    import shutil
    import signal
    import subprocess
    import tempfile

    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    import adapters

    wd = tempfile.mkdtemp(prefix=f"{cfg}-n{n}-r{rep}-", dir=base_dir)
    out = os.path.join(wd, "result.json")
    env = _worker_env(adapters.ADAPTERS[cfg], wd)
    if template_dir:
        env["BENCH_TEMPLATE_DIR"] = template_dir
    run_name = f"{cfg}-n{n}-r{rep}"
    spawn = time.time()
    cmd = [
        python, THIS_FILE, "--worker", cfg, "--n", str(n), "--rep", str(rep), "--out", out,
        "--workdir", wd, "--run-name", run_name, "--spawn-time", repr(spawn),
    ]
    if netns:
        cmd = ["unshare", "--net", "--"] + cmd
    logf = os.path.join(wd, "worker.log")
    t0 = time.perf_counter()
    timed_out = False
    with open(logf, "wb") as lf:
        p = subprocess.Popen(cmd, cwd=wd, env=env, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    proc_wall = time.perf_counter() - t0
    # anything the worker started that outlived it (same process group)?
    left = _procs_in_group(p.pid)
    if left:
        time.sleep(1.0)
        left = _procs_in_group(p.pid)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        with open(out) as fh:
            res = json.load(fh)
    except (OSError, ValueError):
        res = {"config": cfg, "n": n, "rep": rep, "status": "error", "error": "worker wrote no result"}
    if timed_out:
        res["status"] = "timeout"
        res["error"] = f"worker killed after {timeout:.0f} s"
    res["returncode"] = p.returncode
    res["proc_wall_s"] = proc_wall
    res["leftover_processes"] = [name for _, name in left]
    if res.get("status") != "ok" or p.returncode != 0:
        try:
            with open(logf, "rb") as fh:
                res["log_tail"] = fh.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            pass
    if keep:
        res["workdir"] = wd
    else:
        shutil.rmtree(wd, ignore_errors=True)
    return res


def parse_args(argv):
    import argparse

    ap = argparse.ArgumentParser(
        description="log() overhead of jupyter-tracker vs peer trackers (see bench/README.md)",
    )
    ap.add_argument("--quick", action="store_true", help=f"N={QUICK_NS}, {QUICK_REPS} reps, smaller caps (< 2 min)")
    ap.add_argument("--n", help="comma-separated N values (default: 20000,200000; quick: 1000,5000)")
    ap.add_argument("--reps", type=int, help=f"repetitions (default {FULL_REPS}; quick {QUICK_REPS})")
    ap.add_argument("--configs", help="comma-separated subset of: " + ", ".join(_config_names()))
    ap.add_argument("--peers-python", default=None, help="python of the peers venv (default: $PEERS_PYTHON, $PEERS_VENV/bin/python, .venv-peers/bin/python)")
    ap.add_argument("--ours-python", default=sys.executable, help="python for jupyter-tracker and the baselines (default: this one)")
    ap.add_argument("--cap", action="append", default=[], metavar="CONFIG=N", help="cap N for one configuration (repeatable)")
    ap.add_argument("--no-caps", action="store_true", help="run every configuration at the full N (very slow for MLflow/Aim)")
    ap.add_argument("--timeout", type=float, help="per-worker timeout in s (default 600; quick 90)")
    ap.add_argument("--workdir", default=None, help="where fresh run directories are created (default: a temp dir)")
    ap.add_argument("--netns", action="store_true", help="run every worker in a new network namespace without any network (unshare --net; needs root)")
    ap.add_argument("--keep", action="store_true", help="keep each run's directory (printed in the JSON)")
    ap.add_argument("--settle", type=float, default=0.2, help="pause between workers in s (default 0.2)")
    ap.add_argument("--no-warmup", action="store_true", help="skip the discarded warm-up runs")
    ap.add_argument("--no-results-md", action="store_true", help="write the JSON but do not regenerate bench/RESULTS.md")
    ap.add_argument("--rerender", metavar="JSON", help="measure nothing: recompute summary and report from a raw results JSON "
                    "(e.g. bench/results/log_overhead-<stamp>.json), make it the current section and regenerate RESULTS.md")
    return ap.parse_args(argv)


def _config_names():
    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    import adapters

    return adapters.CONFIG_ORDER


def runner_main(argv):
    import shutil
    import subprocess
    import tempfile

    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    import adapters
    from _common import machine_info, now_iso, write_section

    args = parse_args(argv)
    if args.rerender:
        return rerender(args.rerender, not args.no_results_md)
    mode = "quick" if args.quick else "full"
    ns = [int(x.replace("_", "")) for x in args.n.split(",")] if args.n else list(QUICK_NS if args.quick else FULL_NS)
    reps = args.reps or (QUICK_REPS if args.quick else FULL_REPS)
    if args.n or args.reps:
        mode += " (custom N/reps)"
    timeout = args.timeout or (90.0 if args.quick else 600.0)
    configs = args.configs.split(",") if args.configs else list(adapters.CONFIG_ORDER)
    for c in configs:
        if c not in adapters.ADAPTERS:
            raise SystemExit(f"unknown configuration {c!r}; known: {', '.join(adapters.CONFIG_ORDER)}")
    caps = {} if args.no_caps else dict(QUICK_CAPS if args.quick else FULL_CAPS)
    for spec in args.cap:
        k, v = spec.split("=", 1)
        caps[k] = int(v.replace("_", ""))
    peers_python = args.peers_python or _default_peers_python()
    ours_python = args.ours_python
    pythons = {"ours": ours_python, "peers": peers_python}

    if args.netns:
        if subprocess.run(["unshare", "--net", "--", "true"], capture_output=True).returncode != 0:
            raise SystemExit("--netns: `unshare --net` does not work here (needs root / user namespaces)")

    t_suite = time.perf_counter()
    base_dir = args.workdir or tempfile.mkdtemp(prefix="jt-bench-")
    os.makedirs(base_dir, exist_ok=True)

    # -- which configurations can run, and with what versions --
    all_mods = sorted({m for c in configs for m in adapters.ADAPTERS[c].modules} | {"tracker", "psutil"})
    all_dists = sorted({d for c in configs for d in adapters.ADAPTERS[c].dists} | {"psutil"})
    probes = {k: _probe_python(py, all_mods, all_dists, base_dir) for k, py in pythons.items()}
    status = {}
    for c in configs:
        cls = adapters.ADAPTERS[c]
        pr = probes[cls.python]
        if not pr.get("ok"):
            status[c] = f"not installed ({pr.get('error')})"
            continue
        mods = list(cls.modules)
        if c == OURS:
            mods = ["jupyter_tracker", "tracker"]
            present = any(pr["modules"].get(m) for m in mods)
        else:
            present = all(pr["modules"].get(m) for m in mods)
        status[c] = "ok" if present else f"not installed (no module {' or '.join(mods)} in {pr['executable']})"

    def log_msg(msg):
        print(msg, file=sys.stderr, flush=True)

    log_msg(f"log_overhead: mode={mode} N={ns} reps={reps} caps={caps or 'none'} timeout={timeout:.0f}s")
    log_msg(f"  ours python : {ours_python} ({probes['ours'].get('version', '?')})")
    log_msg(f"  peers python: {peers_python} ({probes['peers'].get('version', probes['peers'].get('error'))})")
    for c in configs:
        if status[c] != "ok":
            log_msg(f"  {c}: {status[c]} -> skipped")

    # -- pristine empty stores, made once per suite by the tools themselves --
    templates = {}
    template_errors = {}
    t_w = time.perf_counter()
    for c in configs:
        cls = adapters.ADAPTERS[c]
        if status[c] != "ok" or not cls.template_key or cls.template_key in templates or cls.template_key in template_errors:
            continue
        d, err = make_template(c, pythons[cls.python], base_dir, timeout, args.netns)
        if d:
            templates[cls.template_key] = d
        else:
            template_errors[cls.template_key] = err
            log_msg(f"  template for {c} failed ({err}); its runs create their store in prepare")
    if templates or template_errors:
        log_msg(f"  empty-store templates: {', '.join(templates) or 'none'} in {time.perf_counter() - t_w:.1f} s")

    # -- warm-up (discarded): fills the bytecode cache of the suite's python (see
    # _worker_env) and the OS file cache, so that no tool's first measured run
    # pays for compiling or reading its modules from disk for the first time.
    # Suite-python configurations: one worker run at N=20 (covers the modules
    # imported lazily by init/finish/read-back too); peers: a bare import
    # (unless their template worker already imported them).
    warmup = []
    if not args.no_warmup:
        t_w = time.perf_counter()
        done_mods = set()
        for c in configs:  # the template workers already imported these
            if adapters.ADAPTERS[c].template_key in templates:
                done_mods.update(adapters.ADAPTERS[c].modules)
        for c in configs:
            if status[c] != "ok":
                continue
            cls = adapters.ADAPTERS[c]
            if cls.python == "ours":
                r = run_one(c, 20, -1, pythons["ours"], base_dir, timeout, args.netns, False)
                warmup.append({"config": c, "kind": "worker N=20", "status": r.get("status"), "error": r.get("error")})
            else:
                mods = [m for m in cls.modules if m not in done_mods]
                if not mods:
                    continue
                done_mods.update(mods)
                wd = tempfile.mkdtemp(prefix=f"warmup-{c}-", dir=base_dir)
                code = "; ".join(f"import {m}" for m in mods)
                cmd = [pythons["peers"], "-c", code]
                if args.netns:
                    cmd = ["unshare", "--net", "--"] + cmd
                r = subprocess.run(cmd, cwd=wd, env=_worker_env(cls, wd), capture_output=True, text=True, timeout=timeout)
                warmup.append({"config": c, "kind": "import " + ",".join(mods), "status": "ok" if r.returncode == 0 else "error",
                               "error": r.stderr[-500:] if r.returncode else None})
                shutil.rmtree(wd, ignore_errors=True)
        bad = [w for w in warmup if w["status"] != "ok"]
        log_msg(f"  warm-up: {len(warmup)} runs in {time.perf_counter() - t_w:.1f} s" + (f"; failed: {bad}" if bad else ""))

    # -- plan: reps x N x configs, interleaved; capped duplicates are run once per rep --
    plan = []
    for rep in range(reps):
        seen = set()
        for n in ns:
            for c in configs:
                if status[c] != "ok":
                    continue
                n_run = min(n, caps[c]) if c in caps else n
                if (c, n_run) in seen:
                    continue
                seen.add((c, n_run))
                plan.append((rep, c, n, n_run))

    runs = []
    for idx, (rep, c, n, n_run) in enumerate(plan, 1):
        cls = adapters.ADAPTERS[c]
        res = run_one(c, n_run, rep, pythons[cls.python], base_dir, timeout, args.netns, args.keep, templates.get(cls.template_key))
        res["n_requested"] = n
        runs.append(res)
        if res.get("status") == "ok":
            rb = res.get("readback", {})
            extra = ""
            if rb.get("status") == "late":
                extra = (f"  DATA LATE: {rb.get('missing_right_after_finish')} of {rb.get('expected_points')} points "
                         f"not yet stored when finish() returned (all there within {rb.get('checked_until_s_after_finish'):.1f} s)")
            elif rb.get("status") not in ("complete", "n/a"):
                extra = f"  DATA {rb.get('status')}: missing {rb.get('missing')} of {rb.get('expected_points')}" + (f" ({rb.get('detail')})" if rb.get("detail") else "")
            log_msg(
                f"[{idx:3d}/{len(plan)}] rep {rep + 1} {c:16s} N={n_run:<7d} "
                f"amortised {res['us_per_call_amortised']:10.2f} us/call  "
                f"(loop {res['us_per_call_loop']:.2f}, finish {res['finish_s']:.2f} s)  wall {res['proc_wall_s']:.1f} s{extra}"
            )
        else:
            log_msg(f"[{idx:3d}/{len(plan)}] rep {rep + 1} {c:16s} N={n_run:<7d} {res.get('status')}: {res.get('error')}")
        if args.settle:
            time.sleep(args.settle)

    suite_s = time.perf_counter() - t_suite
    for d in templates.values():
        shutil.rmtree(d, ignore_errors=True)
    if not args.keep:
        try:
            os.rmdir(base_dir)
        except OSError:
            pass

    summary = summarise(runs, configs, status, ns, caps, reps)
    section = {
        "bench": SECTION,
        "title": "log() overhead: jupyter-tracker vs peer trackers",
        "generated": now_iso(),
        "mode": mode,
        "args": {"ns": ns, "reps": reps, "caps": caps, "configs": configs, "timeout_s": timeout, "netns": args.netns, "warmup": not args.no_warmup},
        "warmup": warmup,
        "templates": sorted(templates),
        "template_errors": template_errors,
        "pycache_dir": PYCACHE_DIR,
        "suite_seconds": suite_s,
        "machine": machine_info(),
        "pythons": {k: {"path": pythons[k], **{kk: v for kk, v in probes[k].items() if kk != "modules"}} for k in pythons},
        "config_status": status,
        "settings": {c: adapters.ADAPTERS[c].settings for c in configs},
        "readback_methods": {c: adapters.ADAPTERS[c].readback_method for c in configs},
        "summary": summary,
        "runs": runs,
    }
    section["markdown"] = render_markdown(section)
    print(render_text(section))
    path = write_section(SECTION, section)
    log_msg(f"raw results: {path}")
    if not args.no_results_md and os.environ.get("BENCH_NO_RESULTS_MD") != "1":
        from run_all import assemble_results_md

        md = assemble_results_md()
        log_msg(f"regenerated {md}")
    log_msg(f"suite took {suite_s:.0f} s")
    return 0


def rerender(path, results_md=True):
    import json

    from _common import write_section

    with open(path) as fh:
        section = json.load(fh)
    a = section["args"]
    section["summary"] = summarise(section["runs"], a["configs"], section["config_status"], a["ns"], a["caps"], a["reps"])
    section["markdown"] = render_markdown(section)
    print(render_text(section))
    out = write_section(SECTION, section, keep_history=False)
    print(f"re-rendered {path} -> {out}", file=sys.stderr)
    if results_md:
        from run_all import assemble_results_md

        print(f"regenerated {assemble_results_md()}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------
# summaries and rendering
# ---------------------------------------------------------------------------
TARGETS = {
    "us_per_call": 2.0,
    "vs_orjson": 2.0,
    "vs_wandb": 50.0,
    "import_ms": 150.0,
    "init_ms": 300.0,
}
FIELDS = [
    # key in run result, label, scale
    ("us_per_call_loop", "loop µs/call", 1.0),
    ("finish_s", "finish ms", 1000.0),
    ("us_per_call_amortised", "amortised µs/call", 1.0),
    ("wall_worker_s", "worker wall s", 1.0),
    ("import_s", "import ms", 1000.0),
    ("init_s", "init ms", 1000.0),
    ("prepare_s", "prepare ms", 1000.0),
    ("peak_rss_mb", "peak RSS MB", 1.0),
    ("children_rss_mb", "children RSS MB", 1.0),
    ("extra_procs", "+procs", 1.0),
    ("extra_py_threads", "+py threads", 1.0),
    ("extra_os_threads", "+OS threads", 1.0),
]


def summarise(runs, configs, status, ns, caps, reps):
    from _common import describe

    rows = []
    for c in configs:
        if status[c] != "ok":
            rows.append({"config": c, "status": status[c], "n_run": None, "n_requested": ns})
            continue
        n_runs = []
        for n in ns:
            nr = min(n, caps[c]) if c in caps else n
            if nr not in n_runs:
                n_runs.append(nr)
        for nr in n_runs:
            requested = [n for n in ns if (min(n, caps[c]) if c in caps else n) == nr]
            rs = [r for r in runs if r.get("config") == c and r.get("n") == nr]
            ok = [r for r in rs if r.get("status") == "ok"]
            row = {
                "config": c,
                "n_run": nr,
                "n_requested": requested,
                "capped": nr not in requested,
                "runs": len(rs),
                "ok_runs": len(ok),
                "status": "ok" if ok else (rs[0].get("status") if rs else "not run"),
                "errors": sorted({f"{r.get('status')}: {r.get('error')}" for r in rs if r.get("status") != "ok"}),
                "stats": {},
            }
            for key, _, _ in FIELDS:
                row["stats"][key] = describe([r.get(key) for r in ok])
            row["raw"] = {k: [r[k] for r in ok if r.get(k) is not None] for k in ("import_s", "init_s", "us_per_call_amortised")}
            rb = [r.get("readback") or {} for r in ok]
            row["readback"] = {
                "complete": sum(1 for x in rb if x.get("status") == "complete"),
                "late": sum(1 for x in rb if x.get("status") == "late"),
                "worst_missing_right_after_finish": max((x.get("missing_right_after_finish") or 0 for x in rb), default=0),
                "worst_late_s": max((x.get("checked_until_s_after_finish") or 0 for x in rb if x.get("status") == "late"), default=0),
                "incomplete": sum(1 for x in rb if x.get("status") == "incomplete"),
                "error": sum(1 for x in rb if x.get("status") == "error"),
                "na": sum(1 for x in rb if x.get("status") == "n/a"),
                "worst_missing": max((x.get("missing") or 0 for x in rb), default=0),
                "worst_mismatched": max((x.get("mismatched") or 0 for x in rb), default=0),
                "worst_duplicates": max((x.get("duplicates") or 0 for x in rb), default=0),
                "expected_points": nr * 4,
                "errors": sorted({x.get("detail") for x in rb if x.get("status") == "error"}),
                "readback_s": describe([x.get("readback_s") for x in rb]),
            }
            row["children_names"] = sorted({ch.get("name") for r in ok for ch in r.get("children") or []})
            row["leftover_processes"] = sorted({p for r in rs for p in r.get("leftover_processes") or []})
            row["remote_connections"] = sorted(
                {
                    cn["raddr"]
                    for r in ok
                    for cn in r.get("inet_connections") or []
                    if cn.get("raddr") and not cn["raddr"].startswith(("127.", "::1", "[::1]"))
                }
            )
            row["versions"] = sorted({r.get("tool_version") or "?" for r in ok})
            rows.append(row)

    # ratios within the same repetition
    ratios = {}
    for n in ns:
        for ref in RATIO_REFS:
            per_rep = []
            excluded = []
            notes = []
            for rep in range(reps):
                a = _pick(runs, OURS, n, rep, caps)
                b = _pick(runs, ref, n, rep, caps)
                if a is None or b is None:
                    why = []
                    for cfg_, x in ((OURS, a), (ref, b)):
                        if x is None:
                            why.append(f"{cfg_} {status.get(cfg_)}" if status.get(cfg_) != "ok" else f"{cfg_} run failed")
                    excluded.append({"rep": rep, "why": ", ".join(why)})
                    continue
                # never flatter jupyter-tracker: its run must be complete right after finish();
                # the reference may be "late" (its cost is then if anything understated).
                st_a = (a.get("readback") or {}).get("status")
                st_b = (b.get("readback") or {}).get("status")
                if st_a != "complete" or st_b not in ("complete", "late"):
                    bad = [f"{x['config']} ({st})" for x, st in ((a, st_a), (b, st_b)) if st != "complete"]
                    excluded.append({"rep": rep, "why": f"data not complete for {', '.join(bad)}"})
                    continue
                if st_b == "late":
                    notes.append({"rep": rep, "why": f"{ref} data landed after its finish() returned"})
                ours_v = a["us_per_call_amortised"]
                ref_v = b["us_per_call_amortised"]
                per_rep.append({"rep": rep, "ours": ours_v, "ref": ref_v, "ours_over_ref": ours_v / ref_v, "ref_over_ours": ref_v / ours_v, "n_ours": a["n"], "n_ref": b["n"]})
            ratios[f"{ref}@{n}"] = {
                "ref": ref,
                "n": n,
                "per_rep": per_rep,
                "excluded": excluded,
                "notes": notes,
                "ours_over_ref": describe([x["ours_over_ref"] for x in per_rep]),
                "ref_over_ours": describe([x["ref_over_ours"] for x in per_rep]),
            }
    return {"rows": rows, "ratios": ratios, "targets": _targets(rows, ratios, ns, status)}


def _pick(runs, cfg, n, rep, caps):
    nr = min(n, caps[cfg]) if cfg in caps else n
    for r in runs:
        if r.get("config") == cfg and r.get("n") == nr and r.get("rep") == rep and r.get("status") == "ok":
            return r
    return None


def _targets(rows, ratios, ns, status):
    from _common import describe

    out = []
    ours_rows = [r for r in rows if r["config"] == OURS]
    if status.get(OURS) != "ok" or not ours_rows or not any(r.get("ok_runs") for r in ours_rows):
        why = status.get(OURS) if status.get(OURS) != "ok" else "no successful run"
        for label in (
            "log() amortised ≤ 2 µs/call",
            "within 2x of orjson-append (same run)",
            "≥ 50x cheaper than wandb offline (same run)",
            "import ≤ 150 ms",
            "init() ≤ 300 ms",
        ):
            out.append({"target": label, "figure": None, "met": None, "text": f"not measured: jupyter-tracker {why}"})
        return out
    for r in ours_rows:
        if not r.get("ok_runs"):
            continue
        d = r["stats"]["us_per_call_amortised"]
        complete = r["readback"]["complete"] == r["ok_runs"]
        met = d["median"] <= TARGETS["us_per_call"]
        out.append({
            "target": f"log() amortised ≤ 2 µs/call, N={r['n_run']:,}",
            "figure": d, "unit": "µs/call", "met": met and complete,
            "note": "" if complete else "data not complete right after finish() in some runs (see table)",
            "worst_ok": d["max"] <= TARGETS["us_per_call"],
        })
    for n in ns:
        ro = ratios.get(f"orjson-append@{n}")
        if ro and ro["ours_over_ref"]:
            d = ro["ours_over_ref"]
            refns = sorted({x["n_ref"] for x in ro["per_rep"]} | {x["n_ours"] for x in ro["per_rep"]})
            capnote = f"; ran {'/'.join(f'{x:,}' for x in refns)}: cap" if refns != [n] else ""
            out.append({"target": f"within 2x of orjson-append, N={n:,} (ours ÷ orjson, same rep{capnote})", "figure": d, "unit": "x", "met": d["median"] <= TARGETS["vs_orjson"], "worst_ok": d["max"] <= TARGETS["vs_orjson"]})
        else:
            out.append({"target": f"within 2x of orjson-append, N={n:,}", "figure": None, "met": None, "text": "no valid pair of runs" + (f": {_group_reasons(ro['excluded'])}" if ro else "")})
        rw = ratios.get(f"wandb-offline@{n}")
        if rw and rw["ref_over_ours"]:
            d = rw["ref_over_ours"]
            refns = sorted({x["n_ref"] for x in rw["per_rep"]})
            capnote = f"; wandb ran {'/'.join(f'{x:,}' for x in refns)}: cap" if refns != [n] else ""
            out.append({"target": f"≥ 50x cheaper than wandb offline, N={n:,} (wandb ÷ ours, same rep{capnote})", "figure": d, "unit": "x", "met": d["median"] >= TARGETS["vs_wandb"], "worst_ok": d["min"] >= TARGETS["vs_wandb"]})
        else:
            out.append({"target": f"≥ 50x cheaper than wandb offline, N={n:,}", "figure": None, "met": None, "text": "no valid pair of runs" + (f" (wandb-offline {status.get('wandb-offline')})" if status.get("wandb-offline") != "ok" else (f": {_group_reasons(rw['excluded'])}" if rw else ""))})
    all_imp = [x for r in ours_rows for x in r["raw"]["import_s"]]
    all_init = [x for r in ours_rows for x in r["raw"]["init_s"]]
    d_imp = describe([x * 1000 for x in all_imp])
    d_init = describe([x * 1000 for x in all_init])
    if d_imp:
        out.append({"target": "import ≤ 150 ms (fresh interpreter)", "figure": d_imp, "unit": "ms", "met": d_imp["median"] <= TARGETS["import_ms"], "worst_ok": d_imp["max"] <= TARGETS["import_ms"]})
    if d_init:
        out.append({"target": "init() ≤ 300 ms (fresh run dir)", "figure": d_init, "unit": "ms", "met": d_init["median"] <= TARGETS["init_ms"], "worst_ok": d_init["max"] <= TARGETS["init_ms"]})
    return out


def _fmt_row_label(r):
    if r.get("n_run") is None:
        return r["config"], "–"
    n = f"{r['n_run']:,}"
    if r.get("capped"):
        n += " (cap; asked " + "/".join(f"{x:,}" for x in r["n_requested"]) + ")"
    return r["config"], n


def _data_cell(r):
    rb = r.get("readback") or {}
    if r.get("status") != "ok":
        return "–"
    if rb.get("na") == r["ok_runs"]:
        return "n/a"
    if rb.get("complete") == r["ok_runs"]:
        return f"complete {rb['complete']}/{r['ok_runs']}"
    parts = []
    if rb.get("complete"):
        parts.append(f"complete {rb['complete']}/{r['ok_runs']}")
    if rb.get("late"):
        parts.append(f"LATE in {rb['late']}/{r['ok_runs']} runs: up to {rb['worst_missing_right_after_finish']:,} of "
                     f"{rb['expected_points']:,} points not yet stored when finish() returned (all there ≤ {rb['worst_late_s']:.1f} s later)")
    if rb.get("incomplete"):
        parts.append(f"INCOMPLETE in {rb['incomplete']}/{r['ok_runs']} runs (worst: {rb['worst_missing']:,} of {rb['expected_points']:,} points missing, {rb['worst_mismatched']:,} wrong, {rb['worst_duplicates']:,} duplicated)")
    if rb.get("error"):
        parts.append(f"READ-BACK FAILED in {rb['error']}/{r['ok_runs']} runs: {'; '.join(e for e in rb['errors'] if e)[:200]}")
    return "; ".join(parts)


def _timing_rows(summary, fmt_stat):
    rows = []
    for r in summary["rows"]:
        cfg, n = _fmt_row_label(r)
        if r.get("status") != "ok":
            rows.append([cfg, n, "", "", "", "", "", "", (r.get("status") if not r.get("errors") else "; ".join(r["errors"]))[:200]])
            continue
        s = r["stats"]
        rows.append([
            cfg, n,
            fmt_stat(s["us_per_call_loop"]),
            fmt_stat(s["finish_s"], scale=1000),
            fmt_stat(s["us_per_call_amortised"]),
            fmt_stat(s["wall_worker_s"]),
            fmt_stat(s["import_s"], scale=1000),
            fmt_stat(s["init_s"], scale=1000),
            _data_cell(r) + (f" [{r['ok_runs']}/{r['runs']} runs ok]" if r["ok_runs"] != r["runs"] else ""),
        ])
    return rows


def _resource_rows(summary, fmt_stat):
    rows = []
    for r in summary["rows"]:
        if r.get("status") != "ok":
            continue
        cfg, n = _fmt_row_label(r)
        s = r["stats"]
        rows.append([
            cfg, n,
            fmt_stat(s["peak_rss_mb"]),
            fmt_stat(s["children_rss_mb"]),
            fmt_stat(s["extra_procs"], digits=2) + (f" ({', '.join(r['children_names'])})" if r["children_names"] else ""),
            fmt_stat(s["extra_py_threads"], digits=2),
            fmt_stat(s["extra_os_threads"], digits=2),
            fmt_stat(s["prepare_s"], scale=1000),
            fmt_stat(r["readback"].get("readback_s")),
        ])
    return rows


TIMING_HEADERS = ["config", "N", "loop µs/call", "finish ms", "amortised µs/call", "worker wall s", "import ms", "init ms", "data read back"]
RESOURCE_HEADERS = ["config", "N", "peak RSS MB", "children RSS MB", "+procs", "+py threads", "+OS threads", "prepare ms", "read-back s"]


def _ratio_rows(summary, fmt_stat):
    rows = []
    for key, r in summary["ratios"].items():
        per = ", ".join(f"{x['ours_over_ref']:.3g}" for x in r["per_rep"])
        ncell = f"{r['n']:,}"
        refns = sorted({x["n_ref"] for x in r["per_rep"]})
        if refns and refns != [r["n"]]:
            ncell += f" ({r['ref']} ran {'/'.join(f'{x:,}' for x in refns)}: cap)"
        rows.append([
            f"jupyter-tracker ÷ {r['ref']}", ncell,
            fmt_stat(r["ours_over_ref"]), fmt_stat(r["ref_over_ours"]),
            str(len(r["per_rep"]))
            + (f" (excluded: {_group_reasons(r['excluded'])})" if r["excluded"] else "")
            + (f" (note: {_group_reasons(r.get('notes', []))})" if r.get("notes") else ""),
            per or "–",
        ])
    return rows


def _group_reasons(items):
    by = {}
    for e in items:
        by.setdefault(e["why"], []).append(e["rep"] + 1)
    return "; ".join(f"{why} in rep{'s' if len(reps) > 1 else ''} {', '.join(map(str, reps))}" for why, reps in by.items())


RATIO_HEADERS = ["ratio of amortised µs/call", "N", "ours ÷ ref: median [min–max]", "ref ÷ ours: median [min–max]", "reps used", "per rep (ours ÷ ref)"]


def _target_lines(summary):
    from _common import fmt_stat

    lines = []
    for t in summary["targets"]:
        if t.get("figure") is None:
            lines.append((t["target"], "–", "NOT MEASURED", t.get("text", "")))
            continue
        fig = fmt_stat(t["figure"]) + " " + t.get("unit", "")
        if t["met"]:
            verdict = "met" if t.get("worst_ok", True) else "met at the median, MISSED in the worst repetition"
        else:
            verdict = "MISSED"
        lines.append((t["target"], fig, verdict, t.get("note", "")))
    return lines


def render_text(section):
    from _common import fmt_stat, text_table

    s = section["summary"]
    out = [
        "",
        f"log() overhead — {section['mode']} — {section['generated']} — suite {section['suite_seconds']:.0f} s",
        "cells: median [min–max] over repetitions; amortised = (loop + finish) / N",
        "",
        text_table(TIMING_HEADERS, _timing_rows(s, fmt_stat)),
        "",
        text_table(RESOURCE_HEADERS, _resource_rows(s, fmt_stat)),
        "",
        text_table(RATIO_HEADERS, _ratio_rows(s, fmt_stat)),
        "",
        "targets:",
    ]
    for target, fig, verdict, note in _target_lines(s):
        out.append(f"  {target:70s} {fig:32s} {verdict}" + (f"  ({note})" if note else ""))
    return "\n".join(out)


def render_markdown(section):
    from _common import fmt_stat, machine_markdown, md_table

    s = section["summary"]
    a = section["args"]
    p = section["pythons"]
    md = []
    md.append(f"_Generated {section['generated']} by `bench/log_overhead.py` — mode **{section['mode']}**, "
              f"N = {', '.join(f'{n:,}' for n in a['ns'])}, {a['reps']} repetitions, suite took {section['suite_seconds']:.0f} s._\n\n")
    md.append("### Machine and versions\n\n")
    md.append(machine_markdown(section["machine"]))
    for k in ("ours", "peers"):
        pk = p.get(k, {})
        md.append(f"- Python ({k}): {pk.get('version', '?')} — `{pk.get('path')}`\n")
    for k in ("ours", "peers"):
        dists = p.get(k, {}).get("dists") or {}
        have = [f"{d} {v}" for d, v in dists.items() if v]
        if have:
            md.append(f"- Installed in the {k} python: " + ", ".join(have) + "\n")
    not_inst = [f"{c}: {st}" for c, st in section["config_status"].items() if st != "ok"]
    if not_inst:
        md.append("- Skipped: " + "; ".join(not_inst) + "\n")
    md.append("\n### Targets\n\n")
    md.append(md_table(["target", "figure: median [min–max]", "verdict", "note"], [list(x) for x in _target_lines(s)], ["l", "r", "l", "l"]))
    md.append("\n### Results\n\n")
    md.append("Cells are median [min–max] over the repetitions. *amortised* = (loop + finish) / N. "
              "*worker wall* = from spawning the worker process to the end of finish (interpreter start, imports, init, loop, finish). "
              "A row marked *cap* ran fewer calls than asked (see Method).\n\n")
    md.append(md_table(TIMING_HEADERS, _timing_rows(s, fmt_stat)))
    md.append("\nResources, counted in the worker at the end of the loop (before finish): peak RSS of the worker process itself "
              "(ru_maxrss), RSS of its child processes, child processes started (recursive), and threads started "
              "(`threading.active_count()` and OS threads, each minus the count before the tool was imported). "
              "*prepare* gets an empty store ready (copy of a pristine store made once by the tool; see Method), not counted in init.\n\n")
    md.append(md_table(RESOURCE_HEADERS, _resource_rows(s, fmt_stat)))
    md.append("\n### Ratios (same repetition)\n\n")
    md.append("For each repetition, jupyter-tracker's amortised µs/call divided by the reference's from the same repetition; "
              "a repetition where either side failed or did not read back complete is excluded and listed.\n\n")
    md.append(md_table(RATIO_HEADERS, _ratio_rows(s, fmt_stat)))
    # network + leftovers
    md.append("\n### Offline check\n\n")
    net_lines = []
    for r in s["rows"]:
        if r.get("status") != "ok":
            continue
        rc = r.get("remote_connections") or []
        lo = r.get("leftover_processes") or []
        if rc or lo:
            net_lines.append(f"- {r['config']} N={r['n_run']:,}: " + (f"non-loopback connections {rc}; " if rc else "") + (f"processes left running after the worker exited: {lo}" if lo else ""))
    if a.get("netns"):
        md.append("Workers ran in a network namespace with no network at all (`--netns`).\n")
    md.append(("\n".join(net_lines) + "\n") if net_lines else
              "No worker had an internet (non-loopback) connection open at the end of its loop, and none left a process running after it exited.\n")
    md.append("\n### Settings per configuration\n\n")
    for c, st in section["settings"].items():
        md.append(f"- **{c}**: {st}. Read-back: {section['readback_methods'][c]}.\n")
    caps = a.get("caps") or {}
    md.append("\n### Method\n\n")
    md.append(METHOD_MD.replace("{caps}", ", ".join(f"{k} ≤ {v:,}" for k, v in caps.items()) or "none"))
    return "".join(md)


METHOD_MD = """\
- **One loop for all.** Every configuration runs `timed_loop` in `bench/log_overhead.py`: N calls of
  `log({"a": x, "b": 1/(i+1), "c": (i % 97)*0.25, "d": -x}, step=i)` with `x = i*0.5`: a fresh dict of 4 float
  scalars per call, increasing step. Only the adapter's `log` callable differs (`bench/adapters.py`).
  `bare-loop` is the same loop with a no-op Python function as `log`, i.e. the floor every row pays.
- **One fresh process per measurement.** Each (configuration, N, repetition) is a new worker process
  (`log_overhead.py --worker ...`) in a new empty directory (its cwd, and the store location of every tool),
  started in its own session; configurations are interleaved (A B C … A B C …) and repeated.
  jupyter-tracker and the two baselines run with the suite's python; peers run with the peers venv's python.
- **What is timed, in the worker** (`time.perf_counter`): `import` of the tool in a bare interpreter (nothing
  but `os`/`sys`/`time` loaded before); `prepare`, not counted in init: getting an empty store ready where the
  tool has such a step — MLflow and Aim start from a copy of a pristine empty store that the tool itself created
  once per suite (MLflow: SQLite with its schema migrated; Aim: an initialised repo), and MLflow then creates the
  experiment — so every run finds an existing store, as a user's second run does; `init()` until the first
  `log()` may be called; the loop only; the tool's finish/end_run/close. *amortised µs/call* = (loop + finish) / N, the cost
  a training loop actually pays when the data must be safely written. *worker wall* runs from the parent's
  spawn to the end of finish.
- **Resources.** At the end of the loop: child processes of the worker (psutil, recursive), their RSS, threads
  started (Python and OS level) and open internet sockets; after finish: peak RSS of the worker
  (`getrusage` ru_maxrss). After the worker exits, any process still in its process group is reported and killed.
- **Read-back.** After finish, the worker reads the run back with the tool's own reader and checks that every
  step 0…N-1 of each of the 4 metrics is present once with the logged value (relative tolerance 1e-6). A
  configuration that drops, duplicates or alters points is flagged INCOMPLETE in the table and excluded from the
  ratios; it is never silently compared. If points are missing right after finish() returned, the worker keeps
  re-reading for up to 10 s: a run whose data all arrives in that time is flagged LATE (finish() returned before
  the data was stored, so its finish time understates the real cost). A LATE or INCOMPLETE jupyter-tracker run is
  excluded from the ratios; a LATE reference run is kept (that can only make the ratio less favourable to
  jupyter-tracker) and noted. Read-back time is reported but not part of any per-call figure.
- **Ratios** are computed per repetition (jupyter-tracker vs wandb-offline, vs orjson-append, same N, same
  repetition) and summarised as median [min–max].
- **Caps.** Some peers cost milliseconds per call here (MLflow on SQLite ~15 ms, Aim ~1 ms), which at
  N = 200,000 would take hours, and wandb offline costs 0.4–0.9 ms per call, so five 200,000-call wandb runs
  alone would take 8–15 minutes. To keep the full suite under 15 minutes these run with a capped N
  ({caps}); every row, ratio and target computed from a capped run says so, and when both requested N
  collapse to the same capped N the run is made once per repetition. Per-call costs of the capped tools are
  flat in N (compare wandb's 20,000 and 50,000 rows). jupyter-tracker and the baselines are never capped
  (`--no-caps` removes all caps, `--cap CONFIG=N` sets one).
- **Warm-up and bytecode.** Before the measured runs, each configuration of the suite's python runs once at
  N = 20 and each peer module is imported once; these runs are discarded. pip-installed packages (all peers)
  ship compiled bytecode, while jupyter-tracker may be imported from a source checkout without it (and this
  machine sets PYTHONDONTWRITEBYTECODE=1), so workers of the suite's python use a private bytecode cache
  (PYTHONPYCACHEPREFIX) that the warm-up fills: every tool is imported from bytecode.
- **Noise.** The machine is small and shared (see above); medians and ranges over repetitions are reported as
  measured, without removing outliers. Nothing is tuned per tool beyond what keeps it local and quiet.
"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("--worker", "--make-template"):
        return worker_main(argv)
    return runner_main(argv)


if __name__ == "__main__":
    sys.exit(main())
