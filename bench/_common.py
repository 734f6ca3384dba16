"""Helpers shared by the bench scripts (stdlib only).

Every bench script writes one JSON "section" into bench/results/ with at
least these keys, and bench/run_all.py assembles bench/RESULTS.md from them:

    {
      "bench": "log_overhead",          # section id == file stem
      "title": "log() overhead ...",    # heading in RESULTS.md
      "generated": "2026-01-01T12:00:00+00:00",
      "mode": "full" | "quick" | ...,
      "machine": machine_info(),
      "markdown": "... the rendered section body ...",
      ... anything else (raw runs, summaries) ...
    }
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def machine_info() -> dict:
    info = {
        "cpu_model": None,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": None,
        "os": platform.platform(),
        "os_pretty": None,
        "kernel": platform.release(),
        "python_suite": sys.version.split()[0],
        # the machine is often shared: how busy it was (when the section is written)
        "loadavg": tuple(round(v, 2) for v in os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        info["cpu_model"] = platform.processor() or None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                info["os_pretty"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return info


def machine_markdown(m: dict) -> str:
    return (
        f"- CPU: {m.get('cpu_model')} — {m.get('logical_cpus')} logical CPUs "
        f"({m.get('usable_cpus')} usable by the benchmark)\n"
        f"- RAM: {m.get('ram_gib')} GiB\n"
        f"- OS: {m.get('os_pretty') or ''} ({m.get('os')}), kernel {m.get('kernel')}\n"
        + (f"- Load average (1, 5, 15 min) when the results were written: {m['loadavg']}\n" if m.get("loadavg") else "")
    )


def new_section(title: str, quick: bool, params: dict, suite_seconds: float, results: list,
                packages: tuple[str, ...] = ()) -> dict:
    """The keys every section has: title, date, mode, machine, versions, parameters, results."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in packages:
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "title": title,
        "generated": now_iso(),
        "mode": "quick" if quick else "full",
        "machine": machine_info(),
        "python": sys.version.split()[0],
        "versions": versions,
        "params": params,
        "suite_seconds": suite_seconds,
        "results": results,
    }


def publish_section(name: str, section: dict, tables: list[tuple[list[str], list[list]]]) -> Path:
    """Print the tables and the verdicts, write the JSON section, and rebuild RESULTS.md
    unless ``BENCH_NO_RESULTS_MD=1`` (run_all assembles it once at the end)."""
    for headers, rows in tables:
        print()
        print(text_table(headers, rows))
    print()
    for line in section.get("verdicts", []):
        print(line)
    path = write_section(name, section)
    print(f"written {path}")
    if os.environ.get("BENCH_NO_RESULTS_MD") != "1":
        from run_all import assemble_results_md

        print(f"regenerated {assemble_results_md()}")
    return path


def write_section(name: str, section: dict, keep_history: bool = True) -> Path:
    """Write results/<name>.json (the latest, read by run_all) and a timestamped copy."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    section = dict(section)
    section.setdefault("bench", name)
    text = json.dumps(section, indent=1, sort_keys=False, default=str)
    latest = RESULTS_DIR / f"{name}.json"
    latest.write_text(text)
    if keep_history:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        (RESULTS_DIR / f"{name}-{stamp}.json").write_text(text)
    return latest


def describe(values: list[float]) -> dict | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt_num(v, digits: int = 3, max_decimals: int = 3) -> str:
    """`digits` significant figures, at most `max_decimals` decimals; tiny values show as "≈0"."""
    if v is None:
        return "–"
    if v == 0:
        return "0"
    a = abs(v)
    if a < 0.5 * 10 ** -max_decimals:
        return "≈0"
    if a >= 10 ** digits:
        return f"{v:,.0f}"
    from math import floor, log10

    decimals = min(max_decimals, max(0, digits - 1 - int(floor(log10(a)))))
    return f"{v:,.{decimals}f}"


def fmt_stat(d: dict | None, digits: int = 3, scale: float = 1.0) -> str:
    if not d:
        return "–"
    med, lo, hi = d["median"] * scale, d["min"] * scale, d["max"] * scale
    if d.get("n", 1) == 1:
        return fmt_num(med, digits)
    return f"{fmt_num(med, digits)} [{fmt_num(lo, digits)}–{fmt_num(hi, digits)}]"


def md_table(headers: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out) + "\n"


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(str(c)))
    last = len(headers) - 1

    def cell(i, c):
        return str(c).ljust(widths[i]) if i in (0, last) else str(c).rjust(widths[i])

    line = "  ".join(cell(i, h) for i, h in enumerate(headers)).rstrip()
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(cell(i, c) for i, c in enumerate(r)).rstrip())
    return "\n".join(out)


def default_peers_python() -> str:
    """The peers venv's python: ``$PEERS_PYTHON``, ``$PEERS_VENV/bin/python``, else
    ``.venv-peers/bin/python`` at the repository root (the first that exists)."""
    cands = []
    if os.environ.get("PEERS_PYTHON"):
        cands.append(os.environ["PEERS_PYTHON"])
    if os.environ.get("PEERS_VENV"):
        cands.append(os.path.join(os.environ["PEERS_VENV"], "bin", "python"))
    cands += [os.path.join(os.path.dirname(BENCH_DIR), ".venv-peers", "bin", "python")]
    for c in cands:
        if os.path.exists(c):
            return c
    return cands[0]
