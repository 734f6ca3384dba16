"""A batch of records sent by a client: checked, then planned for ingest.

``POST /runs/{id}/records`` sends ``{"log", "first_seq", "last_seq",
"records", "missing"?}`` with the records exactly as the local log holds them
(``docs/format.md``). ``missing`` declares permanent holes of the local log
(``[[from_seq, to_seq], ...]``, inclusive, sorted, apart): the records and the
holes together cover ``first_seq..last_seq`` exactly once, in order.

:func:`parse_envelope` checks everything but the records; a :class:`Planner`
is then fed the records slice after slice (a large body is decoded a slice at
a time, :mod:`.bodies`), refuses anything malformed with a :class:`BadBatch`
(a 400 for the client, naming the record and what is wrong), and groups the
history points by metric the way the local reader builds history rows:
records of the same step that follow each other form one row, later values
win, and the row's timestamp is that of its last record. A hole does not end
a row: the local reader skips the unreadable lines and merges what is on
either side the same way. Each record is checked by :mod:`.record_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from ..limits import MAX_SEQ, MAX_STEP, key_problem
from ..records import EVENT_KINDS, HISTORY, SYSTEM, SYSTEM_KINDS
from .record_checks import BadBatch, check_key, check_metrics, check_payload, is_number

__all__ = ["BadBatch", "Batch", "Points", "Plan", "Planner", "parse_envelope", "parse_batch", "plan", "LOGS", "Holes"]

LOGS = ("events", "system")
#: Declared holes: inclusive ``(from_seq, to_seq)`` ranges, sorted and apart.
Holes = Sequence[tuple[int, int]]


@dataclass
class Points:
    """The points one metric gets from a batch, in step order (one per row):
    numpy arrays (int64 steps, float64 values, int32 row numbers)."""

    steps: Any
    values: Any
    rows: Any  # index into Plan.row_steps / row_ts


@dataclass
class Plan:
    """What a list of records changes, grouped for the database.

    ``ops`` keeps the log order that summaries depend on: ``("h", datas,
    step, same_keys)`` for a stretch of history records (fed to
    ``SummaryState.add_rows`` at once; ``same_keys`` when every record of it
    has the same keys), ``(kind, seq, ts, payload)`` for every other record.
    ``row_steps`` and ``row_ts`` are numpy arrays (int64, float64).
    """

    row_steps: Any = field(default_factory=lambda: np.empty(0, np.int64))
    row_ts: Any = field(default_factory=lambda: np.empty(0, np.float64))
    series: dict[str, Points] = field(default_factory=dict)
    ops: list[tuple] = field(default_factory=list)

    def last_row_keys(self) -> list[str]:
        """Keys written in the last history row of the batch."""
        last = len(self.row_steps) - 1
        return [key for key, points in self.series.items() if points.rows[-1] == last]


@dataclass
class Batch:
    """A batch whose envelope is checked; its records come slice by slice from ``slices()``."""

    log: str
    first_seq: int
    last_seq: int
    missing: list[tuple[int, int]]
    slices: Callable[[], Iterable[list]]
    #: The plan of the whole batch, when it was planned at once (:func:`parse_batch`).
    plan: Plan | None = None

    def holes_after(self, hwm: int) -> list[tuple[int, int]]:
        """The holes above ``hwm``, clipped to start after it."""
        return [(max(lo, hwm + 1), hi) for lo, hi in self.missing if hi > hwm]


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
        if hi < seq:
            continue
        if lo > seq:
            out.extend(range(seq, min(lo, seq + count - len(out))))
        seq = max(seq, hi + 1)
    if len(out) < count:
        out.extend(range(seq, seq + count - len(out)))
    return out


class _Column:
    """One metric's points, growing slice by slice: arrays, and lists for the slice under way."""

    __slots__ = ("steps", "values", "rows", "new_steps", "new_values", "new_rows", "last_row")

    def __init__(self) -> None:
        self.steps: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.new_steps: list[int] = []
        self.new_values: list[float] = []
        self.new_rows: list[int] = []
        self.last_row = -1

    def flush(self) -> None:
        if self.new_steps:
            self.steps.append(np.array(self.new_steps, dtype=np.int64))
            self.values.append(np.array(self.new_values, dtype=np.float64))
            self.rows.append(np.array(self.new_rows, dtype=np.int32))
            self.new_steps, self.new_values, self.new_rows = [], [], []

    def points(self) -> Points:
        """The points as three arrays (the pieces are let go as they are copied)."""
        self.flush()
        return Points(_join(self.steps), _join(self.values), _join(self.rows))


