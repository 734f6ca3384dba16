"""The record schema and its line format, shared by every process.

A log file (``events.log``, ``system.log``) is a sequence of lines, one record
per line::

    <json array>\\t<crc32 of the json bytes, 8 lowercase hex digits>\\n

The JSON array always starts with the record's sequence number and kind:

============  ===================================================================
kind          array
============  ===================================================================
``h``         ``[seq, "h", step, ts, {metric: value}]`` one ``log()`` call
``c``         ``[seq, "c", ts, {key: value}]`` config keys set or changed
``s``         ``[seq, "s", ts, {"set": {key: value}, "del": [key]}]`` summary overrides
``m``         ``[seq, "m", ts, {"name", "step_metric", "summary"}]`` define_metric
``meta``      ``[seq, "meta", ts, {...}]`` run identity changes (name, tags, notes,
              git SHA, notebook path)
``f``         ``[seq, "f", ts, {"path", "policy"}]`` a file saved into ``files/``
``start``     ``[seq, "start", ts, {...}]`` a process started (or resumed) the run
``state``     ``[seq, "state", ts, {"state", "exit_code", "reason"}]``
``alert``     ``[seq, "alert", ts, {"title", "text", "level"}]`` ``run.alert()``
``sys``       ``[seq, "sys", ts, {metric: value}]`` system metrics (``system.log``)
============  ===================================================================

``ts`` is seconds since the epoch. Floats that JSON cannot hold (NaN, ±inf)
are written as ``{"$float": "NaN" | "Infinity" | "-Infinity"}``. See
``docs/format.md``.
"""

from __future__ import annotations

import errno
import math
import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson

__all__ = [
    "HISTORY",
    "CONFIG",
    "SUMMARY",
    "METRIC",
    "META",
    "FILE",
    "START",
    "STATE",
    "ALERT",
    "SYSTEM",
    "encode",
    "encode_items",
    "decode_line",
    "read_log",
    "read_new_frames",
    "LogPosition",
    "ReadReport",
    "jsonable",
    "to_float",
    "restore_floats",
    "append_records",
    "cut_torn_tail",
    "write_all",
    "last_seq",
    "Frame",
    "read_frames",
]

HISTORY = "h"
CONFIG = "c"
SUMMARY = "s"
METRIC = "m"
META = "meta"
FILE = "f"
START = "start"
STATE = "state"
ALERT = "alert"
SYSTEM = "sys"

#: The most records one line (frame) holds: what a corrupt line can cost.
FRAME_RECORDS = 256
#: A frame of several records is cut in two while it is longer than this, so that
#: one frame always fits in one upload request (one large record is a frame of its own).
FRAME_BYTES = 4 << 20

_dumps = orjson.dumps
_loads = orjson.loads
_zlib_crc = zlib.crc32
# zlib releases the GIL for buffers over 5 KiB; on the writer thread that would hand
# the GIL to a training loop for a whole switch interval (5 ms) at every frame.
_CRC_PIECE = 5 * 1024


def _crc(payload: bytes) -> int:
    """CRC-32 of ``payload``, computed in pieces small enough to keep the GIL."""
    if len(payload) <= _CRC_PIECE:
        return _zlib_crc(payload)
    view = memoryview(payload)
    crc = 0
    for start in range(0, len(payload), _CRC_PIECE):
        crc = _zlib_crc(view[start : start + _CRC_PIECE], crc)
    return crc


_LIST = {list}
_INT = {int}
_FIRST = itemgetter(0)
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_tag(value: float) -> Any:
    if value != value:
        return {"$float": "NaN"}
    if value in (math.inf, -math.inf):
        return {"$float": "Infinity" if value > 0 else "-Infinity"}
    return value


