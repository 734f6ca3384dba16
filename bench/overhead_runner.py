"""The runner of bench/log_overhead.py: starts one fresh worker per (configuration, N,
repetition), interleaved, then summarises and writes the section and RESULTS.md."""

import os
import sys
import time

from log_overhead import BENCH_DIR, OURS, PYCACHE_DIR, SECTION, THIS_FILE
from overhead_report import render_markdown, render_text, summarise

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
