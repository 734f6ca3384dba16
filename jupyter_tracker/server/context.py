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

__all__ = ["ServerContext"]

T = TypeVar("T")


@dataclass
class ServerContext:
    """The settings, the database engine and the threads that talk to the database.

    Database work runs on :attr:`pool` so that the event loop keeps reading
    requests (and answering health checks) while a batch is being written.
    """

    settings: ServerSettings
    engine: Engine
    pool: ThreadPoolExecutor = field(init=False)
    #: Requests under way (handlers between prepare and finish).
    active: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=self.settings.threads, thread_name_prefix="tracker-db")

    @property
    def busy(self) -> bool:
        return bool(self.active)

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on a database thread and wait for it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        """Wait for running database work, then close the connections."""
        self.pool.shutdown(wait=True)
        self.engine.dispose()
