"""``tracker.Api()``: read runs back, in this or any other process.

``Api()`` reads local run directories (``$TRACKER_DIR`` by default): all of it
comes from the events log, through a read cache in each run directory
(:mod:`jupyter_tracker.columns`), so a run still being written, or one that
crashed, reads as far as it got. ``Api(host=...)`` reads the same things from
a tracking server, with the same interface; its filters run on the server.
Which runs and in which order is the query layer's (:mod:`jupyter_tracker.query`).
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import query as q
from . import records, rundir, settings
from .limits import TERMINAL_STATES

__all__ = ["Api", "ApiRun", "LocalRun", "RemoteRun", "Runs"]

#: Runs per request to a server (its largest page).
SERVER_PAGE = 1000


def _frame(rows: list[dict[str, Any]], pandas: bool) -> Any:
    if not pandas:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("pandas=True needs pandas: pip install 'jupyter-tracker[pandas]'") from None
    return pd.DataFrame.from_records(rows)


def _keys(keys: Sequence[str] | str | None) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return [keys]
    keys = list(keys)
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"keys must be metric names (strings), got {key!r}")
    return keys


def _select(rows: list[dict[str, Any]], keys: list[str] | None) -> list[dict[str, Any]]:
    """Rows holding every one of ``keys`` (just those, with ``_step`` and ``_timestamp``)."""
    if keys is None:
        return [dict(row) for row in rows]
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

    @property
    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The run's config."""

    @property
    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """The run's summary (each metric's last value unless a rule or a manual value says otherwise)."""

    def _field(self, name: str) -> Any:
        """A field as the query layer names it (``config``, ``summary``, ``display_name`` ...)."""
        if name == "config":
            return self.config
        if name == "summary":
            return self.summary
        if name == "display_name":
            return self.name
        if name in ("id", "state", "tags"):
            return getattr(self, name)
        return self._get(name)

    # -- data ---------------------------------------------------------------------
    @abstractmethod
    def columns(self, keys: Sequence[str] | str | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict[str, dict[str, Any]]:
        """Each metric's points as numpy arrays: ``{metric: {"step": int64, "timestamp":
        float64, "value": float64}}``, the shape of the server's history (docs/api.md).

        ``keys`` (default: every metric, by name; a metric without points gets
        empty arrays), an inclusive step range, and ``samples=N``: at most about N
        points per metric, keeping each bucket's min and max and both ends (every
        point returned is a real point, NaN and infinities included).
        """

    @abstractmethod
    def _rows(self, keys: list[str] | None, samples: int | None) -> list[dict[str, Any]]:
        """History rows in step order (each reader knows where they are)."""

    @abstractmethod
    def system(self, pandas: bool = False) -> Any:
        """System-metric records, oldest first."""

    def history(self, keys: Sequence[str] | str | None = None, pandas: bool = False, samples: int | None = None) -> Any:
        """History rows (dicts with ``_step``, ``_timestamp`` and the metrics).

        With ``keys``, only rows in which every one of them was logged, holding
        just those keys. ``samples=N`` downsamples each metric to about N
        points keeping every bucket's min and max and the endpoints (on a
        server the downsampling runs there) and returns the rows they fall in.
        ``pandas=True`` returns a DataFrame.
        """
        keys = _keys(keys)
        return _frame(_select(self._rows(keys, samples), keys), pandas)

    def scan_history(self, keys: Sequence[str] | str | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None) -> Iterator[dict[str, Any]]:
        """Every history row (with ``keys``, the rows holding all of them), read a page at a time."""
        keys = _keys(keys)
        for row in _select(self._rows(keys, None), keys):
            if (min_step is None or row["_step"] >= min_step) and (max_step is None or row["_step"] <= max_step):
                yield row

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id} project={self.project!r} state={self.state}>"


