"""The run directories this Jupyter server sees, answered in the tracking server's shapes.

An index keeps each run's resource with a *stamp* of its files (size and
mtime of ``run.json``, ``events.log`` and ``sync.json``). A listing stats
those files and rebuilds only the resources whose stamp changed (through the
run's read cache, :mod:`jupyter_tracker.columns`), so refreshing a sidebar of
1,000 runs costs a few thousand ``stat`` calls and the filter, not a read of
every run. The index is also kept in Jupyter's data folder
(``jupyter_tracker/lab-index-<hash of the folder>.json``, never in the run
folders), so a new Jupyter server lists runs it has seen before as fast; an
entry counts only while its stamp matches the files. Which runs and in which order is the query layer's
(:mod:`jupyter_tracker.query`), exactly as ``tracker.Api().runs`` and the
tracking server evaluate it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .. import query as q
from .. import rundir
from ..api import LocalRun, Runs
from ..limits import LIVE_STATES
from ..records import jsonable, restore_floats
from .lines import smoothed_columns
from .runfiles import list_files, open_file
from .sources import BadInput, ListQuery, NotFound, Source

__all__ = ["LocalSource", "stamp_of", "index_path", "INDEX_VERSION"]

_STAMPED = (rundir.RUN_JSON, rundir.EVENTS, rundir.SYNC_JSON)
#: The format of the saved index; another version is ignored (and rewritten).
INDEX_VERSION = 1
#: Seconds between two writes of a saved index that changed.
_SAVE_EVERY = 5.0
#: Runs whose chart lines are kept in memory (the newest asked for).
_KEPT_LINES = 64


def stamp_of(path: Path) -> list:
    """What changes when the run changes: [mtime_ns, size] of its run.json, events.log and sync.json."""
    out: list = []
    folder = os.fspath(path)
    for name in _STAMPED:
        try:
            st = os.stat(f"{folder}/{name}")
        except OSError:
            out.append(None)
        else:
            out.append([st.st_mtime_ns, st.st_size])
    return out


def index_path(base: Path) -> Path:
    """Where the index of the runs under ``base`` is kept between Jupyter servers."""
    from jupyter_core.paths import jupyter_data_dir

    digest = hashlib.sha256(os.fspath(Path(base).resolve()).encode()).hexdigest()[:16]
    return Path(jupyter_data_dir()) / "jupyter_tracker" / f"lab-index-{digest}.json"


@dataclass
class _Entry:
    path: Path
    stamp: list
    resource: dict[str, Any]
    base: Path
    #: the notebook file and the process that record the run (for the status bar)
    who: list
    _run: LocalRun | None = None
    #: the resource as JSON, and the state it was encoded with
    _encoded: tuple[str, bytes] | None = None

    def encoded(self) -> bytes:
        """The resource's JSON (encoded again only when it changed)."""
        if self._encoded is None or self._encoded[0] != self.resource["state"]:
            self._encoded = (self.resource["state"], orjson.dumps(jsonable(self.resource)))
        return self._encoded[1]

    @property
    def run(self) -> LocalRun:
        """The run's reader (made when first needed: a saved index entry has none)."""
        if self._run is None:
            self._run = LocalRun(self.path)
        return self._run


