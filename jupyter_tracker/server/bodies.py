"""A batch body split into its members and slices of records, without decoding it whole.

Decoded at once, a batch of small history records takes about fifteen times
its size in Python objects (a 13 MB body: ~200 MB). So the body of ``POST
/runs/{id}/records`` is first *scanned*: one pass over its bytes (numpy, in
blocks) finds, outside strings, the brackets, commas and colons that make the
top-level object and the ``records`` array. The small members (``log``,
``first_seq``, ``last_seq``, ``missing``, anything else) are decoded with
orjson; ``records`` is left as a list of byte ranges, each holding a run of
whole records of about :data:`SLICE_BYTES`, which the ingest decodes one
after the other. Every byte of the body except the structural characters
between those pieces goes through orjson, so what is accepted is exactly what
``orjson.loads`` of the whole body would accept.

Memory while scanning: a few arrays the size of one block
(:data:`BLOCK_BYTES`), and one integer per record (where it ends).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batches import Batch, BadBatch, parse_envelope
from .errors import BadRequest
from .payloads import ParseError, loads

__all__ = ["BatchBody", "SLICE_BYTES", "BLOCK_BYTES", "MAX_ENVELOPE", "split_body", "read_batch"]

#: About this many bytes of records are decoded at a time.
SLICE_BYTES = 256 * 1024
#: The scan works through the body this many bytes at a time.
BLOCK_BYTES = 256 * 1024
#: The members other than ``records`` may hold this many bytes together.
MAX_ENVELOPE = 1 << 20

_WS = b" \t\r\n"
_QUOTE, _BACKSLASH, _COMMA, _COLON = 0x22, 0x5C, 0x2C, 0x3A
_OPENS, _CLOSES = (0x5B, 0x7B), (0x5D, 0x7D)


class _Scan:
    """Positions of the structural characters of the top two levels of a JSON text."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = data
        parts: dict[str, list[np.ndarray]] = {name: [] for name in ("c1", "k1", "c2", "o2", "x1", "o1", "x0")}
        in_string = 0  # 1 while inside a string
        depth = 0
        run = 0  # backslashes just before the block
        view = np.frombuffer(data, dtype=np.uint8)
        for offset in range(0, len(view), BLOCK_BYTES):
            block = view[offset : offset + BLOCK_BYTES]
            quotes = block == _QUOTE
            backslashes = block == _BACKSLASH
            if run or backslashes.any():
                quotes &= ~_escaped(backslashes, run)
                run = _trailing(backslashes, run)
            toggles = quotes.view(np.uint8)
            parity = np.bitwise_xor.accumulate(toggles)
            if in_string:
                parity ^= 1
            outside = parity == 0  # (the closing quote itself counts as outside: harmless)
            in_string = int(parity[-1]) if len(parity) else in_string
            opens = ((block == _OPENS[0]) | (block == _OPENS[1])) & outside
            closes = ((block == _CLOSES[0]) | (block == _CLOSES[1])) & outside
            steps = opens.view(np.int8) - closes.view(np.int8)
            if not steps.any() and depth > 2:
                # deep inside a record: only commas and colons could matter, and they cannot
                continue
            level = np.cumsum(steps, dtype=np.int32)
            level += depth
            depth = int(level[-1])
            if level.min() < 0:
                raise ParseError("malformed JSON: a closing bracket without its opening one")
            shallow = level <= 2
            if not shallow.any():
                continue
            commas = (block == _COMMA) & outside & shallow
            colons = (block == _COLON) & outside & (level == 1)
            for name, mask in (
                ("c1", commas & (level == 1)),
                ("c2", commas & (level == 2)),
                ("k1", colons),
                ("o2", opens & (level == 2)),
                ("x1", closes & (level == 1)),
                ("o1", opens & (level == 1)),
                ("x0", closes & (level == 0)),
            ):
                found = np.flatnonzero(mask)
                if len(found):
                    parts[name].append(found + offset)
        if in_string:
            raise ParseError("malformed JSON: a string is not closed")
        if depth != 0:
            raise ParseError("malformed JSON: a bracket is not closed")
        self.at = {
            name: (np.concatenate(found) if found else np.empty(0, dtype=np.int64)) for name, found in parts.items()
        }


def _escaped(backslashes: np.ndarray, run: int) -> np.ndarray:
    """Where a block's characters follow an odd number of backslashes (``run`` carried in)."""
    size = len(backslashes)
    index = np.arange(size, dtype=np.int64)
    # For each position, the last one at or before it that is not a backslash.
    last_other = np.maximum.accumulate(np.where(backslashes, -1, index))
    before = np.empty(size, dtype=np.int64)  # backslashes right before each position
    before[0] = run
    before[1:] = index[:-1] - last_other[:-1]
    start_run = last_other[:-1] < 0  # the run reaches back to the block's start
    before[1:][start_run] += run
    return (before & 1).astype(bool)


def _trailing(backslashes: np.ndarray, run: int) -> int:
    """How many backslashes end the block (``run`` of them came before it)."""
    if not len(backslashes) or not backslashes[-1]:
        return 0
    others = np.flatnonzero(~backslashes)
    return len(backslashes) - 1 - int(others[-1]) if len(others) else run + len(backslashes)


