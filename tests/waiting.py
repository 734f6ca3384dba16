"""Polling for a condition in tests that watch other processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["wait_for", "service_ended"]


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """The first truthy value of ``predicate()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout} s (last: {last!r})")


def service_ended(run: Any, timeout: float = 20.0) -> None:
    """Wait until a finished run's service has exited: it writes the run's last system window
    a moment after ``finish()``, so a ``tracker sync`` made sooner leaves that record for the next."""
    service = run.companions.service
    if service is not None:
        wait_for(lambda: service.exited() is not None, timeout=timeout)
