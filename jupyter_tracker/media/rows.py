"""Rows with media, from ``log()`` to the events log.

On the training thread, :func:`prepare_row` validates and copies each media
value of a row (``values.prepare``) and holds ``log()`` while more than
:data:`~jupyter_tracker.limits.MEDIA_PENDING_BYTES` of copies wait for the
writer (:class:`Budget`). The row is queued with the kind ``"M"``.

On the writer thread, :func:`split_rows` turns each ``"M"`` row into the
history record of its numbers (if any) and one ``media`` record of references,
``[seq, "media", ts, {"step": step, "values": {key: reference}}]``, after
writing the files those references name (``storage.resolve``).
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable

from ..limits import MAX_MEDIA_BYTES_PER_STEP, MEDIA_PENDING_BYTES
from ..records import MEDIA, MEDIA_ROW, NEW_HISTORY
from .storage import resolve
from .values import MediaError, Pending, prepare

__all__ = ["Budget", "prepare_row", "split_rows", "release_row", "pieces", "write_rows"]


class Budget:
    """Bytes of media copied by ``log()`` and not yet written; ``log()`` waits above the limit.

    While the disk refuses media files (full, read-only), the values wait here in
    order (:attr:`waiting`) and are written again at each drain of the writer
    (:meth:`retry`), their records after them: nothing logged is lost, and
    ``log()`` pauses once more than the limit waits, as it does for records.
    """

    def __init__(self, writer: Any, limit: int = MEDIA_PENDING_BYTES) -> None:
        self.limit = limit
        self.used = 0
        self._writer = writer
        self._room = threading.Condition(threading.Lock())
        #: [step, ts, {key: Pending}] the disk refused, oldest first.
        self.waiting: deque[list] = deque()
        self.failure: str | None = None
        self._outages = 0

    def reserve(self, size: int) -> None:
        """Count ``size`` bytes; first wait while others fill the budget (one value alone
        may be bigger than it). Never waits on the writer thread or once the run finishes."""
        writer = self._writer
        with self._room:
            while (self.used and self.used + size > self.limit and writer.alive
                   and not writer._finishing and threading.current_thread() is not writer._thread):
                if self.failure is not None:
                    writer._notify(
                        f"training is paused: media files cannot be written under {writer.path.parent / 'files'} "
                        f"({self.failure}) and {self.used / 2**20:.0f} MiB of media wait in memory. Free space there "
                        "and training goes on by itself; nothing logged is lost", f"media-paused-{self._outages}")
                writer.wake()
                self._room.wait(0.5)
            self.used += size

    def release(self, size: int) -> None:
        with self._room:
            self.used = max(0, self.used - size)
            self._room.notify_all()


    def hold(self, step: int, ts: float, values: dict[str, Pending], failure: OSError | None,
             notify: Callable[[str, str | None], None]) -> None:
        """Keep ``values`` (logged at ``step``) until the disk takes them; say so once per outage."""
        self.waiting.append([step, ts, values])
        if failure is not None and self.failure is None:
            self.failure = failure.strerror or str(failure)
            self._outages += 1
            notify(f"cannot write media files ({self.failure}); keeping them in memory and retrying: training goes "
                   f"on, and pauses only if more than {self.limit >> 20} MiB of media wait", f"media-failed-{self._outages}")

    def retry(self, run_dir: Path, notify: Callable[[str, str | None], None]) -> list[list]:
        """Write what waits, oldest first, until the disk refuses again; the media records of what was written."""
        out: list[list] = []
        written = 0
        while self.waiting:
            step, ts, values = self.waiting[0]
            references, kept, _ = resolve(run_dir, step, values, notify)
            self.release(_size(values) - _size(kept))
            if references:
                out.append([0, MEDIA, ts, {"step": step, "values": references}])
                written += len(references)
            if kept:
                self.waiting[0][2] = kept
                return out
            self.waiting.popleft()
        if self.failure is not None:
            notify(f"media files are writable again: the media kept in memory meanwhile are written ({written} "
                   "values in the last try); nothing was lost", None)
            self.failure = None
        return out

    def lost(self) -> str | None:
        """What still waits (at finish): said, because it is lost."""
        if not self.waiting:
            return None
        count = sum(len(values) for _, _, values in self.waiting)
        return (f"{count} media values (steps {self.waiting[0][0]} to {self.waiting[-1][0]}) could not be written "
                f"({self.failure or 'write failed'})")


def _size(values: dict[str, Pending]) -> int:
    return sum(value.nbytes for value in values.values())


def _budget(writer: Any) -> Budget:
    budget = writer.media_budget
    if budget is None:
        budget = writer.media_budget = Budget(writer)
    return budget


def prepare_row(row: dict, keys: list[str], writer: Any) -> Exception | None:
    """Replace the media values of ``row`` (under ``keys``) by their validated copies.

    A value that cannot be logged is taken out of the row, and the first such
    error returned (``log()`` logs the rest, then raises it). Values prepared
    already (a :class:`Pending`, when ``log()`` passes the rest of a row again)
    stay as they are and are not counted twice.
    """
    error: Exception | None = None
    total = fresh = 0
    for key in keys:
        value = row.get(key)
        if isinstance(value, Pending):
            total += value.nbytes
            continue
        try:
            pending = prepare(key, value)
        except MediaError as exc:
            del row[key]
            error = error or exc
            continue
        row[key] = pending
        total += pending.nbytes
        fresh += pending.nbytes
    if total > MAX_MEDIA_BYTES_PER_STEP:
        for key in keys:
            if isinstance(row.get(key), Pending):
                del row[key]
        return MediaError(
            f"log(): the media of one call hold {total / 2**20:.0f} MiB ({', '.join(map(repr, keys[:5]))}); the "
            f"limit is {MAX_MEDIA_BYTES_PER_STEP >> 20} MiB: log them in several calls. The other keys were logged"
        )
    if fresh:
        _budget(writer).reserve(fresh)
    return error


def release_row(row: dict, writer: Any) -> None:
    """A prepared row that will not be queued (a step lower than the current one)."""
    size = sum(value.nbytes for value in row.values() if isinstance(value, Pending))
    if size and writer.media_budget is not None:
        writer.media_budget.release(size)


def pieces(items: list[list]) -> list[list[list]]:
    """``items`` cut after each ``"M"`` row: the writer writes each piece before it encodes the
    next one's media, so a kill loses the records after one image, not after all those queued."""
    out: list[list[list]] = []
    start = 0
    for index, item in enumerate(items):
        if item[1] == MEDIA_ROW:
            out.append(items[start:index + 1])
            start = index + 1
    if start < len(items):
        out.append(items[start:])
    return out


