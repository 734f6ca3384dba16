"""The run directories this Jupyter server sees, answered in the tracking server's shapes.

An index keeps each run's resource with a *stamp* of its files (size and
mtime of ``run.json``, ``events.log`` and ``sync.json``). A listing stats
those files and rebuilds only the resources whose stamp changed (through the
run's read cache, :mod:`jupyter_tracker.columns`), so refreshing a sidebar of
1,000 runs costs a few thousand ``stat`` calls and the filter, not a read of
every run. Which runs and in which order is the query layer's
(:mod:`jupyter_tracker.query`), exactly as ``tracker.Api().runs`` and the
tracking server evaluate it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import query as q
from .. import rundir
from ..api import LocalRun, Runs
from ..limits import LIVE_STATES
from .lines import smoothed_columns
from .runfiles import list_files, open_file
from .sources import BadInput, ListQuery, NotFound, Source

__all__ = ["LocalSource", "stamp_of"]

_STAMPED = (rundir.RUN_JSON, rundir.EVENTS, rundir.SYNC_JSON)


def stamp_of(path: Path) -> tuple:
    """What changes when the run changes: (mtime_ns, size) of its run.json, events.log and sync.json."""
    out = []
    for name in _STAMPED:
        try:
            st = os.stat(path / name)
        except OSError:
            out.append(None)
        else:
            out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)


@dataclass
class _Entry:
    path: Path
    run: LocalRun
    stamp: tuple
    resource: dict[str, Any]


def _sync_status(path: Path, info: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
    """The upload state the sidebar shows: sync.json's status and message (``data``),
    ``offline`` when the run was never meant to be uploaded, ``None`` when nothing is known."""
    if data:
        return {"status": data.get("status"), "message": data.get("message")}
    if info.get("mode") == "offline" or path.name.startswith("offline-"):
        return {"status": "offline", "message": None}
    return None


def _resource(run: LocalRun, stamp: tuple, full: bool) -> dict[str, Any]:
    """A local run as the tracking server's run resource (docs/api.md), with ``sync``,
    ``rev`` and ``dir``; ``full`` adds ``info``, ``metrics``, ``missing`` and the read report."""
    info = run.info
    brief = run.brief()
    steps = brief["steps"]
    sync = rundir.read_sync(run.path)
    events = stamp[1]
    out: dict[str, Any] = {
        "id": run.id,
        "project": run.project,
        "name": run.name,
        "group": run.group,
        "job_type": run.job_type,
        "tags": run.tags,
        "notes": run.notes,
        "state": run.state,
        "exit_code": info.get("exit_code"),
        "created_at": run.created_at,
        "updated_at": info.get("updated_at"),
        "heartbeat_at": events[0] / 1e9 if events else None,
        "last_step": None if steps is None else steps - 1,
        # what a tracking server acknowledged of each log (sync.json), 0 when never uploaded
        "hwm": {log: int((sync.get(log) or {}).get("acked") or 0) for log in ("events", "system")},
        "summary": brief["summary"],
        "config": run.config,
        "sync": _sync_status(run.path, info, sync),
        "rev": hashlib.blake2b(repr(stamp).encode(), digest_size=8).hexdigest(),
        "dir": run.path.name,
    }
    if full:
        report = run.read_report
        missing = run.missing
        out["info"] = info
        out["metrics"] = run.metrics
        out["missing"] = missing
        out["missing_records"] = {log: sum(hi - lo + 1 for lo, hi in ranges) for log, ranges in missing.items()}
        out["read_report"] = {"records": report.records, "corrupt": report.corrupt, "missing": report.missing,
                              "torn_tail": report.torn_tail, "problems": list(report.problems[:20])}
    return out


def _fields(resource: dict[str, Any]) -> q.Source:
    """The query layer's view of a resource (``summary``, ``display_name`` ...)."""
    def field(name: str) -> Any:
        if name == "display_name":
            return resource.get("name")
        return resource.get(name)

    return field


def _identity(resource: dict[str, Any]) -> tuple[float | None, str]:
    return resource.get("created_at"), resource.get("id") or ""


