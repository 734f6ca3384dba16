"""A batch of records sent by a client: checked, then planned for ingest.

``POST /runs/{id}/records`` sends ``{"log", "first_seq", "last_seq",
"records"}`` with the records exactly as the local log holds them
(``docs/format.md``). :func:`parse_batch` refuses anything malformed with a
:class:`BadBatch` (a 400 for the client) before the database is touched, and
:func:`plan` walks the records once to group history points by metric, the
way the local reader builds history rows: records of the same step that
follow each other form one row, later values win, and the row's timestamp is
that of its last record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from ..limits import MAX_KEY_LENGTH, MAX_SEQ as _MAX_SEQ, MAX_STEP as _MAX_STEP, RESERVED_KEYS, STATES
from ..summaries import SUMMARY_KINDS
from .errors import BadRequest

__all__ = ["BadBatch", "Batch", "Points", "Plan", "parse_batch", "plan", "LOGS"]

LOGS = ("events", "system")


class BadBatch(BadRequest):
    """A batch (or one of its records) the server refuses (400): the message says why."""


@dataclass
class Batch:
    """A checked batch; ``records[i]`` has sequence number ``first_seq + i``."""

    log: str
    first_seq: int
    last_seq: int
    records: list[list]
    plan: Plan


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


def _plan_rows(records: list[list], first_seq: int, max_keys: int) -> Plan | None:
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
    if set(map(type, seqs)) != {int} or seqs != list(range(first_seq, first_seq + count)):
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


def plan(records: list[list], first_seq: int, max_keys: int) -> Plan:
    """Check ``records`` (numbered from ``first_seq``) and group what they change."""
    fast = _plan_rows(records, first_seq, max_keys)
    if fast is not None:
        return fast
    out = Plan()
    row_steps, row_ts, series, ops = out.row_steps, out.row_ts, out.series, out.ops
    row = -1
    current_step = -1
    stretch: list[dict] | None = None
    seq = first_seq
    for record in records:
        if type(record) is not list or len(record) < 3 or record[0] != seq or type(record[0]) is not int:
            raise BadBatch(f"record {seq}: expected [{seq}, kind, ...] (sequence numbers are contiguous)")
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
    if len(records) != last - first + 1:
        raise BadBatch(f"{len(records)} records sent for sequence numbers {first}..{last}")
    return Batch(log=log, first_seq=first, last_seq=last, records=records, plan=plan(records, first, max_keys))