def _sync_status(path: Path, info: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
    """The upload state the sidebar shows: sync.json's status and message (``data``),
    ``offline`` when the run was never meant to be uploaded, ``None`` when nothing is known."""
    if data:
        return {"status": data.get("status"), "message": data.get("message")}
    if info.get("mode") == "offline" or path.name.startswith("offline-"):
        return {"status": "offline", "message": None}
    return None


def _resource(run: LocalRun, stamp: list, full: bool) -> dict[str, Any]:
    """A local run as the tracking server's run resource (docs/api.md), with ``sync``,
    ``rev`` and ``dir``; ``full`` adds ``info``, ``metrics``, ``missing`` and the read report."""
    info = run.info
    brief = run.brief()
    steps = brief["steps"]
    sync = rundir.read_sync(run.path) if stamp[2] is not None else {}
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

    def __init__(self, dirs: Callable[[], list[Path]], keep_index: bool = True) -> None:
        self._dirs = dirs
        self._entries: dict[Path, _Entry] = {}
        self._by_id: dict[str, _Entry] = {}
        self._lock = threading.RLock()  # one reader at a time: the runs' read caches are not thread-safe
        self._keep = keep_index
        self._saved: dict[Path, dict[str, Any]] = {}  # base -> {run folder name: {"stamp", "resource"}}
        self._dirty: set[Path] = set()
        self._saved_at = 0.0
        self._scanned_at = -1e9
        self._of: dict[int, _Entry] = {}
        self._lines: OrderedDict[tuple, dict[str, dict[str, Any]]] = OrderedDict()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dirs": [str(d) for d in self._dirs()]}

    # -- the index ------------------------------------------------------------------
    def scan(self, max_age: float = 0.0) -> list[dict[str, Any]]:
        """Every run's list resource, newest first; only changed runs are read again.
        ``max_age``: a scan that recent is good enough (no new look at the files)."""
        with self._lock:
            if max_age and time.monotonic() - self._scanned_at <= max_age:
                return [entry.resource for entry in self._entries.values()]
            self._scanned_at = time.monotonic()
            entries: dict[Path, _Entry] = {}
            for base in self._dirs():
                saved = self._load(base)
                for path in rundir.list_run_dirs(base):
                    if path in entries:
                        continue
                    stamp = stamp_of(path)
                    entry = self._entries.get(path)
                    if entry is None and saved.get(path.name, {}).get("stamp") == stamp:
                        kept = saved[path.name]
                        entry = _Entry(path, stamp, kept["resource"], base, kept.get("who") or [None, None])
                    if entry is None or entry.stamp != stamp:
                        run = entry.run.refresh() if entry is not None else LocalRun(path)
                        info = run.info
                        entry = _Entry(path, stamp, _resource(run, stamp, full=False), base,
                                       [info.get("notebook"), info.get("pid")], run)
                        self._dirty.add(base)
                    elif entry.resource["state"] in LIVE_STATES:
                        entry.resource["state"] = entry.run.state  # its process may have died since
                    entries[path] = entry
            removed = {entry.base for path, entry in self._entries.items() if path not in entries}
            self._dirty |= removed
            self._entries = entries
            self._of = {id(entry.resource): entry for entry in entries.values()}
            self._by_id = {}
            for entry in entries.values():
                self._by_id.setdefault(entry.resource["id"], entry)
            self._save()
            return [entry.resource for entry in entries.values()]

    def _load(self, base: Path) -> dict[str, Any]:
        """The saved index of ``base`` (read once per process), ``{}`` when there is none."""
        if base in self._saved:
            return self._saved[base]
        found: dict[str, Any] = {}
        if self._keep:
            try:
                data = index_path(base).read_bytes()
                value = orjson.loads(data)
                if b'"$float"' in data:
                    value = restore_floats(value)
                if isinstance(value, dict) and value.get("version") == INDEX_VERSION and isinstance(value.get("runs"), dict):
                    found = value["runs"]
            except (OSError, ValueError):
                found = {}
        self._saved[base] = found
        return found

    def _save(self) -> None:
        """Write the index of each folder whose runs changed (at most every few seconds)."""
        if not self._keep or not self._dirty or time.monotonic() - self._saved_at < _SAVE_EVERY:
            return
        for base in self._dirty:
            runs = {entry.path.name: {"stamp": entry.stamp, "resource": entry.resource, "who": entry.who}
                    for entry in self._entries.values() if entry.base == base}
            self._saved[base] = runs
            try:
                target = index_path(base)
                target.parent.mkdir(parents=True, exist_ok=True)
                rundir.write_atomic(target, orjson.dumps(jsonable({"version": INDEX_VERSION, "dir": os.fspath(base),
                                                                   "runs": runs})))
            except (OSError, TypeError, ValueError):
                pass  # a speed-up only
        self._dirty = set()
        self._saved_at = time.monotonic()

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

    def runs_json(self, query: ListQuery) -> tuple[bytes, list[str]]:
        with self._lock:
            found, notes = self.runs(query)
            return b"[" + b",".join(self._of[id(r)].encoded() for r in found) + b"]", notes

    def status(self, notebook: str | None, pid: int | None) -> dict[str, Any]:
        """``{"run", "live"}``: the newest run the kernel ``pid`` records now, else the newest run
        of the notebook file ``notebook``; and how many runs are live."""
        with self._lock:
            return self._status(notebook, pid)

    def _status(self, notebook: str | None, pid: int | None) -> dict[str, Any]:
        resources = self.scan(max_age=1.5)
        live = sum(1 for r in resources if r["state"] in LIVE_STATES)
        wanted = os.path.realpath(notebook) if notebook else None
        best: tuple[int, float] | None = None
        found = None
        for entry in list(self._entries.values()):
            run_notebook, run_pid = entry.who
            if pid and run_pid == pid and entry.resource["state"] in LIVE_STATES:
                rank = 2
            elif wanted and isinstance(run_notebook, str) and os.path.realpath(run_notebook) == wanted:
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
        with self._lock:
            entry = self._find(run_id)
            return _resource(entry.run.refresh(), stamp_of(entry.path), full=True)

    def columns(self, run_ids: list[str], keys: list[str] | None, samples: int,
                min_step: int | None, max_step: int | None,
                smoothing: tuple[str, float] | None) -> dict[str, dict[str, dict[str, Any]]]:
        """Each run's lines, kept (a few dozen runs) until the run's files change: a compare
        view refreshing while one of its runs records reads that run again, not the others."""
        question = (tuple(keys) if keys is not None else None, samples, min_step, max_step, smoothing)
        with self._lock:
            out: dict[str, dict[str, dict[str, Any]]] = {}
            todo: dict[str, tuple] = {}
            for run_id in dict.fromkeys(run_ids):
                entry = self._find(run_id)
                key = (entry.path, repr(stamp_of(entry.path)), question)
                if key in self._lines:
                    self._lines.move_to_end(key)
                    out[run_id] = self._lines[key]
                else:
                    todo[run_id] = key
            if todo:
                runs = Runs(self._find(run_id).run for run_id in todo)
                runs.columns([])  # builds the read caches a run lacks (one process per CPU), reads nothing

                def lines(run: LocalRun) -> dict[str, dict[str, Any]]:
                    if smoothing is None:
                        return run.columns(keys, samples, min_step, max_step)
                    return smoothed_columns({run.id: run.columns(keys, None, min_step, max_step)}, samples,
                                            smoothing)[run.id]

                # numpy lets go of the GIL while it reads and smooths: a thread per CPU
                with ThreadPoolExecutor(max_workers=max(1, min(len(runs), os.cpu_count() or 1, 4))) as pool:
                    found = dict(zip(todo, pool.map(lines, runs)))
                for run_id, key in todo.items():
                    out[run_id] = self._lines[key] = found[run_id]
                while len(self._lines) > _KEPT_LINES:
                    self._lines.popitem(last=False)
            return {run_id: out[run_id] for run_id in dict.fromkeys(run_ids)}

    def system(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return self._find(run_id).run.system()

    def files(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            path = self._find(run_id).path
        return list_files(path)

    def open_file(self, run_id: str, path: str) -> tuple[int, Iterator[bytes]]:
        with self._lock:
            folder = self._find(run_id).path
        return open_file(folder, path)
