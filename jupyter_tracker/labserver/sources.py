"""Where the lab extension reads runs from: a source per place, one interface.

``local`` is the run directories this Jupyter server sees
(:class:`~.localruns.LocalSource`); ``server`` the tracking server configured
for the Jupyter server's user (``tracker login``, or ``TRACKER_HOST`` and
``TRACKER_API_KEY`` in its environment; :class:`~.remote.RemoteSource`), whose
token stays in this process. Every source answers in the tracking server's
shapes (docs/api.md).
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .. import settings
from ..records import jsonable

__all__ = ["MAX_SAMPLES", "ListQuery", "Source", "Sources", "UnknownSource", "NotFound", "BadInput", "Unavailable"]

#: The most points of one line the browser is sent (min/max decimation keeps the extremes).
MAX_SAMPLES = 2000


class BadInput(ValueError):
    """A request the source cannot apply (400), with a message naming what is wrong."""


class NotFound(KeyError):
    """No such run or file (404)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class UnknownSource(BadInput):
    """A source id that is not configured."""


class Unavailable(RuntimeError):
    """The tracking server cannot be reached or refused (502), with a true message."""


@dataclass(frozen=True)
class ListQuery:
    """``GET /runs``' parameters, as the tracking server takes them."""

    project: str | None = None
    state: str | None = None
    filters: dict[str, Any] | None = None
    order: str | None = None
    limit: int = 1000
    offset: int = 0


class Source(ABC):
    """One place runs are read from."""

    id: str
    label: str

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label}

    @abstractmethod
    def runs(self, query: ListQuery) -> tuple[list[dict[str, Any]], list[str]]:
        """The runs ``query`` selects (resources without ``info``/``metrics``) and notes."""

    def runs_json(self, query: ListQuery) -> tuple[bytes, list[str]]:
        """:meth:`runs` as JSON (non-finite numbers tagged) and the notes."""
        found, notes = self.runs(query)
        return orjson.dumps(jsonable(found)), notes

    @abstractmethod
    def projects(self) -> list[dict[str, Any]]:
        """``[{"name", "runs"}]``."""

    @abstractmethod
    def run(self, run_id: str) -> dict[str, Any]:
        """The full run resource (``NotFound`` when there is none)."""

    @abstractmethod
    def columns(self, run_ids: list[str], keys: list[str] | None, samples: int,
                min_step: int | None, max_step: int | None,
                smoothing: tuple[str, float] | None) -> dict[str, dict[str, dict[str, Any]]]:
        """``{run_id: history}`` in the history schema (lists, or numpy arrays); with
        ``smoothing`` each metric also has ``smoothed``, computed on every point."""

    @abstractmethod
    def system(self, run_id: str) -> list[dict[str, Any]]:
        """System-metric records, oldest first."""

    @abstractmethod
    def files(self, run_id: str) -> list[dict[str, Any]]:
        """The run's files (``path``, ``size``...)."""

    @abstractmethod
    def open_file(self, run_id: str, path: str) -> tuple[int, Iterator[bytes]]:
        """``(size, chunks)`` of one file of the run (``NotFound``, ``BadInput``)."""


class Sources:
    """The configured sources, looked up by id at each request (settings may change)."""

    def __init__(self, local: Any, notebook_folders: set | None = None) -> None:
        self.local = local
        #: folders of notebooks the browser asked about: their kernels write runs beside them
        self.notebook_folders = notebook_folders if notebook_folders is not None else set()
        self._remote: Source | None = None
        self._remote_key: str | None = None
        self._lock = threading.Lock()

    def remote(self) -> Source | None:
        """The tracking server's source, when one is configured now."""
        host, token = settings.host(), settings.api_key()
        if not host:
            return None
        key = hashlib.sha256(f"{host}\0{token or ''}".encode()).hexdigest()
        with self._lock:
            if self._remote is None or self._remote_key != key:
                from .remote import RemoteSource

                self._remote = RemoteSource(host, token)
                self._remote_key = key
            return self._remote

    def all(self) -> list[Source]:
        remote = self.remote()
        return [self.local] + ([remote] if remote is not None else [])

    def get(self, source_id: str | None) -> Source:
        if source_id in (None, "", "local"):
            return self.local
        if source_id == "server":
            remote = self.remote()
            if remote is None:
                raise UnknownSource("no tracking server is configured (run `tracker login`, or set TRACKER_HOST "
                                    "and TRACKER_API_KEY for the Jupyter server)")
            return remote
        raise UnknownSource(f"unknown source {source_id!r}: use 'local' or 'server'")
