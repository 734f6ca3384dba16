"""``RemoteRun``: a run on a tracking server, read through its HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .apirun import ApiRun, FileList
from .history import _frame, _keys


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

    def _config_data(self) -> dict[str, Any]:
        return dict(self._resource.get("config") or {})

    def _summary_data(self) -> dict[str, Any]:
        return dict(self._resource.get("summary") or {})

    def _append_records(self, out: list[list]) -> None:
        """The next batch of the run's events on the server (after its high-water mark)."""
        import orjson

        from .. import records
        from ..client import Gap

        for _attempt in range(3):
            first = int((self._resource.get("hwm") or {}).get("events") or 0) + 1
            numbered = [[first + i, *record[1:]] for i, record in enumerate(out)]
            body = orjson.dumps({"log": "events", "first_seq": first, "last_seq": first + len(out) - 1,
                                 "records": [records.jsonable(r) for r in numbered]})
            try:
                self._client.post_records(self.id, body)
                return
            except Gap:
                self.refresh()  # another writer got there first: number after its records
        raise RuntimeError(f"run {self.id}: the server kept moving its last record; try again")

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
    def files(self) -> FileList:
        return FileList(sorted(f.get("path", "") for f in self._client.files(self.id)))

    def _media_references(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        return [(item["step"], item["value"]) for item in self._client.media(self.id, key)]

    def _read_file(self, path: str) -> bytes:
        return self._client.get_file(self.id, path)

    def logged_artifacts(self) -> list[Any]:
        """The artifact versions the server has from this run (first logged by it), by name and version."""
        import orjson

        from .artifact_server import RemoteSource, _version
        from .artifact_store import artifact_of

        source = RemoteSource(self._client)
        found = [f for f in self._client.find_artifacts(self.project) if f.get("run_id") == self.id]
        return [artifact_of(_version(f), orjson.loads(source.read_blob(f["digest"])), source) for f in found]

    def brief(self) -> dict[str, Any]:
        """Steps and last values, as the server has them."""
        step = self._resource.get("last_step")
        return {"steps": None if step is None else step + 1, "summary": self.summary}

    def refresh(self) -> RemoteRun:
        self.__init__(self._client, self._client.get_run(self.id))  # type: ignore[misc]
        return self
