"""The line format of a log: one frame of records per line, its CRC, and the
values JSON cannot hold (see :mod:`jupyter_tracker.records`)."""

from __future__ import annotations

import math
import os
import zlib
from collections import deque
from collections.abc import Mapping
from itertools import repeat
from operator import itemgetter, setitem
from typing import Any

import orjson

__all__ = ["FRAME_RECORDS", "FRAME_BYTES", "encode", "encode_items", "quick_frame", "decode_line", "first_seq", "jsonable", "to_float", "restore_floats"]

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


def quick_frame(records_: list) -> bytes | None:
    """Numbered records as one frame in one orjson call (tuples will do), or ``None`` when
    they need the slow path, :func:`encode` (NaN/inf, a value orjson cannot hold)."""
    try:
        payload = _dumps(records_)
    except _ENCODE_ERRORS:
        return None
    if b"null" in payload:  # "null": NaN/inf, or a key holding it
        return None
    return payload + b"\t%08x\n" % _crc(payload)


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
    deque(map(setitem, items, repeat(0), range(seq + 1, seq + 1 + len(items))), maxlen=0)  # numbered in C
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
    frame = quick_frame(chunk)
    if frame is not None:
        return frame
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


def first_seq(data: bytes, start: int = 0) -> int:
    """The sequence number of the frame that starts at ``data[start:]`` (``[[seq,...``)."""
    return int(data[start + 2 : data.index(b",", start)])


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