def to_float(value: Any) -> float | None:
    """A metric value as a float, or ``None`` when it is not a number.

    Accepts int, float, bool, numpy scalars and 0-d arrays or tensors (anything
    with ``shape == ()`` or ``ndim == 0`` that converts with ``float()``).
    Strings, bytes, lists and other objects give ``None``.
    """
    if isinstance(value, (str, bytes, bytearray)):
        return None
    if isinstance(value, (bool, int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if getattr(value, "ndim", None) == 0 or getattr(value, "shape", None) in ((), []):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    # Objects that are plain numbers in disguise (numbers.Real, Decimal, Fraction).
    try:
        import numbers

        if isinstance(value, numbers.Real):
            return float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def jsonable(value: Any, _depth: int = 0) -> Any:
    """``value`` made of JSON types only, with non-finite floats tagged.

    Used for config, summary overrides and metadata (not on the hot path).
    Tuples and sets become lists, numpy scalars and arrays plain Python values,
    mappings get string keys, and other objects their ``str()``.
    """
    if _depth > 64:
        return str(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else float(value)
    if isinstance(value, float):  # numpy.float64 is one too: make it a plain float
        return _float_tag(value if type(value) is float else float(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v, _depth + 1) for v in items]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and hasattr(value, "dtype"):
        try:
            return jsonable(tolist(), _depth + 1)
        except Exception:  # noqa: BLE001 - an odd array type: fall back to str
            return str(value)
    number = to_float(value)
    if number is not None:
        return _float_tag(number)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def restore_floats(value: Any) -> Any:
    """Undo the ``{"$float": ...}`` tags of :func:`jsonable` (in place for containers)."""
    if isinstance(value, dict):
        if len(value) == 1 and "$float" in value:
            return _NONFINITE.get(value["$float"], math.nan)
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                value[key] = restore_floats(item)
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)):
                value[i] = restore_floats(item)
    return value


def _frame(payload: bytes) -> bytes:
    return payload + b"\t%08x\n" % _crc(payload)


def _jsonable_record(record: list) -> list:
    return [record[0], record[1], *[jsonable(v) for v in record[2:]]]


def encode(records_: list[list]) -> bytes:
    """Records as one frame line (slow path: any kind, any value)."""
    return _frame(_dumps([_jsonable_record(r) for r in records_]))


def encode_items(items: list[list], seq: int, out: list[bytes], rejected: list | None = None) -> int:
    """Number queued records and encode them as frames; return the last seq used.

    ``items`` are lists whose first element is a placeholder for the sequence
    number. A frame holds at most :data:`FRAME_RECORDS` records. History
    records built by ``Run.log`` hold only numbers, so a frame goes through
    orjson in one call; a NaN/inf (which orjson writes as ``null``) or a value
    orjson cannot hold sends that frame to the slow path.

    A record that cannot be encoded at all (a lone surrogate in a key, say)
    raises, unless ``rejected`` is a list: then that record alone is removed
    from ``items`` and appended to ``rejected`` as ``(record, error)``, the
    records after it are numbered without a gap, and its neighbours are written.
    """
    for number, item in enumerate(items, seq + 1):
        item[0] = number
    start = 0
    while start < len(items):
        chunk = items[start : start + FRAME_RECORDS]
        frame = _encode_frame(chunk, strict=rejected is None)
        while frame is not None and len(frame) > FRAME_BYTES and len(chunk) > 1:  # large values: fewer a frame
            chunk = chunk[: len(chunk) // 2]
            frame = _encode_frame(chunk, strict=rejected is None)
        if frame is None:  # isolate the bad record(s), renumber the rest, try again
            _drop_unencodable(items, start, len(chunk), rejected)  # type: ignore[arg-type]
            for index in range(start, len(items)):
                items[index][0] = seq + 1 + index
            continue
        out.append(frame)
        start += len(chunk)
    return seq + len(items)


_ENCODE_ERRORS = (TypeError, ValueError, RecursionError)  # orjson.JSONEncodeError is a TypeError


def _encode_frame(chunk: list[list], strict: bool) -> bytes | None:
    try:
        payload = _dumps(chunk)
    except _ENCODE_ERRORS:
        payload = None
    if payload is not None and b"null" not in payload:  # "null": NaN/inf, or a key holding it
        return payload + b"\t%08x\n" % _crc(payload)
    try:
        return encode(chunk)
    except _ENCODE_ERRORS:
        if strict:
            raise
        return None


def _drop_unencodable(items: list[list], start: int, count: int, rejected: list) -> None:
    bad = []
    for index in range(start, start + count):
        try:
            encode([items[index]])
        except _ENCODE_ERRORS as exc:
            bad.append(index)
            rejected.append((items[index], exc))
    for index in reversed(bad):
        del items[index]


def decode_line(line: bytes) -> list | None:
    """The records of one frame line (without its newline), or ``None`` if corrupt."""
    cut = len(line) - 9
    if cut < 2 or line[cut] != 0x09:  # \t
        return None
    payload = line[:cut]
    try:
        if int(line[cut + 1 :], 16) != _crc(payload):
            return None
        frame = _loads(payload)
    except ValueError:
        return None
    # every record a list of at least 3 items starting with an int (checked a column at a time)
    if type(frame) is not list or not frame or set(map(type, frame)) != _LIST:
        return None
    if min(map(len, frame)) < 3 or set(map(type, map(_FIRST, frame))) != _INT:
        return None
    if b'"$float"' in payload:
        restore_floats(frame)
    return frame


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
