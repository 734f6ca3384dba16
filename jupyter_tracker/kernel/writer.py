"""The append-only events log: the writer thread of the kernel process.

``Run.log`` appends a record (a list whose first element is a placeholder for
the sequence number) to the writer's current queue through the append
function the writer installed on it, and returns. The writer thread wakes
every :data:`FLUSH_INTERVAL` seconds (or when woken), swaps in a fresh queue,
numbers and encodes what it took, and writes it with one ``os.write``: a kill
of the process loses at most the records of the last interval. The records
are also handed to the run's :class:`~jupyter_tracker.summaries.SummaryState`
and to any listener (the live panel), on the writer thread, so the training
thread never does that work.

Backpressure costs the hot path nothing in the usual case: while the writer
is inside a write (the only place it can be stalled by the disk), it installs
an append that also checks the queue length, and waits when more than
:data:`QUEUE_LIMIT` records are queued.

Failures of ours never reach ``log()``: when the file cannot be written (disk
full, folder removed) the encoded frames are kept in memory and retried every
interval, and the problem is reported once through ``notify``.
"""

from __future__ import annotations

import operator
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from .. import records
from ..summaries import SummaryState

__all__ = ["Writer", "FLUSH_INTERVAL", "QUEUE_LIMIT"]

#: Seconds between two writes of the queued records (the most a kill can lose).
FLUSH_INTERVAL = 0.1
#: Queued records above which ``log()`` waits for a stalled writer.
QUEUE_LIMIT = 200_000

_ONLY_HISTORY = {"h"}
_KIND = operator.itemgetter(1)
_ROW = operator.itemgetter(4)


class Writer:
    """Numbers, encodes and appends queued records to one log file.

    Parameters
    ----------
    path
        The events log; opened for appending, created when missing.
    summary
        Fed every history row and ``m``/``s`` record.
    install
        ``install(append)`` makes ``append`` the function producers call to
        queue a record (the run's hot path keeps it as an attribute).
    seq
        The last sequence number already in the file (when resuming).
    notify
        ``notify(message, key)`` reports a problem of ours once per ``key``.
    tick
        Called on the writer thread about once a second (housekeeping).
    """

    def __init__(
        self,
        path: Path,
        summary: SummaryState,
        install: Callable[[Callable], None],
        seq: int = 0,
        notify: Callable[[str, str | None], None] | None = None,
        tick: Callable[[], None] | None = None,
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self.path = Path(path)
        self.summary = summary
        self.seq = seq
        self.listeners: list[Callable[[list], None]] = []
        self._install = install
        self._notify = notify or (lambda message, key: None)
        self._tick = tick
        self._interval = interval
        self.queue: deque = deque()
        self._older: deque = deque()  # the last queue swapped out: may get a late append
        self._older_taken = 0
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one drain at a time (thread or caller)
        self._stop = False
        self._closed = False
        self._pending: list[bytes] = []  # encoded but not yet written (write failed)
        self._fd: int | None = None
        self._failing = False
        self._last_tick = 0.0
        self._open()
        install(self.queue.append)
        self._thread = threading.Thread(target=self._run, name="tracker-writer", daemon=True)
        self._thread.start()

    # -- file -----------------------------------------------------------------
    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # A torn last line left by a killed writer must not swallow our first frame.
        size = os.fstat(self._fd).st_size
        if size:
            with open(self.path, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    self._pending.append(b"\n")

    def _write(self, frames: list[bytes]) -> None:
        if frames:
            self._pending.append(b"".join(frames))
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = [data]
        self._install(self._checked_append)  # the disk may stall us: bound the queue
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            records.write_all(self._fd, data)
        except OSError as exc:
            if not self._failing:
                self._failing = True
                self._notify(
                    f"cannot write {self.path.name} ({exc.strerror or exc}); "
                    "keeping the records in memory and retrying",
                    "write-failed",
                )
            self._close_fd()
            return
        finally:
            if not self._closed:
                self._install(self.queue.append)
        self._pending = []
        if self._failing:
            self._failing = False
            self._notify(f"{self.path.name} is writable again; nothing was lost", None)

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _checked_append(self, item: list) -> None:
        queue = self.queue
        queue.append(item)
        if len(queue) > QUEUE_LIMIT:
            self._notify(
                f"log() is faster than the disk: waiting for {len(queue)} queued records to be written",
                "backpressure",
            )
            deadline = time.monotonic() + 60.0
            while len(self.queue) > QUEUE_LIMIT // 2 and not self._closed and time.monotonic() < deadline:
                self._wake.set()
                time.sleep(0.001)

    # -- draining -------------------------------------------------------------
    def _take(self) -> list[list]:
        """Everything queued so far, in order; producers move on to a fresh queue."""
        older, taken = self._older, self._older_taken
        late = list(islice(older, taken, None)) if len(older) > taken else None
        current = self.queue
        self.queue = deque()
        if not self._closed:
            self._install(self.queue.append)
        items = list(current)  # one C call: appends land before or after it, whole
        self._older, self._older_taken = current, len(items)
        if late:
            items[:0] = late
        return items

    def drain(self) -> None:
        """Encode and write everything queued so far (callable from any thread)."""
        with self._lock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        items = self._take()
        if not items:
            if self._pending:
                self._write([])
            return
        summary = self.summary
        if set(map(_KIND, items)) == _ONLY_HISTORY:
            summary.add_rows(list(map(_ROW, items)), items[-1][2], check_new=False)
        else:
            self._dispatch(items)
        frames: list[bytes] = []
        self.seq = records.encode_items(items, self.seq, frames)
        self._write(frames)
        for listener in self.listeners:
            try:
                listener(items)
            except Exception as exc:  # noqa: BLE001 - a listener must not stop the log
                self._notify(f"live view failed: {exc!r}", "listener")

    def _dispatch(self, items: list[list]) -> None:
        """The slow path: rows with new keys (kind ``H``), metric and summary records."""
        summary = self.summary
        rows: list[dict] = []
        check_new = False
        for item in items:
            kind = item[1]
            if kind == "h" or kind == "H":
                if kind == "H":
                    item[1] = "h"
                    check_new = True
                rows.append(item[4])
                summary.last_step = item[2]
            elif kind == "m" or kind == "s":
                summary.add_rows(rows, summary.last_step, check_new)
                rows, check_new = [], False
                summary.apply(kind, item[3])
        summary.add_rows(rows, summary.last_step, check_new)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            stopping = self._stop
            try:
                self.drain()
                now = time.monotonic()
                if self._tick is not None and now - self._last_tick >= 1.0:
                    self._last_tick = now
                    self._tick()
            except Exception as exc:  # noqa: BLE001 - never die silently
                self._notify(f"writer error: {exc!r}", "writer-error")
            if stopping:
                return

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def unwritten(self) -> int:
        """Bytes encoded but not yet on disk (non-zero only while writes fail)."""
        return sum(len(chunk) for chunk in self._pending)

    # -- shutdown -------------------------------------------------------------
    def close(self, timeout: float = 5.0, fsync: bool = True) -> bool:
        """Drain, write, fsync and stop the thread; ``False`` if data is still pending.

        The producer must have stopped queueing (``Run.finish`` installs an
        append that raises) before this is called.
        """
        self._stop = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            self._closed = True
            self._drain_locked()
            self._drain_locked()  # a late append to the queue swapped out last
            if self._pending:
                self._write([])
            if fsync and self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
            ok = not self._pending
            if ok:
                self._close_fd()
            return ok
        finally:
            self._lock.release()