def write_rows(writer: Any, items: list[list]) -> None:
    """On the writer thread: ``items`` holding ``"M"`` rows written a piece at a time (each
    row's files, then its records), ``items`` replaced by the records written, in order."""
    done: list[list] = []
    for piece in pieces(items):
        piece = split_rows(piece, writer.path.parent, writer._notify, writer.media_budget)
        if piece:
            writer._encode(piece)
            writer._write()
        done += piece
    items[:] = done


def split_rows(items: list[list], run_dir: Path, notify: Callable[[str, str | None], None],
               budget: Budget | None) -> list[list]:
    """``items`` with each ``"M"`` row replaced by its ``"H"`` row of numbers and its
    ``media`` record (the files written first)."""
    out: list[list] = []
    for item in items:
        if item[1] != MEDIA_ROW:
            out.append(item)
            continue
        _, _, step, ts, row = item
        numbers = {}
        media = {}
        for key, value in row.items():
            if isinstance(value, Pending):
                media[key] = value
            else:
                numbers[key] = value
        if numbers:
            out.append([0, NEW_HISTORY, step, ts, numbers])
        if budget is not None and budget.waiting:  # behind the media the disk refused: in order
            budget.hold(step, ts, media, None, notify)
            continue
        references, kept, failure = resolve(run_dir, step, media, notify)
        if budget is not None:
            budget.release(_size(media) - _size(kept))
            if kept:
                budget.hold(step, ts, kept, failure, notify)
        if references:
            out.append([0, MEDIA, ts, {"step": step, "values": references}])
    return out