class LocalSource(Source):
    """Every run directory in the folders ``dirs()`` names (evaluated at each listing)."""

    id = "local"
    label = "Local runs"

    def __init__(self, dirs: Callable[[], list[Path]]) -> None:
        self._dirs = dirs
        self._entries: dict[Path, _Entry] = {}
        self._by_id: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dirs": [str(d) for d in self._dirs()]}

    # -- the index ------------------------------------------------------------------
    def scan(self) -> list[dict[str, Any]]:
        """Every run's list resource, newest first; only changed runs are read again."""
        with self._lock:
            entries: dict[Path, _Entry] = {}
            for base in self._dirs():
                for path in rundir.list_run_dirs(base):
                    if path in entries:
                        continue
                    stamp = stamp_of(path)
                    entry = self._entries.get(path)
                    if entry is None or entry.stamp != stamp:
                        run = entry.run.refresh() if entry is not None else LocalRun(path)
                        entry = _Entry(path, run, stamp, _resource(run, stamp, full=False))
                    elif entry.resource["state"] in LIVE_STATES:
                        entry.resource["state"] = entry.run.state  # its process may have died since
                    entries[path] = entry
            self._entries = entries
            self._by_id = {}
            for entry in entries.values():
                self._by_id.setdefault(entry.resource["id"], entry)
            return [entry.resource for entry in entries.values()]

    def _find(self, run_id: str) -> _Entry:
        entry = self._by_id.get(run_id)
        if entry is None or not entry.path.is_dir():
            self.scan()
            entry = self._by_id.get(run_id)
        if entry is None:
            raise NotFound(f"no run {run_id!r}")
        return entry

    # -- the API ----------------------------------------------------------------------
    def runs(self, query: ListQuery) -> tuple[list[dict[str, Any]], list[str]]:
        try:
            parsed = q.build_query(query.filters, query.order, project=query.project, state=query.state)
        except (TypeError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        everything = self.scan()
        found = [r for r in everything if q.matches(parsed.where, _fields(r))]
        found = q.sort_runs(found, parsed.order, _fields, _identity)
        notes: list[str] = []
        scope = [r for r in everything if query.project is None or r.get("project") == query.project]
        if not scope:
            notes.append(f"no runs in project {query.project!r}" if query.project is not None else "no runs")
        else:
            fields = parsed.fields() if not found else [f for f in parsed.fields() if f == parsed.order.field]
            notes += q.missing_key_notes(fields, lambda fld: any(q.present(fld, _fields(r)) for r in scope),
                                         query.project)
        return found[query.offset: query.offset + query.limit], notes

    def status(self, notebook: str | None, pid: int | None) -> dict[str, Any]:
        """``{"run", "live"}``: the newest run the kernel ``pid`` records now, else the newest run
        of the notebook file ``notebook``; and how many runs are live."""
        resources = self.scan()
        live = sum(1 for r in resources if r["state"] in LIVE_STATES)
        wanted = os.path.realpath(notebook) if notebook else None
        best: tuple[int, float] | None = None
        found = None
        for entry in self._entries.values():
            info = entry.run.info
            if pid and info.get("pid") == pid and entry.resource["state"] in LIVE_STATES:
                rank = 2
            elif wanted and isinstance(info.get("notebook"), str) and os.path.realpath(info["notebook"]) == wanted:
                rank = 1
            else:
                continue
            key = (rank, entry.resource.get("created_at") or 0.0)
            if best is None or key > best:
                best, found = key, entry.resource
        return {"run": found, "live": live}

    def projects(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for resource in self.scan():
            name = resource.get("project") or "uncategorized"
            counts[name] = counts.get(name, 0) + 1
        return [{"name": name, "runs": counts[name]} for name in sorted(counts)]

    def run(self, run_id: str) -> dict[str, Any]:
        entry = self._find(run_id)
        return _resource(entry.run.refresh(), stamp_of(entry.path), full=True)

    def columns(self, run_ids: list[str], keys: list[str] | None, samples: int,
                min_step: int | None, max_step: int | None,
                smoothing: tuple[str, float] | None) -> dict[str, dict[str, dict[str, Any]]]:
        runs = Runs(self._find(run_id).run for run_id in dict.fromkeys(run_ids))
        if smoothing is None:
            return runs.columns(keys, samples, min_step, max_step)
        return smoothed_columns(runs.columns(keys, None, min_step, max_step), samples, smoothing)

    def system(self, run_id: str) -> list[dict[str, Any]]:
        return self._find(run_id).run.system()

    def files(self, run_id: str) -> list[dict[str, Any]]:
        return list_files(self._find(run_id).path)

    def open_file(self, run_id: str, path: str) -> tuple[int, Iterator[bytes]]:
        return open_file(self._find(run_id).path, path)
