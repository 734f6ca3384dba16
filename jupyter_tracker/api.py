"""``tracker.Api()``: read runs back, in this or any other process.

``Api()`` reads local run directories (``$TRACKER_DIR`` by default): all of it
comes from the events log, so a run still being written, or one that crashed,
reads as far as it got. ``Api(host=...)`` reads the same things from a
tracking server, with the same interface.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from . import records, rundir, settings
from .limits import TERMINAL_STATES
from .replay import RunLog, replay

__all__ = ["Api", "ApiRun", "LocalRun", "RemoteRun"]


def _frame(rows: list[dict[str, Any]], pandas: bool) -> Any:
    if not pandas:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("pandas=True needs pandas: pip install 'jupyter-tracker[pandas]'") from None
    return pd.DataFrame.from_records(rows)


def _select(rows: list[dict[str, Any]], keys: list[str] | str | None) -> list[dict[str, Any]]:
    """Rows holding every one of ``keys`` (just those, with ``_step`` and ``_timestamp``)."""
    if keys is None:
        return [dict(row) for row in rows]
    if isinstance(keys, str):
        keys = [keys]
    wanted = ["_step", "_timestamp", *keys]
    return [{k: row[k] for k in wanted} for row in rows if all(k in row for k in keys)]


class ApiRun(ABC):
    """What every run reader offers; ``LocalRun`` and ``RemoteRun`` fill it in."""

    _info: dict[str, Any]

    def _get(self, key: str, default: Any = None) -> Any:
        return self._info.get(key, default)

    @property
    def id(self) -> str:
        return self._get("id") or ""

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
    def created_at(self) -> float | None:
        return self._get("created_at")

    @property
    def info(self) -> dict[str, Any]:
        """Everything known about the run's identity (host, python, git, times...)."""
        return dict(self._info)

    @property
    def state(self) -> str:
        return self._get("state") or "running"

    # -- data ---------------------------------------------------------------------
    @abstractmethod
    def _rows(self, keys: list[str] | None, samples: int | None) -> list[dict[str, Any]]:
        """History rows in step order (each reader knows where they are)."""

    @abstractmethod
    def system(self, pandas: bool = False) -> Any:
        """System-metric records, oldest first."""

    def history(self, keys: list[str] | str | None = None, pandas: bool = False, samples: int | None = None) -> Any:
        """History rows (dicts with ``_step``, ``_timestamp`` and the metrics).

        With ``keys``, only rows in which every one of them was logged, holding
        just those keys. ``samples=N`` downsamples each metric to about N
        points keeping every bucket's min and max and the endpoints (on a
        server the downsampling runs there). ``pandas=True`` returns a DataFrame.
        """
        if isinstance(keys, str):
            keys = [keys]
        return _frame(_select(self._rows(keys, samples), keys), pandas)

    def scan_history(self, keys: list[str] | None = None):
        """Iterate over :meth:`history` rows."""
        return iter(self.history(keys=keys))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id} project={self.project!r} state={self.state}>"


def _downsample_rows(rows: list[dict[str, Any]], keys: list[str] | None, samples: int) -> list[dict[str, Any]]:
    """Rows kept by min/max decimation of each metric (their union)."""
    import numpy as np

    from .numerics.decimate import minmax

    names = keys or sorted({k for row in rows for k in row if not k.startswith("_")})
    keep: set[int] = set()
    for name in names:
        positions = [i for i, row in enumerate(rows) if name in row]
        if len(positions) <= samples:
            keep.update(positions)
            continue
        index = np.asarray(positions, dtype=np.float64)
        values = np.asarray([float(rows[i][name]) for i in positions], dtype=np.float64)
        picked, _ = minmax(index, values, samples)
        keep.update(int(i) for i in picked if i == i)
    return [rows[i] for i in sorted(keep)]


class LocalRun(ApiRun):
    """A run directory on this machine, read lazily (and again when its log grows)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._info = rundir.read_info(self.path) or {}
        self._log: RunLog | None = None
        self._log_size = -1

    @property
    def id(self) -> str:
        return self._get("id") or self.path.name.rsplit("-", 1)[-1]

    @property
    def dir(self) -> str:
        return str(self.path)

    @property
    def state(self) -> str:
        """``running``, ``service-stopped``, ``finished``, ``failed`` or ``crashed``.

        A run whose file says it is live, but whose process on this host is
        gone, reads as ``crashed`` (its service may not have said so yet).
        """
        state = self._get("state") or "running"
        if state in TERMINAL_STATES:
            return state
        if self._get("host") == _hostname() and not rundir.pid_alive(self._get("pid")):
            return "crashed"
        return state

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

    def _rows(self, keys: list[str] | None, samples: int | None) -> list[dict[str, Any]]:
        rows = self._replayed().rows
        if samples is not None:
            rows = _downsample_rows(rows, keys, samples)
        return rows

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

    @property
    def missing(self) -> dict[str, list[list[int]]]:
        """Records the local logs lost (in corrupt lines), per log, as inclusive
        ``[from_seq, to_seq]`` ranges: what a sync declares missing to the server."""
        system = records.ReadReport()
        for _record in records.read_log(self.path / rundir.SYSTEM, system):
            pass
        return {"events": [list(r) for r in self.read_report.missing_ranges], "system": system.missing_ranges}

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The run's ``define_metric`` calls."""
        return list(self._replayed().metrics)

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
    def files(self) -> list[str]:
        base = self.path / "files"
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())

    def brief(self) -> dict[str, Any]:
        """Steps and last values, without replaying the log when ``summary.json`` has them."""
        snapshot = None
        if self._get("state") in TERMINAL_STATES:
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


