"""Keeping a run's read cache fresh: :class:`RunCache` and :func:`build_many`."""

from __future__ import annotations

import os
import secrets
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import records, rundir
from ..replay import MAX_PROBLEMS, RunLog
from .history import History
from .store import COLUMNS_JSON, SNAPSHOT_JSON, VERSION, Damaged, Files, Increment, Memory, State

__all__ = ["RunCache", "build_many"]

_FINGERPRINT = 64  # bytes checked at the start of the log and before the offset


def _crc_at(fd: int, start: int, stop: int) -> int:
    return zlib.crc32(os.pread(fd, max(0, stop - start), start)) if stop > start else 0


def _fingerprint(path: Path, offset: int) -> tuple[int, int] | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return (_crc_at(fd, 0, min(_FINGERPRINT, offset)), _crc_at(fd, max(0, offset - _FINGERPRINT), offset))
    finally:
        os.close(fd)


def _fresh(position: dict[str, Any], stat: os.stat_result | None) -> bool:
    if stat is None:
        return position.get("inode") is None
    return (position.get("inode") == stat.st_ino and position.get("size") == stat.st_size
            and position.get("mtime_ns") == stat.st_mtime_ns)


def _continues(position: dict[str, Any], stat: os.stat_result, events: Path) -> bool:
    """Whether the log only grew (or lost a torn tail) since ``position``."""
    if position.get("inode") != stat.st_ino or stat.st_size < position["offset"]:
        return False
    if stat.st_size == position.get("size") and stat.st_mtime_ns != position.get("mtime_ns"):
        return False  # rewritten in place
    return _fingerprint(events, position["offset"]) == (position.get("head"), position.get("back"))


def _stat(events: Path) -> os.stat_result | None:
    try:
        return os.stat(events)
    except OSError:
        return None