def _join(pieces: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate(pieces)``, emptying ``pieces`` as it goes so that they are not all
    held twice at the peak."""
    if len(pieces) == 1:
        return pieces.pop()
    out = np.empty(sum(map(len, pieces)), dtype=pieces[0].dtype)
    position = 0
    pieces.reverse()
    while pieces:
        piece = pieces.pop()
        out[position : position + len(piece)] = piece
        position += len(piece)
    return out


class Planner:
    """Checks records in order, one slice after the other, and plans what they change.

    Records numbered below ``apply_from`` (already applied) are checked but
    not planned. After each :meth:`feed` the caller may take the
    :attr:`ops` planned so far (:meth:`take_ops`), so that a large batch is
    never held whole; :meth:`finish` checks that records and holes covered
    the batch and returns the history part of the plan.
    """

    def __init__(
        self, first_seq: int, max_keys: int, missing: Holes = (), log: str = "events", apply_from: int = 0,
        last_seq: int | None = None,
    ) -> None:
        self.first_seq = first_seq
        self.last_seq = last_seq
        self.seq = first_seq  # the sequence number the next record must have
        self.holes = list(missing)
        self.hole = 0  # index of the next hole
        self.max_keys = max_keys
        self.log = log
        self.apply_from = apply_from
        self.step = -1  # the last history step seen
        self.records = 0
        self.ops: list[tuple] = []
        self.columns: dict[str, _Column] = {}
        self.rows = 0  # history rows planned
        self.row_step = -1  # the step of the last row planned
        self._row_steps: list[np.ndarray] = []
        self._row_ts: list[np.ndarray] = []

    # -- walking ------------------------------------------------------------------
    def _next_seq(self) -> int:
        """The expected sequence number of the next record, after any hole that starts there."""
        holes = self.holes
        if self.hole < len(holes) and self.seq == holes[self.hole][0]:
            self.seq = holes[self.hole][1] + 1
            self.hole += 1
        return self.seq

    def _misplaced(self, record: Any, seq: int) -> BadBatch:
        """The error for a record that does not have the sequence number ``seq``."""
        given = record[0] if type(record) is list and record and type(record[0]) is int else None
        if given is not None:
            for lo, hi in self.holes:
                if lo <= given <= hi:
                    return BadBatch(f"record {given} is inside the missing range [{lo}, {hi}]")
        if self.last_seq is not None and seq > self.last_seq:
            return BadBatch(f"more records than sequence numbers {self.first_seq}..{self.last_seq} hold")
        expected = "sequence numbers are contiguous" + (" except across the missing ranges" if self.holes else "")
        return BadBatch(f"record {seq}: expected [{seq}, kind, ...] ({expected})")

    def feed(self, records: list) -> None:
        """Check and plan the next records of the batch."""
        if type(records) is not list:
            raise BadBatch("'records' must be a list of records")
        self.records += len(records)
        split = 0
        if self.seq < self.apply_from:
            split = len(records)
            for index, record in enumerate(records):
                if type(record) is list and record and type(record[0]) is int and record[0] >= self.apply_from:
                    split = index
                    break
            self._walk(records[:split], keep=False)
        rest = records[split:] if split else records
        if rest and not self._fast(rest):
            self._walk(rest, keep=True)

    def take_ops(self) -> list[tuple]:
        """The ops planned since the last call (the caller applies them in order)."""
        ops, self.ops = self.ops, []
        return ops

    def finish(self, last_seq: int) -> Plan:
        """Check that the records and holes covered the batch; the plan of its history."""
        self._next_seq()
        if self.seq != last_seq + 1 or self.hole != len(self.holes):
            span = f"sequence numbers {self.first_seq}..{last_seq}"
            if not self.holes:
                raise BadBatch(f"{self.records} records sent for {span}")
            absent = sum(hi - lo + 1 for lo, hi in self.holes)
            raise BadBatch(
                f"{self.records} records and {absent} missing sequence numbers sent for {span}; "
                "together they must cover the range exactly once"
            )
        out = Plan(ops=self.take_ops())
        if self._row_steps:
            out.row_steps = _join(self._row_steps)
            out.row_ts = _join(self._row_ts)
        out.series = {key: column.points() for key, column in self.columns.items()}
        self.columns = {}
        return out

    def _fast(self, records: list[list]) -> bool:
        """The fast path: history records only, one row each, all with the same keys.

        That is what a training loop's batches look like, and it can be
        checked and grouped column by column without a Python loop per value.
        ``False`` sends any other slice (or a wrong one, for its error
        message) to the general walk.
        """
        count = len(records)
        if self.log != "events" or set(map(type, records)) != {list} or set(map(len, records)) != {5}:
            return False
        seqs = list(map(_SEQ, records))
        if set(map(type, seqs)) != {int} or seqs[0] != self._next_seq():
            return False
        if seqs != _expected_seqs(seqs[0], count, self.holes[self.hole :]):
            return False
        if self.last_seq is not None and seqs[-1] > self.last_seq:
            return False
        if list(map(_KIND, records)).count(HISTORY) != count:
            return False
        steps = list(map(_STEP, records))
        stamps = list(map(_TS, records))
        datas = list(map(_DATA, records))
        if set(map(type, steps)) != {int} or not set(map(type, stamps)) <= _NUMBER_TYPES:
            return False
        if set(map(type, datas)) != {dict}:
            return False
        keys = list(datas[0])
        if len(keys) > self.max_keys or set(map(len, datas)) != {len(keys)}:
            return False  # (same size and, below, every key in every row: the same keys)
        if steps[0] <= self.step or steps[-1] > MAX_STEP:
            return False
        try:
            step_array = np.array(steps, dtype=np.int64)
        except OverflowError:
            return False
        if count > 1 and not (step_array[1:] > step_array[:-1]).all():
            return False
        columns: list[tuple[str, np.ndarray]] = []
        for key in keys:
            if key_problem(key) is not None:
                return False
            try:
                values = list(map(itemgetter(key), datas))
            except KeyError:
                return False
            if not set(map(type, values)) <= _NUMBER_TYPES:
                return False
            columns.append((key, np.array(values, dtype=np.float64)))
        # Checked: now plan.
        last = seqs[-1]
        self.seq = last + 1
        while self.hole < len(self.holes) and self.holes[self.hole][1] < self.seq:
            self.hole += 1
        self.step = steps[-1]
        rows = np.arange(self.rows, self.rows + count, dtype=np.int32)
        for key, values in columns:
            column = self.columns.get(key)
            if column is None:
                column = self.columns[key] = _Column()
            column.flush()
            column.steps.append(step_array)
            column.values.append(values)
            column.rows.append(rows)
            column.last_row = self.rows + count - 1
        self.rows += count
        self.row_step = steps[-1]
        self._row_steps.append(step_array)
        self._row_ts.append(np.array(stamps, dtype=np.float64))
        self.ops.append((HISTORY, datas, steps[-1], True))
        return True

    def _walk(self, records: list, keep: bool) -> None:
        """The general walk: any kind of record, one at a time."""
        columns, ops = self.columns, self.ops
        max_keys, log = self.max_keys, self.log
        row = self.rows - 1
        row_step = self.row_step
        row_steps: list[int] = []
        row_ts: list[float] = []
        stretch: list[dict] | None = None
        last_seq = self.last_seq if self.last_seq is not None else MAX_SEQ
        for record in records:
            seq = self._next_seq()
            if (
                seq > last_seq or type(record) is not list or len(record) < 2
                or type(record[0]) is not int or record[0] != seq
            ):
                raise self._misplaced(record, seq)
            self.seq = seq + 1
            kind = record[1]
            if kind == HISTORY:
                if log != "events":
                    raise BadBatch(f"record {seq}: 'h' records belong in the events log, not the {log} log")
                if len(record) != 5:
                    raise BadBatch(f"record {seq}: a history record is [seq, 'h', step, ts, {{metric: value}}]")
                step, ts, data = record[2], record[3], record[4]
                if type(step) is not int or step < 0 or step > MAX_STEP:
                    raise BadBatch(f"record {seq}: the step must be an integer from 0 to {MAX_STEP}")
                if not is_number(ts):
                    raise BadBatch(f"record {seq}: the timestamp must be a number")
                if type(data) is not dict or len(data) > max_keys:
                    check_metrics(data, seq, max_keys, "history row")
                if step < self.step:
                    raise BadBatch(f"record {seq}: step {step} is lower than the step before it ({self.step})")
                self.step = step
                if not keep:
                    for key, value in data.items():
                        value_type = type(value)
                        if value_type is not float and value_type is not int:
                            raise BadBatch(f"record {seq}: the value of {key!r} is not a number")
                        if key not in columns:
                            check_key(key, seq)
                    continue
                if step != row_step:
                    row += 1
                    row_steps.append(step)
                    row_ts.append(ts)
                    row_step = step
                elif row_ts:
                    row_ts[-1] = ts
                else:  # the row began in an earlier slice
                    self._row_ts[-1][-1] = ts
                for key, value in data.items():
                    column = columns.get(key)
                    if column is None:
                        check_key(key, seq)
                        column = columns[key] = _Column()
                    value_type = type(value)
                    if value_type is not float and value_type is not int:
                        raise BadBatch(f"record {seq}: the value of {key!r} is not a number")
                    if column.last_row == row:
                        if column.new_values:
                            column.new_values[-1] = value
                        else:
                            column.values[-1][-1] = value
                    else:
                        column.new_steps.append(step)
                        column.new_values.append(value)
                        column.new_rows.append(row)
                        column.last_row = row
                if stretch is None:
                    stretch = []
                    ops.append((HISTORY, stretch, step, False))
                else:
                    ops[-1] = (HISTORY, stretch, step, False)
                stretch.append(data)
                continue
            if type(kind) is not str or not kind:
                raise BadBatch(f"record {seq}: the kind must be a string")
            if kind not in EVENT_KINDS and kind not in SYSTEM_KINDS:
                continue  # a kind of a later version: kept for the sequence, changes nothing
            if kind not in (SYSTEM_KINDS if log == "system" else EVENT_KINDS):
                other = "system" if log == "events" else "events"
                raise BadBatch(f"record {seq}: {kind!r} records belong in the {other} log, not the {log} log")
            if len(record) < 3 or not is_number(record[2]):
                raise BadBatch(f"record {seq}: the timestamp must be a number")
            ts = record[2]
            payload = record[3] if len(record) > 3 else None
            if kind == SYSTEM:
                check_metrics(payload, seq, max_keys, "system record")
            else:
                check_payload(kind, payload, seq)
            if keep:
                stretch = None
                ops.append((kind, seq, ts, payload))
        if row_steps:
            self._row_steps.append(np.array(row_steps, dtype=np.int64))
            self._row_ts.append(np.array(row_ts, dtype=np.float64))
        self.rows = row + 1
        self.row_step = row_step
        for column in columns.values():
            column.flush()


def parse_envelope(value: Any) -> tuple[str, int, int, list[tuple[int, int]]]:
    """Check a batch's members other than ``records``; ``(log, first_seq, last_seq, missing)``."""
    if type(value) is not dict:
        raise BadBatch("the body must be a JSON object with log, first_seq, last_seq and records")
    log = value.get("log")
    if log not in LOGS:
        raise BadBatch("'log' must be 'events' or 'system'")
    first, last = value.get("first_seq"), value.get("last_seq")
    if type(first) is not int or type(last) is not int or not 1 <= first <= last <= MAX_SEQ:
        raise BadBatch(
            f"'first_seq' and 'last_seq' must be integers with 1 <= first_seq <= last_seq <= {MAX_SEQ}"
        )
    return log, first, last, _parse_missing(value.get("missing"), first, last)


def parse_batch(value: Any, max_keys: int) -> Batch:
    """Check a decoded ``POST /records`` body whole; raise :class:`BadBatch` if it is wrong."""
    log, first, last, missing = parse_envelope(value)
    records = value.get("records")
    if type(records) is not list:
        raise BadBatch("'records' must be a list of records")
    planned = plan(records, first, max_keys, missing, log=log, last_seq=last)
    return Batch(log=log, first_seq=first, last_seq=last, missing=missing, slices=lambda: [records], plan=planned)


def plan(
    records: list[list], first_seq: int, max_keys: int, missing: Holes = (), log: str = "events",
    last_seq: int | None = None,
) -> Plan:
    """Check ``records`` (numbered from ``first_seq``, skipping the ``missing``
    ranges) and group what they change; with ``last_seq``, check that they and
    the holes cover the batch."""
    planner = Planner(first_seq, max_keys, missing, log, last_seq=last_seq)
    planner.feed(records)
    if last_seq is None:
        last_seq = planner.seq - 1
        while planner.hole < len(planner.holes):
            last_seq = planner.holes[planner.hole][1]
            planner.hole += 1
        planner.seq = last_seq + 1
    return planner.finish(last_seq)


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