class RemoteRun(ApiRun):
    """A run on a tracking server."""

    def __init__(self, client: Any, resource: dict[str, Any]) -> None:
        self._client = client
        self._resource = resource
        info = dict(resource.get("info") or {})
        for key in ("id", "name", "project", "group", "job_type", "tags", "notes", "state", "created_at"):
            if resource.get(key) is not None:
                info[key] = resource[key]
        info.setdefault("id", resource.get("run_id") or resource.get("id"))
        self._info = info

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._resource.get("config") or {})

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self._resource.get("summary") or {})

    @property
    def acknowledged(self) -> dict[str, int]:
        """The server's high-water mark per log (``events``, ``system``)."""
        return dict(self._resource.get("hwm") or {})

    @property
    def missing(self) -> dict[str, list[list[int]]]:
        """Records the server will never have, per log: the holes the uploader declared
        (unreadable in the local log) as inclusive ``[from_seq, to_seq]`` ranges."""
        found = self._resource.get("missing") or {}
        return {log: [list(r) for r in found.get(log) or []] for log in ("events", "system")}

    def _rows(self, keys: list[str] | None, samples: int | None) -> list[dict[str, Any]]:
        columns = self._client.history(self.id, keys=keys, samples=samples)
        rows: dict[int, dict[str, Any]] = {}
        for name, column in columns.items():
            for step, ts, value in zip(column["step"], column.get("timestamp") or column.get("ts") or [], column["value"]):
                row = rows.setdefault(int(step), {"_step": int(step), "_timestamp": ts})
                row[name] = value
                if ts is not None and (row["_timestamp"] is None or ts > row["_timestamp"]):
                    row["_timestamp"] = ts
        return [rows[step] for step in sorted(rows)]

    def system(self, pandas: bool = False) -> Any:
        return _frame(self._client.system(self.id), pandas)

    @property
    def files(self) -> list[str]:
        return sorted(f.get("path", "") for f in self._client.files(self.id))

    def refresh(self) -> RemoteRun:
        self.__init__(self._client, self._client.get_run(self.id))  # type: ignore[misc]
        return self


def _hostname() -> str:
    import socket

    return socket.gethostname()


class Api:
    """Read runs back.

    Parameters
    ----------
    dir
        Folder of local run directories (default ``$TRACKER_DIR`` or ``./tracker``).
    host
        A tracking server's URL: read from it instead (token from ``api_key``,
        ``TRACKER_API_KEY`` or ``tracker login``).
    api_key
        The token for ``host``.
    """

    def __init__(self, dir: str | os.PathLike | None = None, host: str | None = None,  # noqa: A002
                 api_key: str | None = None) -> None:
        self.dir = Path(dir) if dir is not None else settings.tracker_dir()
        self.host = host.rstrip("/") if host else None
        self._client = None
        if self.host:
            from .client import ServerClient

            self._client = ServerClient(self.host, api_key or settings.api_key())

    def runs(self, project: str | None = None, state: str | None = None) -> list[ApiRun]:
        """Runs, newest first, optionally of one project and/or in one state."""
        if self._client is not None:
            resources = self._client.list_runs(project=project, state=state)
            if isinstance(resources, dict):
                resources = resources.get("runs", [])
            return [RemoteRun(self._client, r) for r in resources]
        out: list[ApiRun] = []
        for path in rundir.list_run_dirs(self.dir):
            run = LocalRun(path)
            if project is not None and run.project != project:
                continue
            if state is not None and run.state != state:
                continue
            out.append(run)
        return out

    def run(self, run_id: str) -> ApiRun:
        """The run with this id (``KeyError`` when there is none)."""
        if self._client is not None:
            from .client import Refused

            try:
                return RemoteRun(self._client, self._client.get_run(run_id))
            except Refused as exc:
                if exc.status == 404:
                    raise KeyError(f"no run with id {run_id!r} on {self.host}") from None
                raise
        path = rundir.find_by_id(self.dir, run_id)
        if path is None:
            raise KeyError(f"no run with id {run_id!r} under {str(self.dir)!r}")
        return LocalRun(path)

    def projects(self) -> list[str]:
        return sorted({r.project for r in self.runs() if r.project})
