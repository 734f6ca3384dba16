"""A batch of records sent by a client: checked, then planned for ingest.

``POST /runs/{id}/records`` sends ``{"log", "first_seq", "last_seq",
"records", "missing"?}`` with the records exactly as the local log holds them
(``docs/format.md``). ``missing`` declares permanent holes of the local log
(``[[from_seq, to_seq], ...]``, inclusive, sorted, apart): the records and the
holes together cover ``first_seq..last_seq`` exactly once, in order.
:func:`parse_batch` refuses anything malformed with a :class:`BadBatch` (a 400
for the client, naming what is wrong) before the database is touched, and
:func:`plan` walks the records once to group history points by metric, the
way the local reader builds history rows: records of the same step that
follow each other form one row, later values win, and the row's timestamp is
that of its last record. A hole does not end a row: the local reader skips
the unreadable lines and merges what is on either side the same way.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from ..limits import MAX_KEY_LENGTH, MAX_SEQ as _MAX_SEQ, MAX_STEP as _MAX_STEP, RESERVED_KEYS, STATES
from ..summaries import SUMMARY_KINDS
from .errors import BadRequest

__all__ = ["BadBatch", "Batch", "Points", "Plan", "parse_batch", "plan", "LOGS", "Holes"]

LOGS = ("events", "system")

#: Declared holes: inclusive ``(from_seq, to_seq)`` ranges, sorted and apart.
Holes = Sequence[tuple[int, int]]


class BadBatch(BadRequest):
    """A batch (or one of its records) the server refuses (400): the message says why."""


@dataclass
class Batch:
    """A checked batch: its records, in sequence order, and the holes between them."""

    log: str
    first_seq: int
    last_seq: int
    records: list[list]
    plan: Plan
    missing: list[tuple[int, int]] = field(default_factory=list)

    def after(self, hwm: int) -> tuple[list[list], list[tuple[int, int]]]:
        """The records and holes above ``hwm`` (holes clipped to start after it)."""
        index = bisect_right(self.records, hwm, key=_SEQ)
        holes = [(max(lo, hwm + 1), hi) for lo, hi in self.missing if hi > hwm]
        return self.records[index:], holes


@dataclass
class Points:
    """The points one metric gets from a batch, in step order (one per row).

    Lists while a batch is being walked, numpy arrays (int64, float64, intp)
    once :func:`plan` returns.
    """

    steps: Any = field(default_factory=list)
    values: Any = field(default_factory=list)
    rows: Any = field(default_factory=list)  # index into Plan.row_steps / row_ts


@dataclass
class Plan:
    """What a list of records changes, grouped for the database.

    ``ops`` keeps the log order that summaries depend on: ``("h", datas,
    step, same_keys)`` for a stretch of history records (fed to
    ``SummaryState.add_rows`` at once; ``same_keys`` when every record of it
    has the same keys), ``(kind, seq, ts, payload)`` for every other record.
    """

    row_steps: list[int] = field(default_factory=list)
    row_ts: list[float] = field(default_factory=list)
    series: dict[str, Points] = field(default_factory=dict)
    ops: list[tuple] = field(default_factory=list)

    def last_row_keys(self) -> list[str]:
        """Keys written in the last history row of the batch."""
        last = len(self.row_steps) - 1
        return [key for key, points in self.series.items() if points.rows[-1] == last]


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int


def _check_key(key: str, seq: int) -> None:
    if not key:
        raise BadBatch(f"record {seq}: empty metric key")
    if "\x00" in key:
        raise BadBatch(f"record {seq}: key {key!r} holds a NUL character")
    if len(key) > MAX_KEY_LENGTH:
        raise BadBatch(f"record {seq}: key {key!r} is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}")
    if key in RESERVED_KEYS:
        raise BadBatch(f"record {seq}: key {key!r} is reserved")


def _check_metrics(data: Any, seq: int, max_keys: int, what: str) -> None:
    if type(data) is not dict:
        raise BadBatch(f"record {seq}: the {what} must be a JSON object of metric: number")
    if len(data) > max_keys:
        raise BadBatch(f"record {seq}: {len(data)} keys in one record; the limit is {max_keys}")
    for key, value in data.items():
        _check_key(key, seq)
        if not _is_number(value):
            raise BadBatch(f"record {seq}: the value of {key!r} is not a number")


def _check_payload(kind: str, payload: Any, seq: int) -> None:
    """Refuse the payload of a non-history record the server could not apply."""
    if kind == "start" and payload is None:
        return
    if type(payload) is not dict:
        raise BadBatch(f"record {seq}: the payload of a {kind!r} record must be a JSON object")
    if kind == "s":
        if not isinstance(payload.get("set") or {}, dict):
            raise BadBatch(f"record {seq}: 'set' must be an object")
        dels = payload.get("del") or []
        if not isinstance(dels, list) or not all(isinstance(k, str) for k in dels):
            raise BadBatch(f"record {seq}: 'del' must be a list of keys")
    elif kind == "m":
        name = payload.get("name")
        if not isinstance(name, str) or not name:
            raise BadBatch(f"record {seq}: a metric definition needs a 'name'")
        if payload.get("summary") not in (None, *SUMMARY_KINDS):
            raise BadBatch(f"record {seq}: summary must be one of {', '.join(SUMMARY_KINDS)}")
        step_metric = payload.get("step_metric")
        if step_metric is not None and not isinstance(step_metric, str):
            raise BadBatch(f"record {seq}: step_metric must be a string")
    elif kind == "f":
        path = payload.get("path")
        if not isinstance(path, str) or not path:
            raise BadBatch(f"record {seq}: a file record needs a 'path'")
    elif kind == "state":
        if payload.get("state") not in STATES:
            raise BadBatch(f"record {seq}: state must be one of {', '.join(STATES)}")
        exit_code = payload.get("exit_code")
        if exit_code is not None and (type(exit_code) is not int or abs(exit_code) > 2**31 - 1):
            raise BadBatch(f"record {seq}: exit_code must be an integer")


_SEQ, _KIND, _STEP, _TS, _DATA = (itemgetter(i) for i in range(5))
_NUMBER_TYPES = {float, int}


def _expected_seqs(first_seq: int, count: int, missing: Holes) -> list[int]:
    """The sequence numbers ``count`` records from ``first_seq`` have, skipping the holes."""
    if not missing:
        return list(range(first_seq, first_seq + count))
    out: list[int] = []
    seq = first_seq
    for lo, hi in missing:
        if len(out) >= count:
            break
        if lo > seq:
            out.extend(range(seq, min(lo, seq + count - len(out))))
        seq = max(seq, hi + 1)
    if len(out) < count:
        out.extend(range(seq, seq + count - len(out)))
    return out


def _plan_rows(records: list[list], first_seq: int, max_keys: int, missing: Holes = ()) -> Plan | None:
    """The fast path: history records only, one row each, all with the same keys.

    That is what a training loop's batches look like, and it can be checked
    and grouped column by column without a Python loop per value. ``None``
    sends any other batch (or a wrong one, for its error message) to the
    general walk.
    """
    count = len(records)
    if not count or set(map(type, records)) != {list} or set(map(len, records)) != {5}:
        return None
    seqs = list(map(_SEQ, records))
    if set(map(type, seqs)) != {int} or seqs != _expected_seqs(first_seq, count, missing):
        return None
    if list(map(_KIND, records)).count("h") != count:
        return None
    steps = list(map(_STEP, records))
    stamps = list(map(_TS, records))
    datas = list(map(_DATA, records))
    if set(map(type, steps)) != {int} or not set(map(type, stamps)) <= _NUMBER_TYPES:
        return None
    if set(map(type, datas)) != {dict}:
        return None
    keys = list(datas[0])
    if len(keys) > max_keys or set(map(len, datas)) != {len(keys)}:
        return None  # (same size and, below, every key in every row: the same keys)
    try:
        step_array = np.array(steps, dtype=np.int64)
    except OverflowError:
        return None
    if step_array[0] < 0 or (count > 1 and not (step_array[1:] > step_array[:-1]).all()):
        return None
    out = Plan(row_steps=steps, row_ts=stamps)
    rows = np.arange(count, dtype=np.intp)
    for key in keys:
        if not key or len(key) > MAX_KEY_LENGTH or key in RESERVED_KEYS or "\x00" in key:
            return None
        try:
            values = list(map(itemgetter(key), datas))
        except KeyError:
            return None
        if not set(map(type, values)) <= _NUMBER_TYPES:
            return None
        out.series[key] = Points(step_array, np.array(values, dtype=np.float64), rows)
    out.ops.append(("h", datas, steps[-1], True))
    return out


def plan(records: list[list], first_seq: int, max_keys: int, missing: Holes = ()) -> Plan:
    """Check ``records`` (numbered from ``first_seq``, skipping the ``missing``
    ranges) and group what they change."""
    fast = _plan_rows(records, first_seq, max_keys, missing)
    if fast is not None:
        return fast
    holes = iter(missing)
    hole = next(holes, None)
    contiguous = "sequence numbers are contiguous except across the missing ranges" if missing else (
        "sequence numbers are contiguous")
    out = Plan()
    row_steps, row_ts, series, ops = out.row_steps, out.row_ts, out.series, out.ops
    row = -1
    current_step = -1
    stretch: list[dict] | None = None
    seq = first_seq
    for record in records:
        if hole is not None and seq == hole[0]:
            seq = hole[1] + 1
            hole = next(holes, None)
        if type(record) is not list or len(record) < 3 or record[0] != seq or type(record[0]) is not int:
            raise BadBatch(f"record {seq}: expected [{seq}, kind, ...] ({contiguous})")
        kind = record[1]
        if kind == "h":
            if len(record) != 5:
                raise BadBatch(f"record {seq}: a history record is [seq, 'h', step, ts, {{metric: value}}]")
            step, ts, data = record[2], record[3], record[4]
            if type(step) is not int or step < 0 or step > _MAX_STEP:
                raise BadBatch(f"record {seq}: the step must be a non-negative integer")
            if not _is_number(ts):
                raise BadBatch(f"record {seq}: the timestamp must be a number")
            if type(data) is not dict or len(data) > max_keys:
                _check_metrics(data, seq, max_keys, "history row")
            if step != current_step:
                if step < current_step:
                    raise BadBatch(f"record {seq}: step {step} is lower than the step before it ({current_step})")
                row += 1
                row_steps.append(step)
                row_ts.append(ts)
                current_step = step
            else:
                row_ts[row] = ts
            for key, value in data.items():
                points = series.get(key)
                if points is None:
                    _check_key(key, seq)
                    points = series[key] = Points()
                value_type = type(value)
                if value_type is not float and value_type is not int:
                    raise BadBatch(f"record {seq}: the value of {key!r} is not a number")
                if points.rows and points.rows[-1] == row:
                    points.values[-1] = value
                else:
                    points.steps.append(step)
                    points.values.append(value)
                    points.rows.append(row)
            if stretch is None:
                stretch = []
                ops.append(("h", stretch, step, False))
            else:
                ops[-1] = ("h", stretch, step, False)
            stretch.append(data)
        else:
            if type(kind) is not str or not kind:
                raise BadBatch(f"record {seq}: the kind must be a string")
            ts = record[2]
            if not _is_number(ts):
                raise BadBatch(f"record {seq}: the timestamp must be a number")
            payload = record[3] if len(record) > 3 else None
            if kind == "sys":
                _check_metrics(payload, seq, max_keys, "system record")
            else:
                _check_payload(kind, payload, seq)
            stretch = None
            ops.append((kind, seq, ts, payload))
        seq += 1
    for points in series.values():
        points.steps = np.array(points.steps, dtype=np.int64)
        points.values = np.array(points.values, dtype=np.float64)
        points.rows = np.array(points.rows, dtype=np.intp)
    return out


def parse_batch(value: Any, max_keys: int) -> Batch:
    """Check a decoded ``POST /records`` body; raise :class:`BadBatch` if it is wrong."""
    if type(value) is not dict:
        raise BadBatch("the body must be a JSON object with log, first_seq, last_seq and records")
    log = value.get("log")
    if log not in LOGS:
        raise BadBatch("'log' must be 'events' or 'system'")
    first, last, records = value.get("first_seq"), value.get("last_seq"), value.get("records")
    if type(first) is not int or type(last) is not int or not 1 <= first <= last <= _MAX_SEQ:
        raise BadBatch("'first_seq' and 'last_seq' must be integers with 1 <= first_seq <= last_seq")
    if type(records) is not list:
        raise BadBatch("'records' must be a list of records")
    missing = _parse_missing(value.get("missing"), first, last)
    absent = sum(hi - lo + 1 for lo, hi in missing)
    if len(records) != last - first + 1 - absent:
        if not missing:
            raise BadBatch(f"{len(records)} records sent for sequence numbers {first}..{last}")
        raise BadBatch(
            f"{len(records)} records and {absent} missing sequence numbers sent for sequence numbers "
            f"{first}..{last} ({last - first + 1}); together they must cover the range exactly once"
        )
    return Batch(
        log=log, first_seq=first, last_seq=last, records=records, missing=missing,
        plan=plan(records, first, max_keys, missing),
    )


def _parse_missing(value: Any, first: int, last: int) -> list[tuple[int, int]]:
    """The declared holes of a batch, checked: ``[[from_seq, to_seq], ...]``."""
    if value is None:
        return []
    if type(value) is not list:
        raise BadBatch("'missing' must be a list of [from_seq, to_seq] ranges")
    out: list[tuple[int, int]] = []
    for index, item in enumerate(value):
        if type(item) is not list or len(item) != 2 or any(type(seq) is not int for seq in item):
            raise BadBatch(f"missing[{index}] must be [from_seq, to_seq] (two integers), not {_brief(item)}")
        lo, hi = item
        if lo > hi:
            raise BadBatch(f"missing[{index}] {item}: from_seq is greater than to_seq")
        if lo < first or hi > last:
            raise BadBatch(f"missing[{index}] {item} is outside first_seq..last_seq ({first}..{last})")
        if out and lo <= out[-1][1]:
            raise BadBatch(
                f"missing[{index}] {item} overlaps or comes before missing[{index - 1}] {list(out[-1])}; "
                "ranges must be sorted and apart"
            )
        if out and lo == out[-1][1] + 1:
            raise BadBatch(
                f"missing[{index}] {item} is adjacent to missing[{index - 1}] {list(out[-1])}; "
                "merge adjacent ranges into one"
            )
        out.append((lo, hi))
    return out


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
