"""``LocalRun``: a run directory on this machine, read through its read cache."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .. import records, rundir
from ..limits import TERMINAL_STATES
from .apirun import ApiRun, FileList
from .history import HISTORY_SAMPLES, _frame, _keys


class LocalRun(ApiRun):
    """A run directory on this machine, read lazily (and again when its log grows)."""

    def __init__(self, path: str | os.PathLike, persist_cache: bool = True) -> None:
        """``persist_cache=False`` keeps the read cache in memory only: for a reader that
        follows a run as it records (the compare view), which would otherwise rewrite the
        cache's files at every read."""
        from ..columns import RunCache

        self.path = Path(path)
        self._info = rundir.read_info(self.path) or {}
        self._cache = RunCache(self.path, persist=persist_cache)
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

    def history(self, keys: Sequence[str] | str | None = None, pandas: bool = False,
                samples: int | None = HISTORY_SAMPLES) -> Any:
        keys = _keys(keys)
        return _frame(self._rows(keys, samples), pandas)

    def scan_history(self, keys: Sequence[str] | str | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None) -> Iterator[dict[str, Any]]:
        keys = _keys(keys)
        return self._cache.history(keys).iter_rows(keys, page_size, min_step, max_step)

    def _config_data(self) -> dict[str, Any]:
        return dict(self._field("config"))

    def _summary_data(self) -> dict[str, Any]:
        return dict(self._field("summary"))

    def _append_records(self, out: list[list]) -> None:
        lock = rundir.try_lock_run(self.path, role="editing")
        if lock is None:
            holder = rundir.lock_holder(self.path) or {}
            raise RuntimeError(f"run {self.id} is being recorded by process {holder.get('pid', '?')} on "
                               f"{holder.get('host', '?')}: change its summary and config there "
                               "(run.summary[...] = ..., run.config.update(...))")
        try:
            records.append_records(self.path / rundir.EVENTS, out)
        finally:
            lock.release()

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
    def files(self) -> FileList:
        base = self.path / "files"
        return FileList(sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()))

    def _media_references(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        from ..media.reading import media_references

        return media_references(records.read_log(self.path / "events.log"), key)

    def _read_file(self, path: str) -> bytes:
        return (self.path / "files" / path).read_bytes()

    def logged_artifacts(self) -> list[Any]:
        """The artifact versions this run logged, in order (each once)."""
        from .artifact_store import LocalSource, artifact_of, logged_entries, read_manifest, versions

        digests = {(e["name"], e["digest"]) for _key, e in logged_entries(self.path)}
        source = LocalSource(self.path)
        return [artifact_of(v, read_manifest(source, v.digest), source)
                for v in versions(self.path.parent, self.project)
                if (v.name, v.digest) in digests]

    def used_artifacts(self) -> list[Any]:
        """The artifact versions this run used (``use_artifact``), in order, each once; a version
        no local run holds any more is left out."""
        from .artifact_store import LocalSource, artifact_of, read_manifest, versions

        used: list[tuple[str, str, str]] = []
        for record in records.read_log(self.path / rundir.EVENTS):
            payload = record[3] if len(record) > 3 else None
            if record[1] == records.USE_ARTIFACT and isinstance(payload, dict):
                key = (str(payload.get("project")), str(payload.get("name")), str(payload.get("digest")))
                if key not in used:
                    used.append(key)
        found = {(v.project, v.name, v.digest): v for v in versions(self.path.parent) if v.run_dir is not None}
        out = []
        for key in used:
            version = found.get(key)
            if version is not None:
                source = LocalSource(version.run_dir)  # type: ignore[arg-type]
                out.append(artifact_of(version, read_manifest(source, version.digest), source))
        return out

    def brief(self) -> dict[str, Any]:
        """Steps and last values (from ``summary.json`` for a finished run, else the read cache)."""
        final = self._final()
        if final is not None:
            step = final.get("_step")
            return {"steps": step + 1 if isinstance(step, int) else None, "summary": dict(final["summary"])}
        log = self._snapshot()
        return {"steps": None if log.last_step is None else log.last_step + 1, "summary": log.summary.as_dict()}


def _hostname() -> str:
    import socket

    return socket.gethostname()
