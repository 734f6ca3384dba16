"""The handler every ``/tracker/api/`` endpoint derives from.

A Jupyter ``APIHandler`` (so Jupyter's authentication applies: each method is
``@tornado.web.authenticated`` and a request without the token or the login
cookie is refused with 403), answering in the tracking server's conventions:
JSON with NaN and infinities tagged ``{"$float": ...}``, errors as
``{"error": message}`` with the status. Reading runs is done in a thread pool,
never on the Jupyter server's event loop. GET answers carry an ``ETag``; a
request with the same ``If-None-Match`` gets 304 (tornado's own check).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from ..records import jsonable
from .sources import BadInput, NotFound, Source, Sources, Unavailable

__all__ = ["TrackerHandler", "LabError", "EXECUTOR"]

#: Where runs are read (a few threads: reads are mostly numpy and file I/O).
EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tracker-lab")


class LabError(HTTPError):
    """An answer with a status and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.message = message


def _as_lab_error(exc: BaseException) -> LabError | None:
    if isinstance(exc, LabError):
        return exc
    if isinstance(exc, NotFound):
        return LabError(404, str(exc))
    if isinstance(exc, BadInput):
        return LabError(400, str(exc))
    if isinstance(exc, Unavailable):
        return LabError(502, str(exc))
    return None


class TrackerHandler(APIHandler):
    """JSON out, errors as ``{"error": ...}``, reads in :data:`EXECUTOR`."""

    def initialize(self, sources: Sources) -> None:
        self.sources = sources

    def source(self) -> Source:
        try:
            return self.sources.get(self.get_query_argument("source", None))
        except BadInput as exc:
            raise LabError(400, str(exc)) from None

    async def call(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in the thread pool; the sources' errors become answers."""
        try:
            return await asyncio.get_running_loop().run_in_executor(EXECUTOR, fn, *args)
        except (NotFound, BadInput, Unavailable) as exc:
            raise _as_lab_error(exc) from None

    def send(self, value: Any, headers: dict[str, str] | None = None) -> None:
        for key, text in (headers or {}).items():
            self.set_header(key, text)
        self.finish(value if isinstance(value, bytes) else orjson.dumps(jsonable(value)))

    def int_argument(self, name: str, default: int | None, minimum: int = 0, maximum: int = 2**63 - 1) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise LabError(400, f"{name} must be an integer, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise LabError(400, f"{name} must be between {minimum} and {maximum}")
        return value

    def keys_argument(self) -> list[str] | None:
        """``keys=a,b`` and/or ``key=a&key=b`` (names holding a comma), as the tracking server."""
        args = self.request.query_arguments
        if "keys" not in args and "key" not in args:
            return None
        keys = [k for raw in self.get_query_arguments("keys") for k in raw.split(",") if k]
        return keys + [k for k in self.get_query_arguments("key") if k]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        error = _as_lab_error(exc) if exc is not None else None
        if error is not None:
            message = error.message
        elif isinstance(exc, HTTPError):
            message = exc.log_message or exc.reason or self._reason
        else:
            message = "internal error" if status_code >= 500 else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": message}))
