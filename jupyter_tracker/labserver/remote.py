"""The configured tracking server, proxied: its token stays in the Jupyter server.

Answers are the server's own (docs/api.md), passed through; its errors become
the lab API's: 404 stays 404, a refusal of the request a 400 with the
server's message, and an unreachable server or a refused token a 502 saying so
(never the token itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import orjson

from ..client import Refused, Retryable, ServerClient, ServerError, encode_json
from .lines import smoothed_columns
from .runfiles import CHUNK, check_path
from .sources import BadInput, ListQuery, NotFound, Source, Unavailable

__all__ = ["RemoteSource", "SMOOTH_SAMPLES"]

#: Points per line fetched from the server to smooth on (its min/max decimation beyond).
SMOOTH_SAMPLES = 50_000


def _error(exc: ServerError, what: str) -> Exception:
    if exc.status == 404:
        return NotFound(what)
    if isinstance(exc, Refused) and exc.status in (400, 409, 413):
        return BadInput(str(exc))
    if isinstance(exc, Retryable):
        return Unavailable(f"the tracking server cannot be reached: {exc}")
    return Unavailable(f"the tracking server refused: {exc}")


class RemoteSource(Source):
    id = "server"
    label = "Tracking server"

    def __init__(self, host: str, token: str | None, timeout: float = 20.0) -> None:
        self.host = host.rstrip("/")
        self.client = ServerClient(self.host, token, timeout=timeout)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "host": self.host}

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ServerError as exc:
            raise _error(exc, what) from None

    def runs(self, query: ListQuery) -> tuple[list[dict[str, Any]], list[str]]:
        params: dict[str, str] = {"limit": str(min(query.limit, 1000)), "offset": str(query.offset)}
        for key, value in (("project", query.project), ("state", query.state), ("order", query.order)):
            if value:
                params[key] = value
        if query.filters:
            params["filters"] = encode_json(query.filters).decode()
        headers: dict[str, str] = {}
        answer = self._call("runs", self.client.request, "GET", "runs", params=params, headers_out=headers)
        try:
            notes = orjson.loads(headers.get("X-Tracker-Notes") or "[]")
        except ValueError:
            notes = []
        return list(answer or []), [str(n) for n in notes] if isinstance(notes, list) else []

    def projects(self) -> list[dict[str, Any]]:
        return self._call("projects", self.client.request, "GET", "projects")

    def run(self, run_id: str) -> dict[str, Any]:
        return self._call(f"no run {run_id!r}", self.client.get_run, run_id)

    def _history(self, run_id: str, keys: list[str] | None, samples: int | None, lo: int | None,
                 hi: int | None) -> dict[str, Any]:
        return self._call(f"no run {run_id!r}", self.client.history, run_id, keys=keys, samples=samples,
                          min_step=lo, max_step=hi)

    def columns(self, run_ids: list[str], keys: list[str] | None, samples: int,
                min_step: int | None, max_step: int | None,
                smoothing: tuple[str, float] | None) -> dict[str, dict[str, dict[str, Any]]]:
        ids = list(dict.fromkeys(run_ids))
        wanted = SMOOTH_SAMPLES if smoothing is not None else samples
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(ids)))) as pool:
            found = list(pool.map(lambda rid: self._history(rid, keys, wanted, min_step, max_step), ids))
        columns = dict(zip(ids, found))
        if smoothing is None:
            return columns
        return smoothed_columns(columns, samples, smoothing)

    def system(self, run_id: str) -> list[dict[str, Any]]:
        return self._call(f"no run {run_id!r}", self.client.system, run_id)

    def files(self, run_id: str) -> list[dict[str, Any]]:
        return self._call(f"no run {run_id!r}", self.client.files, run_id)

    def open_file(self, run_id: str, path: str) -> tuple[int, Iterator[bytes]]:
        import requests

        path = check_path(path)
        url = self.client.url(f"runs/{quote(run_id, safe='')}/files/{quote(path)}")
        try:
            response = self.client.session.get(url, stream=True, timeout=self.client.timeout)
        except requests.RequestException as exc:
            raise Unavailable(f"the tracking server cannot be reached ({type(exc).__name__})") from None
        if response.status_code == 404:
            response.close()
            raise NotFound(f"the run has no file {path!r}")
        if response.status_code >= 300:
            response.close()
            raise Unavailable(f"the tracking server answered {response.status_code} for the file")
        size = int(response.headers.get("Content-Length") or 0)

        def chunks() -> Iterator[bytes]:
            with response:
                yield from response.iter_content(CHUNK)

        return size, chunks()
