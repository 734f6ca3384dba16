"""Appending to a log from a process that holds the run's lock: whole frames only,
after cutting a torn tail another process left."""

from __future__ import annotations

import errno
import os

from .lines import encode
from .reading import last_seq

__all__ = ["append_records", "cut_torn_tail", "write_all"]


def append_records(path: str | os.PathLike, records: list[list], seq: int | None = None) -> int:
    """Append records to a log another process may have left torn; return the last seq.

    Used by a process that takes over a log after its writer is gone (the
    service marking a run crashed), holding the run directory's lock. A torn
    tail is cut off first (:func:`cut_torn_tail`) so that the new records start
    on a line of their own, right after the last whole frame.
    """
    if seq is None:
        seq = last_seq(path)
    numbered = [[seq + i, *record[1:]] for i, record in enumerate(records, 1)]
    seq += len(numbered)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        cut_torn_tail(fd)
        write_all(fd, encode(numbered))
    finally:
        os.close(fd)
    return seq


def cut_torn_tail(fd: int) -> int:
    """Cut a log back to its last newline; return how many bytes were cut.

    A last line without its newline is a frame its writer never finished (the
    process was killed in the middle of a write): readers skip it, so cutting
    it loses nothing they could read, and the next frame starts on a line of
    its own. Only for a process that holds the run directory's lock; ``fd``
    must be open for reading and writing.
    """
    size = os.fstat(fd).st_size
    if not size or os.pread(fd, 1, size - 1) == b"\n":
        return 0
    keep, end = 0, size
    while end > 0:
        start = max(0, end - (1 << 16))
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    os.ftruncate(fd, keep)
    return size - keep


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written.

    On an error, the ``OSError`` raised carries ``written``: how many bytes of
    ``data`` reached the file before it (a full disk accepts part of a write).
    """
    view = memoryview(data)
    done = 0
    try:
        while done < len(view):
            written = os.write(fd, view[done:])
            if not written:
                raise OSError(errno.EIO, "the file accepted no more bytes")
            done += written
    except OSError as exc:
        exc.written = done  # type: ignore[attr-defined]
        raise