class RunCache:
    """One run directory's cache, kept fresh at each call.

    ``snapshot()`` is cheap (one stat, and one small file when the log changed
    in another process); ``history()`` reads or builds the columns. Neither
    raises for a damaged cache (it is rebuilt) or a run directory that cannot be
    written (the run is then read into memory, incrementally as well).
    """

    def __init__(self, path: str | os.PathLike, persist: bool = True) -> None:
        self.path = Path(path)
        self.events = self.path / rundir.EVENTS
        self._persist = persist
        self._log: RunLog | None = None
        self._position: dict[str, Any] | None = None
        self._state: State | None = None
        self._store: Memory | Files | None = None
        self._history: History | None = None
        self._lock = threading.RLock()  # one reader may serve several threads (a live view's, the caller's)

    @property
    def persistent(self) -> bool:
        """Whether this reader keeps its cache on disk (False: in memory)."""
        return self._persist

    def snapshot(self) -> RunLog:
        """The run as its log says now, without the history rows."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> RunLog:
        stat = _stat(self.events)
        if self._log is not None and self._position is not None and _fresh(self._position, stat):
            return self._log
        if self._persist and stat is not None:
            data = rundir.read_cache_json(self.path, SNAPSHOT_JSON)
            log = _snapshot_from(data)
            if log is not None and _fresh(data["log"], stat):
                self._log, self._position, self._history = log, data["log"], None
                return log
        self._update(stat)
        return self._log  # type: ignore[return-value]

    def history(self, keys: Sequence[str] | None = None) -> History:
        """The columns as the log says now, with the arrays of ``keys`` (None: all) read."""
        with self._lock:
            return self._read_history(keys)

    def _read_history(self, keys: Sequence[str] | None) -> History:
        damaged: str | None = None
        for attempt in range(3):
            stat = _stat(self.events)
            if damaged is not None or self._history is None or self._position is None or not _fresh(self._position, stat):
                loaded = self._load_columns(stat)
                if not loaded or (damaged is not None and self._state is not None and self._state.gen == damaged):
                    self._update(stat, damaged)
            try:
                assert self._history is not None
                self._history.load(keys)
                return self._history
            except Damaged:
                damaged = self._state.gen if self._state is not None else ""
                self._history = None
                if attempt == 1:  # damaged again after a rebuild: read this run into memory
                    self._persist = False
                    self._state = None
        raise RuntimeError("the cache of this run could not be read")  # pragma: no cover

    def fresh(self) -> bool:
        """Whether the columns are ready for the log as it is now (no build to do)."""
        with self._lock:
            return self._fresh_now()

    def _fresh_now(self) -> bool:
        stat = _stat(self.events)
        if self._history is not None and self._position is not None and _fresh(self._position, stat):
            return True
        if not self._persist:
            return False
        state = State.from_dict(rundir.read_cache_json(self.path, COLUMNS_JSON))
        return state is not None and _fresh(state.log, stat)

    # -- updating ---------------------------------------------------------------------
    def _load_columns(self, stat: os.stat_result | None) -> bool:
        """Take what the cache on disk holds when it matches the log as it is now."""
        if not self._persist or stat is None:
            return False
        state = State.from_dict(rundir.read_cache_json(self.path, COLUMNS_JSON))
        snapshot = rundir.read_cache_json(self.path, SNAPSHOT_JSON)
        log = _snapshot_from(snapshot)
        if state is None or log is None or snapshot["log"] != state.log or not _fresh(state.log, stat):
            return False
        self._set(state, log, Files(self.path, state.gen))
        return True

    def _set(self, state: State, log: RunLog, store: Memory | Files) -> None:
        self._state, self._log, self._store, self._position = state, log, store, state.log
        self._history = History(state, store)

    def _update(self, stat: os.stat_result | None, damaged: str | None = None) -> None:
        """Bring the cache up to the log; ``damaged`` names a generation found damaged."""
        if stat is None:  # no log (yet): nothing to cache
            self._set(State("0"), RunLog(), Memory())
            self._state.log = {"inode": None}  # type: ignore[union-attr]
            self._position = self._state.log  # type: ignore[union-attr]
            return
        if self._persist:
            try:
                with rundir.cache_lock(self.path, exclusive=True):
                    self._update_files(damaged)
                return
            except OSError:
                self._persist = False  # read-only run directory, full disk: read into memory
                self._state = None
        self._update_memory(damaged is not None)

    def _update_files(self, damaged: str | None) -> None:
        stat = _stat(self.events)
        state = State.from_dict(rundir.read_cache_json(self.path, COLUMNS_JSON))
        if state is not None and state.gen == damaged:
            state = None
        snapshot = rundir.read_cache_json(self.path, SNAPSHOT_JSON)
        log = _snapshot_from(snapshot)
        usable = state is not None and log is not None and snapshot["log"] == state.log
        if usable and stat is not None and _fresh(state.log, stat):  # another reader just did it
            self._set(state, log, Files(self.path, state.gen))  # type: ignore[arg-type]
            return
        fresh_start = not (usable and stat is not None and _continues(state.log, stat, self.events))
        if fresh_start:
            state, log = State(secrets.token_hex(4)), RunLog()
        store = Files(self.path, state.gen)  # type: ignore[union-attr]
        try:
            self._advance(state, log, store)  # type: ignore[arg-type]
        except Damaged:
            state, log = State(secrets.token_hex(4)), RunLog()
            store = Files(self.path, state.gen)
            self._advance(state, log, store)
            fresh_start = True
        rundir.write_cache_json(self.path, COLUMNS_JSON, state.to_dict())  # type: ignore[union-attr]
        rundir.write_cache_json(self.path, SNAPSHOT_JSON, {"version": VERSION, "log": state.log,  # type: ignore[union-attr]
                                                           "run": log.to_dict()})  # type: ignore[union-attr]
        rundir.cache_prune(self.path, store.prefix)  # and what builders killed half-way left
        self._set(state, log, store)  # type: ignore[arg-type]

    def _update_memory(self, rebuild: bool) -> None:
        stat = _stat(self.events)
        state, log, store = self._state, self._log, self._store
        if (rebuild or state is None or log is None or not isinstance(store, Memory) or stat is None
                or not _continues(state.log, stat, self.events)):
            state, log, store = State("mem"), RunLog(), Memory()
        elif not _fresh(state.log, stat):
            # new objects for what changes: whoever holds the old ones keeps a consistent view
            state, log = State.from_dict(state.to_dict()), RunLog.from_dict(log.to_dict())
        if stat is None or not _fresh(state.log, stat):
            self._advance(state, log, store)  # type: ignore[arg-type]
        self._set(state, log, store)  # type: ignore[arg-type]

    def _advance(self, state: State, log: RunLog, store: Memory | Files) -> None:
        """Read the log from where ``state`` stopped and add what it says."""
        position = records.LogPosition(int(state.log.get("offset", 0)), int(state.log.get("lines", 0)),
                                       state.log.get("seq", 0))
        stored = {key: meta[1] for key, meta in state.metrics.items()}
        report = records.ReadReport()
        increment = Increment(state, log)
        for frame in records.read_new_frames(self.events, position, report):
            increment.frame(frame)
        increment.write(store, stored)
        _merge_report(log.report, report)
        stat = _stat(self.events)
        head, back = _fingerprint(self.events, position.offset) or (0, 0)
        exact = stat is not None and stat.st_size == report.bytes_read
        state.log = {
            "inode": stat.st_ino if stat is not None else None,
            "size": report.bytes_read if exact else -1,
            "mtime_ns": stat.st_mtime_ns if exact and stat is not None else -1,
            "offset": position.offset,
            "lines": position.lines,
            "seq": position.seq,
            "head": head,
            "back": back,
        }


def _snapshot_from(data: Any) -> RunLog | None:
    try:
        if data.get("version") != VERSION:
            return None
        dict(data["log"])
        return RunLog.from_dict(data["run"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _merge_report(total: records.ReadReport, new: records.ReadReport) -> None:
    """Add what one incremental read found to what the earlier ones found."""
    if total.torn_tail and total.problems:
        total.problems.pop()  # the torn tail is read again (complete or still torn)
    total.records += new.records
    total.corrupt += new.corrupt
    total.missing += new.missing
    total.missing_ranges.extend(new.missing_ranges)
    total.duplicates += new.duplicates
    total.torn_tail = new.torn_tail
    total.bytes_read = new.bytes_read
    total.problems.extend(new.problems)
    if len(total.problems) > MAX_PROBLEMS:
        del total.problems[: len(total.problems) - MAX_PROBLEMS]


def build_many(paths: Sequence[str | os.PathLike], workers: int | None = None) -> int:
    """Build the caches of several runs at once, in one process per CPU; how many processes ran.

    What the compare view's first render of runs never read before waits for;
    worth it from two runs on. The processes are plain ``python -m
    jupyter_tracker.columns PATH...`` (no multiprocessing: nothing of the
    caller's main module is run again) and write nothing anywhere but the
    caches. Never raises: a run whose cache was not built here is built by
    its reader later, as usual.
    """
    import subprocess
    import sys

    todo = [os.fspath(path) for path in paths]
    workers = min(len(todo), workers or os.cpu_count() or 1)
    if workers < 2:
        return 0
    procs = []
    try:
        for index in range(workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "jupyter_tracker.columns", *todo[index::workers]],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
    except OSError:
        pass  # no processes here (a sandbox, a limit): the readers build what is left
    for proc in procs:
        proc.wait()
    return len(procs)


