"""Summaries and rendering of bench/log_overhead.py's results (text and markdown)."""


from log_overhead import OURS, RATIO_REFS

TARGETS = {
    "us_per_call": 2.0,
    "vs_orjson": 2.0,
    "vs_wandb": 50.0,
    "import_ms": 150.0,
    "init_ms": 300.0,
    "rss_growth_mb": 10.0,
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
    ("main_cpu_s", "training thread CPU ms", 1000.0),
    ("other_cpu_s", "other threads CPU ms", 1000.0),
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
    by_n = {r["n_run"]: r["stats"]["peak_rss_mb"] for r in ours_rows if r.get("ok_runs") and r["stats"].get("peak_rss_mb")}
    if 20_000 in by_n and 200_000 in by_n:
        lo, hi = by_n[20_000], by_n[200_000]
        growth = {"median": hi["median"] - lo["median"], "min": hi["min"] - lo["max"], "max": hi["max"] - lo["min"],
                  "n": min(hi["n"], lo["n"])}
        out.append({"target": "peak RSS growth from N=20,000 to N=200,000 ≤ 10 MB (medians; range: extremes)",
                    "figure": growth, "unit": "MB", "met": growth["median"] <= TARGETS["rss_growth_mb"],
                    "worst_ok": growth["max"] <= TARGETS["rss_growth_mb"]})
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
            fmt_stat(s["main_cpu_s"], scale=1000),
            fmt_stat(s["other_cpu_s"], scale=1000),
            fmt_stat(s["prepare_s"], scale=1000),
            fmt_stat(r["readback"].get("readback_s")),
        ])
    return rows


TIMING_HEADERS = ["config", "N", "loop µs/call", "finish ms", "amortised µs/call", "worker wall s", "import ms", "init ms", "data read back"]
RESOURCE_HEADERS = ["config", "N", "peak RSS MB", "children RSS MB", "+procs", "+py threads", "+OS threads",
                    "training thread CPU ms", "other threads CPU ms (writer)", "prepare ms", "read-back s"]


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