@dataclass
class BatchBody:
    """The members of a batch body, decoded, and where its records are."""

    data: bytes | bytearray
    envelope: dict[str, Any]
    #: (start, stop) byte ranges of runs of whole records, separated by commas.
    slices: list[tuple[int, int]]
    #: Whether the body had a ``records`` member.
    has_records: bool

    def record_slices(self) -> Iterator[list]:
        """The records, a list per slice, decoded one slice at a time."""
        view = memoryview(self.data)
        for start, stop in self.slices:
            piece = bytearray(b"[")
            piece += view[start:stop]
            piece += b"]"
            records = loads(piece)
            del piece
            yield records

    def records(self) -> list:
        """Every record at once (small batches, tests)."""
        return [record for part in self.record_slices() for record in part]


def _strip(data: bytes | bytearray | memoryview, start: int, stop: int) -> tuple[int, int]:
    while start < stop and data[start] in _WS:
        start += 1
    while stop > start and data[stop - 1] in _WS:
        stop -= 1
    return start, stop


def _between(positions: np.ndarray, start: int, stop: int) -> np.ndarray:
    return positions[np.searchsorted(positions, start, "left") : np.searchsorted(positions, stop, "left")]


def split_body(data: bytes | bytearray) -> BatchBody:
    """Split a ``POST /records`` body; :class:`ParseError` (400) when it is not valid JSON.

    The body must be a JSON object (:class:`BadRequest` otherwise); its
    ``records`` member, when present, must be an array.
    """
    start, stop = _strip(data, 0, len(data))
    if start == stop:
        raise BadRequest("the request needs a JSON body")
    if data[start] != 0x7B:  # "{"
        if stop - start <= 65536:
            value = loads(bytes(data[start:stop]))  # the usual message for malformed JSON
            if isinstance(value, dict):  # (cannot happen: it does not start with "{")
                raise BadRequest("the body must be a JSON object")
        raise BadRequest("the body must be a JSON object with log, first_seq, last_seq and records")
    scan = _Scan(data)
    at = scan.at
    if len(at["o1"]) != 1 or at["o1"][0] != start or len(at["x0"]) != 1 or at["x0"][0] != stop - 1:
        raise ParseError("malformed JSON: the body is not one JSON object")
    envelope: dict[str, Any] = {}
    envelope_bytes = 0
    records_span: tuple[int, int] | None = None
    bounds = [start, *at["c1"].tolist(), stop - 1]
    for first, last in zip(bounds[:-1], bounds[1:]):
        member_start, member_stop = _strip(data, first + 1, last)
        if member_start == member_stop and len(bounds) == 2:
            break  # {}
        colons = _between(at["k1"], member_start, member_stop)
        if len(colons) != 1:
            raise ParseError("malformed JSON: expected '\"key\": value' in the body's object")
        colon = int(colons[0])
        key = loads(bytes(data[member_start:colon]))
        if not isinstance(key, str):
            raise ParseError("malformed JSON: object keys must be strings")
        value_start, value_stop = _strip(data, colon + 1, member_stop)
        if key == "records":
            records_span = (value_start, value_stop)
            continue
        envelope_bytes += value_stop - value_start
        if envelope_bytes > MAX_ENVELOPE:
            raise BadRequest(f"the members of the body other than 'records' hold more than {MAX_ENVELOPE} bytes")
        envelope[key] = loads(bytes(data[value_start:value_stop]))
    slices: list[tuple[int, int]] = []
    if records_span is not None:
        slices = _record_slices(data, scan, *records_span)
    return BatchBody(data=data, envelope=envelope, slices=slices, has_records=records_span is not None)


def _record_slices(data: bytes | bytearray, scan: _Scan, start: int, stop: int) -> list[tuple[int, int]]:
    """Byte ranges of whole records in the array ``data[start:stop]``, about SLICE_BYTES each."""
    at = scan.at
    if start == stop or data[start] != 0x5B or data[stop - 1] != 0x5D:  # "[" ... "]"
        value = loads(bytes(data[start:stop])) if stop - start <= 65536 else None
        raise BadRequest(f"'records' must be a list of records, not {type(value).__name__}")
    opens = _between(at["o2"], start, stop)
    closes = _between(at["x1"], start, stop)
    if len(opens) != 1 or opens[0] != start or len(closes) != 1 or closes[0] != stop - 1:
        raise ParseError("malformed JSON: the records array is not one array")
    inner_start, inner_stop = start + 1, stop - 1
    if _strip(data, inner_start, inner_stop)[0] == inner_stop:
        return []
    ends = _between(at["c2"], inner_start, inner_stop)
    slices: list[tuple[int, int]] = []
    # Cut at the commas that are about SLICE_BYTES apart.
    piece_start = inner_start
    if len(ends):
        marks = np.arange(inner_start + SLICE_BYTES, inner_stop, SLICE_BYTES)
        cuts = np.unique(ends[np.minimum(np.searchsorted(ends, marks, "left"), len(ends) - 1)])
        for cut in cuts.tolist():
            if cut > piece_start:
                slices.append((piece_start, cut))
                piece_start = cut + 1
    slices.append((piece_start, inner_stop))
    for first, last in slices:
        if _strip(data, first, last)[0] == last:  # "[1,]", "[ ,1]": orjson would refuse the whole
            raise ParseError("malformed JSON: an empty element in the records array")
    return slices



def read_batch(data: bytes | bytearray) -> Batch:
    """The batch a ``POST /records`` body holds: its envelope checked, its records to come."""
    body = split_body(data)
    log, first, last, missing = parse_envelope(body.envelope)
    if not body.has_records:
        raise BadBatch("'records' must be a list of records")
    return Batch(log=log, first_seq=first, last_seq=last, missing=missing, slices=body.record_slices)
