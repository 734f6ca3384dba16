"""The run's lock: one process at a time appends to a run's ``events.log``.

The holder keeps an exclusive ``flock`` on the run's ``run.lock`` (the system
releases it when that process ends, even by ``kill -9``), with its pid, host,
start time and role written in the file for the others to read.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: runs are not locked
    fcntl = None  # type: ignore[assignment]

import orjson

from . import _INIT_LOCK, LOCK, read_json

__all__ = ["RunLock", "RunLocked", "try_lock_run", "lock_run", "lock_holder", "creating"]

class RunLocked(RuntimeError):
    """Another live process records the run (holds its lock)."""

    def __init__(self, message: str, holder: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.holder = holder


class RunLock:
    """The exclusive lock on one run directory, held through an open file.

    ``fd`` is ``None`` when the filesystem cannot lock (``problem`` says why):
    the run is recorded unlocked, as it was before locks existed.
    """

    def __init__(self, path: Path, fd: int | None, problem: str | None = None) -> None:
        self.path = Path(path)
        self.fd = fd
        self.problem = problem

    def release(self) -> None:
        """Let the lock go. Unlocked explicitly, not only closed: a child forked
        meanwhile (a subprocess between fork and exec) shares the lock and would
        otherwise keep it until it closes its copy."""
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass
            self._close(fd)

    def forget(self) -> None:
        """In a forked child: close the child's copy of the file, without unlocking
        (the lock is the parent's). Otherwise the copy would hold the lock on after
        the parent died, and its run could not be marked crashed or resumed."""
        fd, self.fd = self.fd, None
        if fd is not None:
            self._close(fd)

    @staticmethod
    def _close(fd: int) -> None:
        try:
            os.close(fd)
        except OSError:
            pass


def try_lock_run(path: Path, role: str = "recording") -> RunLock | None:
    """The run's lock, or ``None`` when another process holds it. Never waits."""
    lock_path = Path(path) / LOCK
    if fcntl is None:
        return RunLock(path, None, "this system has no flock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return RunLock(path, None, f"cannot open {LOCK} ({exc.strerror or exc})")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:  # a filesystem without locks (some network mounts)
        os.close(fd)
        return RunLock(path, None, f"the filesystem cannot lock {LOCK} ({exc.strerror or exc})")
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), "role": role}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(holder), 0)
    except OSError:
        pass  # a full disk: the lock holds without the note
    return RunLock(path, fd)


def lock_holder(path: Path) -> dict[str, Any] | None:
    """Who holds (or last held) the run's lock, as written in ``run.lock``."""
    holder = read_json(Path(path) / LOCK)
    return holder if isinstance(holder, dict) else None


def lock_run(path: Path, run_id: str, role: str = "recording", wait: float = 5.0) -> RunLock:
    """The run's lock for a process that records it.

    A service marking the run crashed holds it for milliseconds: that is waited
    for (at most ``wait`` seconds). A process recording the run is not.

    Raises
    ------
    RunLocked
        Naming the run, the holder's pid and host, and what to do.
    """
    deadline = time.monotonic() + wait
    while True:
        lock = try_lock_run(path, role)
        if lock is not None:
            return lock
        holder = lock_holder(path)
        if holder is not None and holder.get("role") == "service" and time.monotonic() < deadline:
            time.sleep(0.05)
            continue
        raise RunLocked(_locked_message(run_id, holder), holder)


def _locked_message(run_id: str, holder: dict[str, Any] | None) -> str:
    who = "another process"
    if holder is not None and holder.get("pid"):
        who = f"process {holder['pid']} on host {holder.get('host') or '?'}"
        since = holder.get("since")
        if isinstance(since, (int, float)):
            who += f" (since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))})"
    return (
        f"run {run_id!r} is being recorded by {who}: one process records a run at a time. "
        "Finish the run there (run.finish() or %tracker finish) or let that process end, then "
        "resume it; or start a new run with another id."
    )


@contextmanager
def creating(base: Path) -> Iterator[None]:
    """Hold ``$TRACKER_DIR``'s init lock while finding or creating a run's directory,
    so that two processes starting the same run id at once make one directory."""
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(Path(base) / _INIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no locks here: as before
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)
