"""``tracker.Api()``: read runs back, in this or any other process.

Local runs are read from their directories (``$TRACKER_DIR`` by default);
everything comes from the events log, so a run that is still being written,
or that crashed, reads as far as it got.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import records, rundir, settings
from .replay import RunLog, replay

__all__ = ["Api", "ApiRun"]


def _frame(rows: list[dict[str, Any]], pandas: bool) -> Any:
    if not pandas:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("history(pandas=True) needs pandas: pip install 'jupyter-tracker[pandas]'") from None
    return pd.DataFrame.from_records(rows)


class ApiRun:
    """A run on disk, read lazily (and again when its events log grows)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._info = rundir.read_info(self.path) or {}
        self._log: RunLog | None = None
        self._log_size = -1

    # -- identity (run.json) ----------------------------------------------------
    def _get(self, key: str, default: Any = None) -> Any:
        return self._info.get(key, default)

    @property
    def id(self) -> str:
        return self._get("id") or self.path.name.rsplit("-", 1)[-1]

    @property
    def name(self) -> str | None:
        return self._get("name")

    @property
    def project(self) -> str | None:
        return self._get("project")

    @property
    def group(self) -> str | None:
        return self._get("group")

    @property
    def job_type(self) -> str | None:
        return self._get("job_type")

    @property
    def tags(self) -> list[str]:
        return list(self._get("tags") or [])

    @property
    def notes(self) -> str | None:
        return self._get("notes")

    @property
    def dir(self) -> str:
        return str(self.path)

    @property
    def info(self) -> dict[str, Any]:
        """Everything ``run.json`` holds (host, python, git, times...)."""
        return dict(self._info)

    @property
    def state(self) -> str:
        """``running``, ``service-stopped``, ``finished``, ``failed`` or ``crashed``.

        A run whose file says it is live, but whose process on this host is
        gone, reads as ``crashed`` (its service may not have had the time to
        say so yet).
        """
        state = self._get("state") or "running"
        if state in rundir.TERMINAL_STATES:
            return state
        if self._get("host") == _hostname() and not rundir.pid_alive(self._get("pid")):
            return "crashed"
        return state

    @property
    def created_at(self) -> float | None:
        return self._get("created_at")

    # -- the events log ---------------------------------------------------------
    def _replayed(self) -> RunLog:
        events = self.path / rundir.EVENTS
        try:
            size = events.stat().st_size
        except OSError:
            size = 0
        if self._log is None or size != self._log_size:
            self._log = replay(events)
            self._log_size = size
            self._info = rundir.read_info(self.path) or self._info
        return self._log

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._replayed().config)

    @property
    def summary(self) -> dict[str, Any]:
        return self._replayed().summary.as_dict()

    @property
    def read_report(self) -> records.ReadReport:
        """How many damaged records the reader skipped (torn tail, corrupt lines)."""
        return self._replayed().report

    def history(self, keys: list[str] | None = None, pandas: bool = False) -> Any:
        """History rows (dicts with ``_step``, ``_timestamp`` and the metrics).

        With ``keys``, only rows in which every one of them was logged, holding
        just those keys. ``pandas=True`` returns a DataFrame.
        """
        rows = self._replayed().rows
        if keys is None:
            out = [dict(row) for row in rows]
        else:
            if isinstance(keys, str):
                keys = [keys]
            wanted = ["_step", "_timestamp", *keys]
            out = [{k: row[k] for k in wanted} for row in rows if all(k in row for k in keys)]
        return _frame(out, pandas)

    def scan_history(self, keys: list[str] | None = None):
        """Iterate over :meth:`history` rows."""
        return iter(self.history(keys=keys))

    def system(self, pandas: bool = False) -> Any:
        """System-metric records written by the service, oldest first."""
        out = []
        for record in records.read_log(self.path / rundir.SYSTEM):
            if record[1] == records.SYSTEM:
                row = {"_timestamp": record[2]}
                row.update(record[3])
                out.append(row)
        return _frame(out, pandas)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The run's ``define_metric`` calls."""
        return list(self._replayed().metrics)

    @property
    def files(self) -> list[str]:
        base = self.path / "files"
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())

    def brief(self) -> dict[str, Any]:
        """Steps and last values without replaying the log when ``summary.json`` has them."""
        snapshot = None
        if self._get("state") in rundir.TERMINAL_STATES:
            try:
                import orjson

                snapshot = orjson.loads((self.path / rundir.SUMMARY_JSON).read_bytes())
            except (OSError, ValueError):
                snapshot = None
        if isinstance(snapshot, dict):
            summary = records.restore_floats(snapshot.get("summary") or {})
            step = snapshot.get("_step")
        else:
            log = self._replayed()
            summary, step = log.summary.as_dict(), log.last_step
        return {"steps": None if step is None else step + 1, "summary": summary}

    def __repr__(self) -> str:
        return f"<ApiRun {self.name!r} id={self.id} project={self.project!r} state={self.state}>"


def _hostname() -> str:
    import socket

    return socket.gethostname()


class Api:
    """Read runs back.

    Parameters
    ----------
    dir
        Folder of local run directories (default ``$TRACKER_DIR`` or ``./tracker``).
    """

    def __init__(self, dir: str | os.PathLike | None = None) -> None:  # noqa: A002
        self.dir = Path(dir) if dir is not None else settings.tracker_dir()

    def runs(self, project: str | None = None, state: str | None = None) -> list[ApiRun]:
        """Runs, newest first, optionally of one project and/or in one state."""
        out = []
        for path in rundir.list_run_dirs(self.dir):
            run = ApiRun(path)
            if project is not None and run.project != project:
                continue
            if state is not None and run.state != state:
                continue
            out.append(run)
        return out

    def run(self, run_id: str) -> ApiRun:
        """The run with this id (``KeyError`` when there is none)."""
        path = rundir.find_by_id(self.dir, run_id)
        if path is None:
            raise KeyError(f"no run with id {run_id!r} under {str(self.dir)!r}")
        return ApiRun(path)

    def projects(self) -> list[str]:
        return sorted({r.project for r in self.runs() if r.project})
