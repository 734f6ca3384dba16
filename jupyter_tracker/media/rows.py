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
from pathlib import Path
from typing import Any, Callable

from ..limits import MAX_MEDIA_BYTES_PER_STEP, MEDIA_PENDING_BYTES
from .storage import resolve
from .values import MediaError, Pending, prepare

__all__ = ["Budget", "prepare_row", "split_rows", "release_row", "pieces"]


class Budget:
    """Bytes of media copied by ``log()`` and not yet written; ``log()`` waits above the limit."""

    def __init__(self, writer: Any, limit: int = MEDIA_PENDING_BYTES) -> None:
        self.limit = limit
        self.used = 0
        self._writer = writer
        self._room = threading.Condition(threading.Lock())

    def reserve(self, size: int) -> None:
        """Count ``size`` bytes; first wait while others fill the budget (one value alone
        may be bigger than it). Never waits on the writer thread or once the run finishes."""
        writer = self._writer
        with self._room:
            while (self.used and self.used + size > self.limit and writer.alive
                   and not writer._finishing and threading.current_thread() is not writer._thread):
                writer.wake()
                self._room.wait(0.5)
            self.used += size

    def release(self, size: int) -> None:
        with self._room:
            self.used = max(0, self.used - size)
            self._room.notify_all()


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
        if item[1] == "M":
            out.append(items[start:index + 1])
            start = index + 1
    if start < len(items):
        out.append(items[start:])
    return out


def split_rows(items: list[list], run_dir: Path, notify: Callable[[str, str | None], None],
               budget: Budget | None) -> list[list]:
    """``items`` with each ``"M"`` row replaced by its ``"H"`` row of numbers and its
    ``media`` record (the files written first)."""
    out: list[list] = []
    for item in items:
        if item[1] != "M":
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
            out.append([0, "H", step, ts, numbers])
        try:
            references = resolve(run_dir, step, media, notify)
        finally:
            if budget is not None:
                budget.release(sum(value.nbytes for value in media.values()))
        if references:
            out.append([0, "media", ts, {"step": step, "values": references}])
    return out
