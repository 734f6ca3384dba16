"""The append-only events log: the writer thread of the kernel process.

``Run.log`` calls :attr:`Writer.append` with a row (see :mod:`~jupyter_tracker.records.queued`)
or a record (a list whose first element is a placeholder for the sequence number) and
returns: ``append`` is the ``append`` of the writer's current queue, a builtin (no Python
frame). Every :data:`FLUSH_INTERVAL` seconds (:data:`BUSY_INTERVAL` while ``log()`` is
busy) the writer thread swaps in a fresh queue, numbers and encodes what it took, and
writes it with one ``os.write``: a kill loses at most the records of the last interval.
The records are also handed to the run's :class:`~jupyter_tracker.summaries.SummaryState`
and to any subscriber (:meth:`Writer.subscribe`), on the writer thread, so the
training thread never does that work (the live panel reads the file instead).

Failures of ours never reach ``log()``. When the file cannot be written (a
full disk, a removed folder) the encoded frames stay in memory, in order, and
are retried every interval; the problem is reported once through ``notify``.
A write the disk takes only part of never leaves a torn frame and is never
repeated: the whole frames that reached the file stay, the piece of a frame
after them is cut off again (the run's lock makes that safe), and the retry
starts right after them.

Backpressure costs the hot path nothing in the usual case: inside a write,
while writes fail, or while the writer falls behind a busy ``log()``, its
``append`` also counts what is not on disk yet, and makes ``log()`` wait on a
condition woken by the writer while that is more than :data:`QUEUE_LIMIT`
records (:data:`BUSY_LIMIT` when busy) or :data:`HELD_BYTES_LIMIT` bytes.
"""

from __future__ import annotations

import operator
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from itertools import repeat, starmap
from pathlib import Path

from .. import records
from ..records import queued
from ..summaries import SummaryState

__all__ = ["Writer", "FLUSH_INTERVAL", "QUEUE_LIMIT", "HELD_BYTES_LIMIT"]

#: Seconds between two writes of the queued records (the most a kill can lose).
FLUSH_INTERVAL = 0.1
#: Records not yet on disk (queued or held) above which ``log()`` waits for the writer.
QUEUE_LIMIT = 200_000
#: A busy log(): a drain of BUSY_BATCH records or more is followed by the next BUSY_INTERVAL s
#: after its start; once the writer falls behind (a drain of BUSY_LIMIT // 2), log() waits on
#: a condition (silently) while more than BUSY_LIMIT are queued: little waits in memory.
BUSY_BATCH, BUSY_INTERVAL, BUSY_LIMIT = 2048, 0.02, 10_000
#: Encoded bytes held in memory while the log cannot be written, above which ``log()`` waits.
HELD_BYTES_LIMIT = 64 << 20

_ONLY_HISTORY = {records.HISTORY}
_KIND, _ROW = operator.itemgetter(1), operator.itemgetter(4)


