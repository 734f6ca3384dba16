"""``Api`` and the ``Runs`` it finds: which runs, in which order (the query layer's), locally or on a server."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import query as q
from .. import rundir, settings
from .apirun import ApiRun
from .local import LocalRun
from .remote import RemoteRun

#: Runs per request to a server (its largest page).
SERVER_PAGE = 1000


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
        from ..columns import build_many

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
            from ..client import ServerClient

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
        """The run with this id, or wandb's ``"entity/project/run_id"``, or a run directory as a
        ``Path`` (a live run's ``run.path``) (``KeyError`` when there is none)."""
        if isinstance(run_id, os.PathLike):
            run_id = (rundir.read_info(Path(run_id)) or {}).get("id") or Path(run_id).name
        if isinstance(run_id, str) and "/" in run_id:
            run_id = run_id.rstrip("/").rsplit("/", 1)[-1]
        if self._client is not None:
            from ..client import Refused

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

    def artifact(self, name: str, type: str | None = None) -> Any:  # noqa: A002
        """A logged artifact version: ``"project/name:v1"``, ``"entity/project/name:latest"``
        (the local runs' versions, or the server's with ``host``). ``KeyError`` when there is none."""
        from .artifact_store import find_artifact
        from .artifacts import parse_ref

        project, base_name, alias = parse_ref(name)
        if project is None:
            raise ValueError(f"api.artifact({name!r}): name the project too, 'project/{name}'")
        if self._client is not None:
            from .artifact_server import remote_artifact

            art = remote_artifact(self.host or "", None, project, base_name, alias, client=self._client)
            if art is None:
                raise KeyError(f"no artifact {base_name}:{alias} in project {project!r} on {self.host}")
        else:
            art = find_artifact(self.dir, project, base_name, alias, host="")
        if type is not None and art.type != type:
            raise ValueError(f"api.artifact({name!r}, type={type!r}): it is of type {art.type!r}")
        return art

    def projects(self) -> list[str]:
        return sorted({r.project for r in self.runs() if r.project})
