"""What every request handler of one server process shares."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from .settings import ServerSettings

__all__ = ["ServerContext", "AUTH_THREADS", "connections"]

T = TypeVar("T")


#: Threads that check tokens: a token check is one indexed query.
AUTH_THREADS = 2


def connections(settings: ServerSettings) -> int:
    """How many database connections one server process may use at once (one per thread)."""
    return 2 * settings.threads + AUTH_THREADS


@dataclass
class ServerContext:
    """The settings, the database engine and the threads that talk to the database.

    Database work runs on threads so that the event loop keeps reading
    requests (and answering health checks) while a batch is being written,
    on three pools so that one kind of work cannot starve another: token
    checks (:meth:`auth`), long reads (:meth:`read`: history, system
    records) and everything else (:meth:`call`: writes, run and file reads).
    The engine's connection pool has a connection for every thread.
    """

    settings: ServerSettings
    engine: Engine
    pool: ThreadPoolExecutor = field(init=False)
    reads: ThreadPoolExecutor = field(init=False)
    tokens: ThreadPoolExecutor = field(init=False)
    #: Requests under way (handlers between prepare and finish).
    active: set = field(default_factory=set)

    def __post_init__(self) -> None:
        threads = self.settings.threads
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tracker-db")
        self.reads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tracker-read")
        self.tokens = ThreadPoolExecutor(max_workers=AUTH_THREADS, thread_name_prefix="tracker-auth")

    @property
    def busy(self) -> bool:
        return bool(self.active)

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on a database thread and wait for it."""
        return await self._on(self.pool, function, *args, **kwargs)

    async def read(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a read that may be long (history, system records) on a thread of its own pool."""
        return await self._on(self.reads, function, *args, **kwargs)

    async def auth(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a token check on a thread that long work never holds."""
        return await self._on(self.tokens, function, *args, **kwargs)

    async def _on(self, pool: ThreadPoolExecutor, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        """Wait for running database work, then close the connections."""
        for pool in (self.tokens, self.reads, self.pool):
            pool.shutdown(wait=True)
        self.engine.dispose()
