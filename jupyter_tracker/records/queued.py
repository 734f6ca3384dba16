"""History rows as ``Run.log`` queues them for the writer: the row itself.

A record queued as a list (``[seq, kind, step, time, row]``) is a container
the cyclic garbage collector tracks. A burst of logging keeps thousands of
them queued for a few milliseconds, long enough to be promoted to the oldest
generation, and every 25% growth of that generation makes CPython walk every
object of the process: in a notebook kernel that has imported the live panel's
libraries, four such walks per 200,000 calls cost about 1 µs a call. A dict of
numbers under string keys is never tracked, so ``Run.log`` queues the row
dict itself, its step and time under the int keys :data:`ROW_STEP` and
:data:`ROW_TIME` (a user's key is always a str). The writer takes them out
again and builds the records a frame at a time (:func:`encode_rows`), so no
more than one frame of containers is alive at once.
"""

from __future__ import annotations

from itertools import repeat
from operator import itemgetter
from typing import Any

from . import HISTORY
from .lines import FRAME_BYTES, FRAME_RECORDS, encode_items, quick_frame

__all__ = ["ROW_STEP", "ROW_TIME", "all_rows", "unqueue", "encode_rows", "records_of"]

#: Where a queued row carries its step and its time.
ROW_STEP, ROW_TIME = 0, 1

_ROW = itemgetter(4)
_ONLY_DICTS = {dict}


def all_rows(items: list[Any]) -> bool:
    """Whether every queued item is a row (the usual batch of a busy loop)."""
    return set(map(type, items)) == _ONLY_DICTS


def unqueue(items: list[Any]) -> None:
    """Turn the queued rows among ``items`` into history records, in place and in order."""
    for index, item in enumerate(items):
        if type(item) is dict:
            items[index] = [0, HISTORY, item.pop(ROW_STEP), item.pop(ROW_TIME), item]


def encode_rows(
    rows: list[dict], seq: int, out: list[bytes], rejected: list | None = None
) -> tuple[int, list[dict], list, list]:
    """Number and encode queued rows as history records, a frame at a time.

    Takes the step and time out of each row. Returns the last seq used, and
    the rows written with their steps and times (a row that cannot be encoded
    is dropped alone and listed in ``rejected``, as :func:`encode_items` does).
    """
    steps = list(map(dict.pop, rows, repeat(ROW_STEP)))
    times = list(map(dict.pop, rows, repeat(ROW_TIME)))
    dropped = len(rejected) if rejected is not None else 0
    for start in range(0, len(rows), FRAME_RECORDS):
        stop = start + FRAME_RECORDS
        pieces = (steps[start:stop], times[start:stop], rows[start:stop])
        frame = quick_frame(list(zip(range(seq + 1, seq + 1 + len(pieces[0])), repeat(HISTORY), *pieces)))
        if frame is not None and len(frame) <= FRAME_BYTES:  # numbers only: one orjson call, tuples never kept
            out.append(frame)
            seq += len(pieces[0])
        else:
            seq = encode_items(list(map(list, zip(repeat(0), repeat(HISTORY), *pieces))), seq, out, rejected)
    if rejected is not None and len(rejected) > dropped:
        bad = {id(_ROW(record)) for record, _error in rejected[dropped:]}
        kept = [index for index, row in enumerate(rows) if id(row) not in bad]
        rows = [rows[index] for index in kept]
        steps = [steps[index] for index in kept]
        times = [times[index] for index in kept]
    return seq, rows, steps, times


def records_of(first: int, rows: list[dict], steps: list, times: list) -> list[list]:
    """The history records of rows numbered from ``first`` (what a subscriber of the writer gets)."""
    return list(map(list, zip(range(first, first + len(rows)), repeat(HISTORY), steps, times, rows)))
