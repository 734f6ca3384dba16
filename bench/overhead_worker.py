"""The worker of bench/log_overhead.py: one (configuration, N, repetition) in a fresh process.

Started as ``python bench/log_overhead.py --worker CONFIG --n N --out RESULT.json
--workdir DIR ...``. It times ``import`` of the tool from a bare interpreter, so
nothing but os/sys/time is imported at module level here either.
"""

import os
import sys
import time

from log_overhead import BENCH_DIR, expected_point, timed_loop

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

        # CPU of the threads other than this one (a tracker's writer thread) over loop and finish
        cpu0, main_cpu0 = time.process_time(), time.thread_time()
        loop_s = timed_loop(log, n)
        res["loop_s"] = loop_s
        cpu_loop, main_cpu_loop = time.process_time(), time.thread_time()

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
        cpu1, main_cpu1 = time.process_time(), time.thread_time()
        ad.finish()
        res["finish_s"] = perf() - t0
        t_done = time.time()
        cpu2, main_cpu2 = time.process_time(), time.thread_time()
        # other threads' CPU: during the loop, and during finish (the snapshot between them is ours)
        res["other_cpu_s"] = ((cpu_loop - cpu0) - (main_cpu_loop - main_cpu0)) + ((cpu2 - cpu1) - (main_cpu2 - main_cpu1))
        res["main_cpu_s"] = (main_cpu_loop - main_cpu0) + (main_cpu2 - main_cpu1)

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