class LocalRun(ApiRun):
    """A run directory on this machine, read lazily (and again when its log grows)."""

    def __init__(self, path: str | os.PathLike) -> None:
        from .columns import RunCache

        self.path = Path(path)
        self._info = rundir.read_info(self.path) or {}
        self._cache = RunCache(self.path)
        self._seen: Any = None
        self._final_read = False
        self._final_data: dict[str, Any] | None = None

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

    def _snapshot(self) -> Any:
        log = self._cache.snapshot()
        if log is not self._seen:
            if self._seen is not None:  # the log changed since: run.json may have too
                self._info = rundir.read_info(self.path) or self._info
                self._final_read = False
            self._seen = log
        return log

    def _final(self) -> dict[str, Any] | None:
        """A finished run's ``summary.json`` while it describes the whole log: its
        summary, config and steps without replaying the log (``None``: replay)."""
        if not self._final_read:
            self._final_read = True
            state = self._get("state")
            self._final_data = rundir.read_final(self.path) if state in TERMINAL_STATES else None
        return self._final_data

    def refresh(self) -> LocalRun:
        """Read ``run.json`` and the log again now (a live run's state, name, summary)."""
        self._info = rundir.read_info(self.path) or self._info
        self._final_read = False
        if self._final() is None:
            self._seen = self._cache.snapshot()
        return self

    def _field(self, name: str) -> Any:
        if name in ("config", "summary"):
            final = self._final()
            if final is not None:
                return final[name]
            log = self._snapshot()
            return log.config if name == "config" else log.summary.as_dict()
        return super()._field(name)

    def columns(self, keys: Sequence[str] | str | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict[str, dict[str, Any]]:
        keys = _keys(keys)
        return self._cache.history(keys).columns(keys, samples, min_step, max_step)

    def _rows(self, keys: list[str] | None, samples: int | None) -> list[dict[str, Any]]:
        return self._cache.history(keys).rows(keys, samples)

    def history(self, keys: Sequence[str] | str | None = None, pandas: bool = False, samples: int | None = None) -> Any:
        keys = _keys(keys)
        return _frame(self._rows(keys, samples), pandas)

    def scan_history(self, keys: Sequence[str] | str | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None) -> Iterator[dict[str, Any]]:
        keys = _keys(keys)
        return self._cache.history(keys).iter_rows(keys, page_size, min_step, max_step)

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._field("config"))

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self._field("summary"))

    @property
    def read_report(self) -> records.ReadReport:
        """How many damaged records the reader skipped (torn tail, corrupt lines)."""
        report = self._snapshot().report
        return dataclasses.replace(report, missing_ranges=[list(r) for r in report.missing_ranges],
                                   problems=list(report.problems))

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
        return list(self._snapshot().metrics)

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
        """Steps and last values (from ``summary.json`` for a finished run, else the read cache)."""
        final = self._final()
        if final is not None:
            step = final.get("_step")
            return {"steps": step + 1 if isinstance(step, int) else None, "summary": dict(final["summary"])}
        log = self._snapshot()
        return {"steps": None if log.last_step is None else log.last_step + 1, "summary": log.summary.as_dict()}


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

    def columns(self, keys: Sequence[str] | str | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict[str, dict[str, Any]]:
        import numpy as np

        answer = self._client.history(self.id, keys=_keys(keys), samples=samples, min_step=min_step, max_step=max_step)
        return {
            name: {
                "step": np.asarray(column.get("step") or [], dtype=np.int64),
                "timestamp": np.asarray(column.get("timestamp") or [], dtype=np.float64),
                "value": np.asarray(column.get("value") or [], dtype=np.float64),
            }
            for name, column in answer.items()
        }

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

    def brief(self) -> dict[str, Any]:
        """Steps and last values, as the server has them."""
        step = self._resource.get("last_step")
        return {"steps": None if step is None else step + 1, "summary": self.summary}

    def refresh(self) -> RemoteRun:
        self.__init__(self._client, self._client.get_run(self.id))  # type: ignore[misc]
        return self


class Runs(list):
    """The runs :meth:`Api.runs` found, in order: a list, with what a caller may show.

    Attributes
    ----------
    notes
        Why the list may be empty or not sorted as asked: ``"no runs in project
        'x'"``, ``"no run of project 'x' has config key 'lr2'"``.
    query
        The parsed filter and order (:class:`jupyter_tracker.query.Query`).
    """

    def __init__(self, runs: Iterable[ApiRun] = (), notes: Iterable[str] = (), query: q.Query | None = None) -> None:
        super().__init__(runs)
        self.notes = list(notes)
        self.query = query if query is not None else q.Query()

    def columns(self, keys: Sequence[str] | str | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """``{run.id: run.columns(...)}`` for every run (the data of a compare view).

        Local runs whose read cache must be built first (never read, or grown a
        lot) are built in parallel, one process per CPU.
        """
        from .columns import build_many

        cold = [run.path for run in self if isinstance(run, LocalRun) and not run._cache.fresh()]
        if len(cold) > 1:
            build_many(cold)
        return {run.id: run.columns(keys, samples, min_step, max_step) for run in self}

    def group_by(self, key: str) -> dict[Any, list[ApiRun]]:
        """``{value: [runs...]}`` by a config key (``"lr"`` or ``"config.lr"``), ``"group"``,
        ``"job_type"`` or another run field; runs without it are under ``None``."""
        return q.group_runs(self, key, _source)

    def __repr__(self) -> str:
        notes = f", notes={self.notes!r}" if self.notes else ""
        return f"Runs({list.__repr__(self)}{notes})"


def _source(run: ApiRun) -> q.Source:
    return run._field


def _identity(run: ApiRun) -> tuple[float | None, str]:
    return run.created_at, run.id


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _project_of(path_or_project: str | None, project: str | None) -> str | None:
    """The project of wandb's ``"entity/project"`` (the entity means nothing here) or a name."""
    if path_or_project is None:
        return project
    if not isinstance(path_or_project, str):
        raise TypeError(f"runs() takes a project name or 'entity/project', got {path_or_project!r}")
    parts = path_or_project.strip("/").split("/")
    if len(parts) > 2 or not parts[-1]:
        raise ValueError(f"runs() takes a project name or 'entity/project', got {path_or_project!r} "
                         "(one run: api.run('entity/project/run_id'))")
    if project is not None and project != parts[-1]:
        raise ValueError(f"runs() got two projects: {parts[-1]!r} and project={project!r}")
    return parts[-1]


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

    def runs(self, path_or_project: str | None = None, filters: Mapping[str, Any] | None = None,
             order: str | None = None, per_page: int | None = None, *, project: str | None = None,
             group: str | None = None, tags: str | Iterable[str] | None = None,
             state: str | Iterable[str] | None = None) -> Runs:
        """Runs matching ``filters`` and the shortcuts, newest first unless ``order`` says otherwise.

        Parameters
        ----------
        path_or_project
            A project name, or wandb's ``"entity/project"`` (the entity is ignored).
        filters
            wandb's filter syntax: ``{"config.lr": {"$lt": 0.05}, "state": "finished"}``
            (operators ``$eq $ne $gt $gte $lt $lte $in $nin $regex $exists $and $or``
            on ``config.*``, ``summary_metrics.*``, ``display_name``, ``group``,
            ``job_type``, ``tags``, ``state``, ``project``, ``created_at``, ``id``;
            see docs/api.md).
        order
            ``"-summary_metrics.val/acc"`` (descending) or ``"+config.lr"``; default
            ``"-created_at"``. Runs without the key come last.
        per_page
            Runs per request to a server (at most 1000); ignored locally.
        project, group, tags, state
            Shortcuts that must also hold: ``tags`` keeps the runs that have every tag
            given, ``state`` is a state or a list of states.

        Returns
        -------
        Runs
            A list of runs; its ``notes`` say why it is empty when a project has no
            runs or no run has a key the filter names (an unknown project is not an error).

        Raises
        ------
        ValueError
            An invalid operator (named) or operand, an unknown state, a bad path.
        """
        project = _project_of(path_or_project, project)
        query = q.build_query(filters, order, project=project, group=group, tags=tags, state=state)
        if self._client is not None:
            return self._remote_runs(query, project, per_page)
        everything = [LocalRun(path) for path in rundir.list_run_dirs(self.dir)]
        found = [run for run in everything if q.matches(query.where, run._field)]
        found = q.sort_runs(found, query.order, _source, _identity)
        notes: list[str] = []
        scope = [run for run in everything if project is None or run.project == project]
        if not scope:
            notes.append(f"no runs in project {project!r} under {str(self.dir)!r}" if project is not None
                         else f"no runs under {str(self.dir)!r}")
        else:
            fields = query.fields() if not found else [f for f in query.fields() if f == query.order.field]
            notes += q.missing_key_notes(fields, lambda fld: any(q.present(fld, run._field) for run in scope), project)
        return Runs(found, notes, query)

    def _remote_runs(self, query: q.Query, project: str | None, per_page: int | None) -> Runs:
        page = SERVER_PAGE if per_page is None else max(1, min(int(per_page), SERVER_PAGE))
        filters = query.to_filters()
        found: list[ApiRun] = []
        notes: list[str] = []
        offset = 0
        while True:
            resources, said = self._client.query_runs(project=project, filters=filters,  # type: ignore[union-attr]
                                                      order=query.order.text, limit=page, offset=offset)
            found += [RemoteRun(self._client, r) for r in resources]
            notes += [n for n in said if n not in notes]
            if len(resources) < page:
                return Runs(found, notes, query)
            offset += page

    def run(self, run_id: str) -> ApiRun:
        """The run with this id, or wandb's ``"entity/project/run_id"`` (``KeyError`` when there is none)."""
        if isinstance(run_id, str) and "/" in run_id:
            run_id = run_id.rstrip("/").rsplit("/", 1)[-1]
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
