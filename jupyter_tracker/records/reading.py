"""Reading a log: every record in order (:func:`read_log`), what a tail added since
the last read (:func:`read_new_frames`), whole frames for upload (:func:`read_frames`),
and what the reader skipped (:class:`ReadReport`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from .lines import decode_line

__all__ = ["ReadReport", "LogPosition", "read_log", "read_new_frames", "Frame", "read_frames", "last_seq"]


@dataclass
class ReadReport:
    """What a reader found besides the good records."""

    records: int = 0
    corrupt: int = 0
    #: Records lost in corrupt frames: the sequence numbers no good frame holds below
    #: the highest one read (from 1 when the file is read from its start).
    missing: int = 0
    #: The same as inclusive ``[from_seq, to_seq]`` ranges, in order.
    missing_ranges: list[list[int]] = field(default_factory=list)
    #: Records whose sequence number an earlier good frame of the file held already
    #: (a frame written twice); the reader yields them all the same.
    duplicates: int = 0
    torn_tail: bool = False
    bytes_read: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.corrupt + (1 if self.torn_tail else 0)


@dataclass
class LogPosition:
    """How far an incremental reader got in a log: what the next read continues from."""

    #: Bytes of complete lines consumed (a torn or half-written last line is not).
    offset: int = 0
    #: Lines consumed, so that problems name absolute line numbers.
    lines: int = 0
    #: The highest sequence number read so far (0 at the start of a log; None when
    #: reading from an offset whose past is unknown: no gap is counted before it).
    seq: int | None = 0


def _repeated(frame: list, highest: int) -> int:
    """How many records of ``frame`` have a sequence number at or below ``highest``."""
    first, last = frame[0][0], frame[-1][0]
    if first > highest:
        return 0
    if last <= highest and last - first + 1 == len(frame):
        return len(frame)
    return sum(1 for record in frame if record[0] <= highest)


def read_log(path: str | os.PathLike, report: ReadReport | None = None, offset: int = 0) -> Iterator[list]:
    """Yield the good records of a log file, in file order.

    A last line without its newline (the record being written when the process
    was killed) is a torn tail; lines whose checksum or JSON do not hold are
    corrupt. Both are skipped and counted in ``report``; the rest of the file
    is always read. A missing file yields nothing.

    ``report.missing`` counts the sequence numbers that no good frame holds
    (before the first good frame, a log starting at 1, and between frames);
    ``report.duplicates`` the records whose sequence number an earlier frame
    held already. Every good record is yielded, duplicates too.
    """
    for frame in read_new_frames(path, LogPosition(offset=offset, seq=None if offset else 0), report):
        yield from frame


def read_new_frames(path: str | os.PathLike, position: LogPosition,
                    report: ReadReport | None = None, limit: int | None = None) -> Iterator[list]:
    """Yield the good frames (lists of records) of the complete lines after ``position``.

    The incremental form of :func:`read_log`: corrupt lines and gaps in the
    sequence numbers are counted in ``report`` as there, ``report.torn_tail``
    says whether bytes follow the last complete line, and once the generator
    is exhausted ``position`` has moved past the lines read (a half-written
    last line is read again next time). With ``limit``, about that many bytes
    are read (at least one whole line): a reader that paces itself (the live
    panel) takes the rest next time.
    """
    if report is None:
        report = ReadReport()
    try:
        with open(path, "rb") as handle:
            if position.offset:
                handle.seek(position.offset)
            data = handle.read() if limit is None else handle.read(limit)
            if limit is not None and len(data) == limit and b"\n" not in data:  # a line longer than limit
                data += handle.readline()
    except FileNotFoundError:
        return
    report.bytes_read = position.offset + len(data)
    end = data.rfind(b"\n") + 1
    lines = data[:end].split(b"\n")
    lines.pop()  # b"" after the last newline
    number = position.lines
    highest = position.seq  # the highest sequence number read so far
    for line in lines:
        number += 1
        if not line:
            continue
        frame = decode_line(line)
        if frame is None:
            report.corrupt += 1
            report.problems.append(f"line {number}: corrupt frame skipped")
            continue
        first = frame[0][0]
        if highest is None:  # read from an offset: what came before is unknown
            highest = first - 1
        if first > highest + 1:
            report.missing += first - highest - 1
            report.missing_ranges.append([highest + 1, first - 1])
            report.problems.append(f"line {number}: records {highest + 1}-{first - 1} missing before it")
        else:
            repeated = _repeated(frame, highest)
            if repeated:
                report.duplicates += repeated
                report.problems.append(f"line {number}: {repeated} records repeat earlier sequence numbers")
        highest = max(highest, frame[-1][0])
        report.records += len(frame)
        yield frame
    position.offset += end
    position.lines = number
    position.seq = highest
    report.torn_tail = end < len(data)
    if report.torn_tail:
        report.problems.append(f"line {number + 1}: torn last record skipped")


@dataclass
class Frame:
    """One good line of a log, as its raw JSON (for forwarding without re-encoding)."""

    first: int
    last: int
    payload: bytes  # the JSON array of records, exactly as written
    end: int  # byte offset just after the line
    count: int = 0  # how many records the frame holds


def read_frames(
    path: str | os.PathLike, offset: int = 0, limit: int = 64 << 20, corrupt_at: list[tuple[int, int]] | None = None
) -> tuple[list[Frame], int, int]:
    """Complete, good frames from ``offset`` on (at most about ``limit`` bytes).

    Returns the frames, the offset after the last complete line read, and the
    number of corrupt lines skipped (their byte ranges are appended to
    ``corrupt_at`` when given). An incomplete last line (still being written,
    or torn) is left for the next call.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(limit)
    except FileNotFoundError:
        return [], offset, 0
    frames: list[Frame] = []
    corrupt = 0
    position = 0
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            break
        line = data[position:newline]
        start, position = position, newline + 1
        if not line:
            continue
        frame = decode_line(line)
        if frame is None:
            corrupt += 1
            if corrupt_at is not None:
                corrupt_at.append((offset + start, offset + position))
            continue
        frames.append(Frame(frame[0][0], frame[-1][0], line[: len(line) - 9], offset + position, len(frame)))
    return frames, offset + position, corrupt


def last_seq(path: str | os.PathLike) -> int:
    """The highest sequence number in a log file (0 when empty or missing)."""
    highest = 0
    for record in read_log(path):
        if record[0] > highest:
            highest = record[0]
    return highest