class Writer:
    """Numbers, encodes and appends queued records to one log file.

    Parameters
    ----------
    path
        The events log; opened for appending, created when missing. A torn
        last frame (a killed writer's) is cut off first: the caller holds the
        run's lock.
    summary
        Fed every history row and ``m``/``s`` record.
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
        seq: int = 0,
        notify: Callable[[str, str | None], None] | None = None,
        tick: Callable[[], None] | None = None,
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self.path = Path(path)
        self.summary = summary
        self.seq = seq
        self._subscribers: tuple[Callable[[list], None], ...] = ()
        self._notify = notify or (lambda message, key: None)
        self._tick = tick
        self._interval = interval
        self.queue: deque = deque()
        #: Queues one record; swapped by the writer (the plain queue's append, the counting
        #: one under backpressure, a raising one once sealed). Producers call it, never keep it.
        self.append: Callable[[list], None] = self.queue.append
        self._append_lock = threading.Lock()
        self._sealed = False
        self._older: deque = deque()  # the last queue swapped out: may get a late append
        self._last_batch = 0  # records taken by the last drain
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one drain at a time (thread or caller)
        self._stop = self._closed = False
        self._finishing = False  # the run is finishing: nothing waits for room any more
        # Encoded records not on disk yet, oldest first: [frames, first seq, record count].
        # Each chunk starts at a frame boundary (unless the file could not be cut back).
        self._pending: deque[list] = deque()
        self._held = self._held_bytes = 0  # records and bytes in _pending
        self._behind = 0  # what backpressure counts: _held, or more when too many bytes are held
        self._room = threading.Condition(threading.Lock())
        self._waiters = 0
        self._stalled = False  # inside a write, or writes fail: the checking append is installed
        self._busy = False  # the writer falls behind a busy log(): the checking append too
        self._limit = QUEUE_LIMIT  # what the checking append allows to wait
        self._fd: int | None = None
        self._size = 0  # bytes of the file known to hold whole frames
        self._failure: str | None = None  # why writes fail, while they do
        self._outages = 0
        self._outage_records = 0  # records held in memory during the current outage
        self._replaced: tuple[int, int] | None = None
        self._last_tick = 0.0
        #: Bytes of a torn last frame cut off when the file was opened.
        self.cut_tail = 0
        self._open()
        self._thread = threading.Thread(target=self._run, name="tracker-writer", daemon=True)
        self._thread.start()

    # -- file -----------------------------------------------------------------
    def _open(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            self.cut_tail = records.cut_torn_tail(fd)
            self._size = os.fstat(fd).st_size
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def _reopen(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
        except OSError:
            os.close(fd)
            raise
        # Something else removed or cut the file while we could not write to it.
        self._replaced = (self._size, size) if size < self._size else None
        self._fd = fd
        return fd

    def _write(self) -> None:
        """Append the pending chunks, oldest first; on an error keep what did not reach the file."""
        pending = self._pending
        self._stall(True)  # the disk may stall us: count what is behind
        try:
            fd = self._fd if self._fd is not None else self._reopen()
            while pending:
                chunk = pending[0]
                try:
                    records.write_all(fd, chunk[0])
                except OSError as exc:
                    self._keep_whole_frames(fd, chunk, getattr(exc, "written", 0))
                    raise
                pending.popleft()
                self._size += len(chunk[0])
                self._held -= chunk[2]
                self._held_bytes -= len(chunk[0])
                self._set_behind()
        except OSError as exc:
            self._failed(exc)
            return
        if self._failure is not None:
            self._recovered()
        self._stall(False)

    def _keep_whole_frames(self, fd: int, chunk: list, done: int) -> None:
        """A write failed after ``done`` bytes of ``chunk`` reached the file: keep the whole
        frames among them, cut the piece of a frame after them off the file again, and
        leave the rest of the chunk to be retried."""
        if done <= 0:
            return
        data, first, count = chunk
        whole = data.rfind(b"\n", 0, done) + 1  # bytes of the whole frames written
        try:
            os.ftruncate(fd, os.fstat(fd).st_size - (done - whole))
            rest = data[whole:]
        except OSError:  # cannot cut it: the rest of that frame must follow it exactly
            rest = data[done:]
        if whole:
            next_first = records.first_seq(data, whole) if whole < len(data) else first + count
            chunk[1], chunk[2] = next_first, count - (next_first - first)
            self._held -= next_first - first
            self._size += whole
        chunk[0] = rest
        self._held_bytes -= len(data) - len(rest)
        self._set_behind()

    def _failed(self, exc: OSError) -> None:
        self._close_fd()
        if self._failure is None:
            self._failure = exc.strerror or str(exc)
            self._outages += 1
            self._outage_records = self._held
            self._notify(
                f"cannot write {self.path.name} ({self._failure}); keeping the records in memory "
                f"and retrying: training goes on, and pauses only if more than {QUEUE_LIMIT:,} "
                "records wait",
                f"write-failed-{self._outages}",
            )

    def _recovered(self) -> None:
        message = (
            f"{self.path.name} is writable again: the {self._outage_records:,} records kept in "
            "memory meanwhile are written"
        )
        if self._replaced is not None:
            before, after = self._replaced
            message += (
                f", but the file was removed or cut by something else meanwhile ({before:,} bytes "
                f"before, {after:,} after): what it held before may be gone"
            )
        else:
            message += "; nothing was lost"
        self._failure = None
        self._replaced = None
        self._notify(message, None)

    def _close_fd(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None

    # -- the producers' side ----------------------------------------------------
    def _install(self, append: Callable[[list], None]) -> None:
        with self._append_lock:
            if not self._sealed:
                self.append = append

    def seal(self, closed: Callable[[list], None]) -> Callable[[list], None]:
        """From now on ``append`` is ``closed`` (it raises); returns the append it replaced,
        for the producer's last records (``finish()``'s state record)."""
        with self._append_lock:
            previous, self.append = self.append, closed
            self._sealed = True
        return previous

    def forked(self, call: Callable[..., None]) -> None:
        """In a child made by fork (no writer thread, the locks may be held): ``append`` is ``call``."""
        self._sealed = True
        self.append = call

    def subscribe(self, listener: Callable[[list], None]) -> Callable[[], None]:
        """Hand ``listener`` every batch of records after it is written, on the writer thread;
        returns the function that unsubscribes it. A listener must be quick (it delays the
        next write) and its exceptions are reported, never raised."""
        self._subscribers += (listener,)
        return lambda: setattr(self, "_subscribers", tuple(s for s in self._subscribers if s is not listener))

    subscribers = property(lambda self: self._subscribers, doc="The listeners subscribed, in order.")

    # -- backpressure ---------------------------------------------------------
    def _stall(self, stalled: bool) -> None:
        """Install the counting append (inside a write, or while writes fail) or the plain one."""
        if stalled == self._stalled or self._closed:
            return
        if not stalled and (self._pending or self._failure is not None):
            return
        self._stalled = stalled
        self._install(self._checked_append if stalled or self._busy else self.queue.append)
        if not stalled:
            self._wake_waiters()

    def _set_behind(self) -> None:
        behind = self._held
        if self._held_bytes > HELD_BYTES_LIMIT:
            behind = max(behind, QUEUE_LIMIT + 1)
        shrank = behind < self._behind
        self._behind = behind
        if shrank:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        if self._waiters:
            with self._room:
                self._room.notify_all()

    def _checked_append(self, item: list) -> None:
        queue = self.queue
        queue.append(item)
        if len(queue) + self._behind > self._limit:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        """Block the producer until the writer is at most half the limit behind."""
        if self._closed or self._finishing or threading.current_thread() is self._thread:
            return  # finish() and the writer's own housekeeping must not wait
        self._wake.set()
        limit = self._limit
        if limit < QUEUE_LIMIT:
            pass  # a busy log() waiting for the writer to catch up: usual, nothing to say
        elif self._failure is not None:
            self._notify(
                f"training is paused: {self.path} cannot be written ({self._failure}) and "
                f"{len(self.queue) + self._held:,} records wait in memory. Free space there (or make "
                "it writable) and training goes on by itself; nothing logged is lost",
                f"paused-{self._outages}",
            )
        else:
            self._notify(
                f"log() is faster than the disk: waiting for {len(self.queue) + self._held:,} "
                "queued records to be written",
                "backpressure",
            )
        with self._room:
            self._waiters += 1
            try:
                while len(self.queue) + self._behind > limit // 2 and not (self._closed or self._finishing):
                    if not self._room.wait(1.0) and not self._thread.is_alive():
                        break  # no writer left to wait for
            finally:
                self._waiters -= 1

    # -- draining -------------------------------------------------------------
    def _take(self) -> list[list]:
        """Everything queued so far, in order; producers move on to a fresh queue."""
        older = self._older
        late = list(starmap(older.popleft, repeat((), len(older)))) if older else None
        current = self.queue
        self.queue = deque()
        self._busy = len(current) >= BUSY_LIMIT // 2
        self._limit = min(BUSY_LIMIT, QUEUE_LIMIT) if self._busy and self._failure is None else QUEUE_LIMIT
        if not self._closed:
            self._install(self._checked_append if self._stalled or self._busy else self.queue.append)
        # Take exactly the records there now, one C call popping each (a late append lands
        # after them, whole, and is taken next time); the old queue keeps no reference to them.
        items = list(starmap(current.popleft, repeat((), len(current))))
        self._older = current
        if late:
            items[:0] = late
        self._last_batch = len(items)
        return items

    def drain(self) -> None:
        """Encode and write everything queued so far (callable from any thread)."""
        with self._lock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        items = self._take()
        if items:
            items = self._encode(items)
        if self._pending:
            self._write()
        if items:
            for listener in self._subscribers:
                try:
                    listener(items)
                except Exception as exc:  # noqa: BLE001 - a listener must not stop the log
                    self._notify(f"live view failed: {exc!r}", "listener")

    def _encode(self, items: list) -> list[list]:
        """Number and encode ``items`` into a pending chunk, and feed the summary.

        A record that cannot be encoded is dropped alone (and said so); its
        neighbours are numbered without a gap and written. Returns the records
        written, for the subscribers (built only when there are any).
        """
        first = self.seq + 1
        frames: list[bytes] = []
        rejected: list = []
        if queued.all_rows(items):  # a busy loop's batch: rows queued by Run.log
            self.seq, rows, steps, times = queued.encode_rows(items, self.seq, frames, rejected)
            if rows:
                self.summary.add_rows(rows, steps[-1], check_new=False)
            items = queued.records_of(first, rows, steps, times) if self._subscribers else rows
        else:
            queued.unqueue(items)
            kinds = set(map(_KIND, items))
            if records.NEW_HISTORY in kinds:
                for item in items:
                    if item[1] == records.NEW_HISTORY:
                        item[1] = records.HISTORY
            self.seq = records.encode_items(items, self.seq, frames, rejected)
            if items:
                if kinds == _ONLY_HISTORY:
                    self.summary.add_rows(list(map(_ROW, items)), items[-1][2], check_new=False)
                else:  # rows with new keys, metric and summary records, in order
                    self.summary.visit(items)
        if rejected:
            self._report_rejected(rejected)
        count = self.seq - first + 1
        if not count:
            return []
        data = b"".join(frames)
        self._pending.append([data, first, count])
        self._held += count
        self._held_bytes += len(data)
        if self._failure is not None:
            self._outage_records += count
        self._set_behind()
        return items

    def _report_rejected(self, rejected: list) -> None:
        for record, error in rejected:
            self._notify(f"{self.path.name}: {records.describe_rejected(record, error)}", None)

    def _run(self) -> None:
        try:
            took, interval = 0.0, self._interval
            while True:
                # every interval from the start of the last drain: a drain as long as the
                # interval (a busy producer) is followed by the next at once, not by a pause
                self._sleep(interval - took)
                self._wake.clear()
                stopping = self._stop
                started = time.monotonic()
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
                interval = self._interval if self._last_batch < BUSY_BATCH else min(self._interval, BUSY_INTERVAL)
                took = min(time.monotonic() - started, interval)
        finally:
            self._wake_waiters()  # a producer waiting for room must not wait for a gone writer

    def _sleep(self, seconds: float) -> None:
        """Until woken or ``seconds`` passed, looking every BUSY_INTERVAL: a loop turning busy is drained at once."""
        deadline = time.monotonic() + seconds
        while not self._wake.wait(min(BUSY_INTERVAL, max(0.0, deadline - time.monotonic()))):
            if len(self.queue) >= BUSY_BATCH or time.monotonic() >= deadline:
                return

    def wake(self) -> None:
        self._wake.set()

    alive = property(lambda self: self._thread.is_alive(), doc="Whether the writer thread runs.")

    def unwritten_report(self) -> str:
        """What is not on disk, exactly: the records (by sequence number) and why."""
        if not self._pending:
            return f"everything is written to {self.path.name}"
        first, last, size = self._pending[0][1], self.seq, sum(len(chunk[0]) for chunk in self._pending)
        return (
            f"{self._held:,} records (sequence numbers {first} to {last}, {size:,} bytes) "
            f"could not be written to {self.path.name} ({self._failure or 'write failed'})"
        )

    # -- shutdown -------------------------------------------------------------
    def finishing(self, finishing: bool = True) -> None:
        """The run is finishing: its last records never wait (a producer waiting stops too).
        ``finishing(False)``: an interrupted finish, the run records on."""
        self._finishing = finishing
        if finishing:
            self._wake_waiters()

    def close(self, timeout: float = 5.0, fsync: bool = True) -> bool:
        """Drain, write, fsync and stop the thread; ``False`` if data is still pending.

        While the file cannot be written, the write is retried every interval
        for up to ``timeout`` seconds. The producer must have stopped queueing
        (``Run.finish`` seals the writer with an append that raises) before this is called.
        """
        deadline = time.monotonic() + timeout
        self._stop = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        try:
            self._closed = True
            self._wake_waiters()
            self._drain_locked()
            self._drain_locked()  # a late append to the queue swapped out last
            retry = threading.Event()
            while self._pending and time.monotonic() < deadline:
                retry.wait(self._interval)
                self._write()
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

