"""The columns of a run's read cache: where the arrays live, what ``columns.json``
says, and how the records read in one update become appends and patches.

Arrays are raw little-endian files ``cache/g<gen>-<name>`` (or numpy arrays
in memory for a run directory that cannot be written): ``rows.step`` and
``rows.ts`` (each history row's step and timestamp), and per metric ``n``,
``<n>.row`` (int64, the row of each point) and ``<n>.val`` (float64).
"""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .. import records, rundir
from ..replay import RunLog

__all__ = ["VERSION", "SNAPSHOT_JSON", "COLUMNS_JSON", "Damaged", "Memory", "Files", "State", "Increment"]

#: The cache's format; a cache of another version is rebuilt.
VERSION = 2
SNAPSHOT_JSON = "snapshot.json"
COLUMNS_JSON = "columns.json"
_I8 = "<i8"
_F8 = "<f8"
_INT_EXACT = 2**53
_SEQ, _KIND, _STEP, _TS, _DATA = (itemgetter(i) for i in range(5))
_ONLY_HISTORY = {records.HISTORY}
_FIVE = {5}


class Damaged(Exception):
    """The cache on disk is not what its JSON says: rebuild it."""


# -- where the arrays live --------------------------------------------------------
class Memory:
    """Arrays in memory (a run directory that cannot be written)."""

    persistent = False

    def __init__(self) -> None:
        #: name -> (buffer, filled): buffers grow by doubling, so that following a run that
        #: records (a live view reads it again every second) costs the new points, not the history
        self.arrays: dict[str, tuple[np.ndarray, int]] = {}

    def prepare(self, name: str, count: int) -> None:
        buffer, size = self.arrays.get(name, (None, 0))
        if size < count:
            raise Damaged(name)
        if buffer is not None:
            self.arrays[name] = (buffer, count)  # as Files does: what lies past count goes

    def append(self, name: str, values: np.ndarray) -> None:
        buffer, size = self.arrays.get(name, (None, 0))
        need = size + len(values)
        if buffer is None or need > len(buffer):
            grown = np.empty(max(need, 2 * size, 64), dtype=values.dtype)
            if buffer is not None:
                grown[:size] = buffer[:size]
            buffer = grown
        buffer[size:need] = values
        self.arrays[name] = (buffer, need)

    def patch(self, name: str, index: int, value: float) -> None:
        self.arrays[name][0][index] = value

    def read(self, name: str, dtype: str, count: int) -> np.ndarray:
        buffer, size = self.arrays.get(name, (None, 0))
        if count == 0:
            return np.empty(0, dtype=dtype)
        if buffer is None or size < count:
            raise Damaged(name)
        return buffer[:count].copy()


class Files:
    """Arrays in ``cache/g<gen>-<name>`` files."""

    persistent = True

    def __init__(self, path: Path, gen: str) -> None:
        self.path = path
        self.prefix = f"g{gen}-"

    def prepare(self, name: str, count: int) -> None:
        """Cut what a killed builder appended past ``count`` items; damaged if fewer."""
        size = rundir.cache_size(self.path, self.prefix + name)
        if size < 0 and count == 0:
            return
        if size < count * 8:
            raise Damaged(name)
        if size > count * 8:
            rundir.cache_truncate(self.path, self.prefix + name, count * 8)

    def append(self, name: str, values: np.ndarray) -> None:
        rundir.cache_append(self.path, self.prefix + name, values.tobytes())

    def patch(self, name: str, index: int, value: float) -> None:
        data = np.asarray([value], dtype=_I8 if name.endswith(".step") else _F8).tobytes()
        rundir.cache_patch(self.path, self.prefix + name, index * 8, data)

    def read(self, name: str, dtype: str, count: int) -> np.ndarray:
        try:
            return rundir.cache_read_array(self.path, self.prefix + name, dtype, count)
        except OSError as exc:
            raise Damaged(str(exc)) from None


# -- the state of the columns --------------------------------------------------------
class State:
    """What ``columns.json`` says: the rows, and per metric ``[number, points, ints, last_row]``."""

    def __init__(self, gen: str) -> None:
        self.gen = gen
        self.rows = 0
        self.last_step: int | None = None
        self.metrics: dict[str, list] = {}
        self.log: dict[str, Any] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "gen": self.gen, "rows": self.rows, "last_step": self.last_step,
                "metrics": self.metrics, "log": self.log}

    @classmethod
    def from_dict(cls, data: Any) -> State | None:
        try:
            if data.get("version") != VERSION:
                return None
            state = cls(str(data["gen"]))
            state.rows = int(data["rows"])
            state.last_step = data["last_step"]
            state.metrics = {str(k): [int(m[0]), int(m[1]), bool(m[2]), int(m[3])] for k, m in data["metrics"].items()}
            state.log = dict(data["log"])
            int(state.log["offset"])
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None
        return state


def _as_floats(values: list) -> tuple[np.ndarray, bool]:
    """Logged values as float64, and whether every one of them was an exact integer."""
    try:
        array = np.array(values)
    except (TypeError, ValueError, OverflowError):
        array = None
    if array is not None and array.ndim == 1:
        kind = array.dtype.kind
        if kind == "f":
            return array.astype(_F8, copy=False), False
        if kind in "iu" and not any(type(v) is bool for v in values[:1]):
            floats = array.astype(_F8)
            return floats, bool(np.abs(floats).max() < _INT_EXACT) if len(floats) else True
        if kind == "b":
            return array.astype(_F8), False
    out = np.empty(len(values), dtype=_F8)
    for i, value in enumerate(values):
        number = records.to_float(value)
        out[i] = np.nan if number is None else number
    return out, False


class _Points:
    """New points of one metric: their rows (ranges from whole frames, lists of single
    rows otherwise) and their values."""

    __slots__ = ("rows", "values")

    def __init__(self) -> None:
        self.rows: list[range | list[int]] = []
        self.values: list[Any] = []

    def last_row(self) -> int:
        return self.rows[-1][-1]

    def row_array(self) -> np.ndarray:
        parts = [np.arange(part.start, part.stop, dtype=_I8) if isinstance(part, range) else np.asarray(part, dtype=_I8)
                 for part in self.rows if len(part)]
        return np.concatenate(parts) if len(parts) != 1 else parts[0]


class Increment:
    """The records read in one update, turned into appends and patches of the columns."""

    def __init__(self, state: State, log: RunLog) -> None:
        self.state = state
        self.log = log
        self.base = state.rows
        self.row = state.rows - 1
        self.last_step = state.last_step
        self.steps: list[int] = []
        self.stamps: list[float] = []
        self.retime: float | None = None  # new timestamp of the row before this increment
        self.points: dict[str, _Points] = {}
        self.patches: dict[str, Any] = {}  # metric -> new value of its last stored point

    def _fast(self, frame: list[list]) -> bool:
        """A frame as the writer makes most of them (history records only, one row
        each, the same keys in each) taken a column at a time; False for any other."""
        if set(map(_KIND, frame)) != _ONLY_HISTORY or set(map(len, frame)) != _FIVE:
            return False
        steps = list(map(_STEP, frame))
        datas = list(map(_DATA, frame))
        try:
            keys = list(datas[0])
            if set(map(len, datas)) != {len(keys)}:
                return False
            columns = [list(map(itemgetter(key), datas)) for key in keys]  # KeyError: other keys
        except (KeyError, TypeError):
            return False
        order = np.asarray(steps)
        if order.dtype.kind != "i" or (len(order) > 1 and not (np.diff(order) > 0).all()):
            return False
        if self.row >= 0 and steps[0] == self.last_step:
            return False
        log = self.log
        start = self.row + 1
        self.row += len(frame)
        self.last_step = steps[-1]
        self.steps.extend(steps)
        self.stamps.extend(map(_TS, frame))
        rows = range(start, self.row + 1)
        metrics = self.state.metrics
        points = self.points
        for key, values in zip(keys, columns):
            meta = metrics.get(key)
            if meta is None:
                meta = metrics[key] = [len(metrics), 0, True, -1]
            meta[3] = self.row
            pending = points.get(key)
            if pending is None:
                pending = points[key] = _Points()
            pending.rows.append(rows)
            pending.values.extend(values)
        log.last_seq = max(log.last_seq, max(map(_SEQ, frame)))
        log.last_step = steps[-1]
        log.last_ts = frame[-1][3]
        log.summary.add_columns(keys, columns, steps[-1])
        return True

    def frame(self, frame: list[list]) -> None:
        if self._fast(frame):
            return
        log = self.log
        summary = log.summary
        batch: list[dict] = []
        batch_step = None
        for record in frame:
            seq = record[0]
            if seq > log.last_seq:
                log.last_seq = seq
            if record[1] != records.HISTORY:
                if batch:
                    summary.add_rows(batch, batch_step)
                    batch = []
                log.visit_record(record)
                continue
            if len(record) < 5 or type(record[2]) is not int or type(record[4]) is not dict:
                continue  # not a history record the writer makes: replay could not read it either
            step, ts, data = record[2], record[3], record[4]
            self._point_row(step, ts, data)
            batch.append(data)
            batch_step = step
            log.last_step = step
            log.last_ts = ts
        if batch:
            summary.add_rows(batch, batch_step)

    def _point_row(self, step: int, ts: float, data: dict) -> None:
        row = self.row
        if row >= 0 and step == self.last_step:  # continues the last row
            if row >= self.base:
                self.stamps[row - self.base] = ts
            else:
                self.retime = ts
        else:
            row = self.row = row + 1
            self.last_step = step
            self.steps.append(step)
            self.stamps.append(ts)
        metrics = self.state.metrics
        points = self.points
        for key, value in data.items():
            meta = metrics.get(key)
            if meta is None:
                meta = metrics[key] = [len(metrics), 0, True, -1]
            pending = points.get(key)
            if meta[3] == row:  # logged again in the same row: the later value wins
                if pending is not None and pending.values and pending.last_row() == row:
                    pending.values[-1] = value
                else:
                    self.patches[key] = value
                continue
            meta[3] = row
            if pending is None:
                pending = points[key] = _Points()
            chunks = pending.rows
            if chunks and type(chunks[-1]) is list:
                chunks[-1].append(row)
            else:
                chunks.append([row])
            pending.values.append(value)

    def write(self, store: Memory | Files, stored: dict[str, list]) -> None:
        """Append and patch the arrays; ``stored`` is each metric's points before this increment."""
        state = self.state
        store.prepare("rows.step", self.base)
        store.prepare("rows.ts", self.base)
        if self.retime is not None:
            store.patch("rows.ts", self.base - 1, self.retime)
        if self.steps:
            store.append("rows.step", np.asarray(self.steps, dtype=_I8))
            store.append("rows.ts", np.asarray(self.stamps, dtype=_F8))
        for key in dict.fromkeys([*self.patches, *self.points]):
            meta = state.metrics[key]
            number, before = meta[0], stored.get(key, 0)
            store.prepare(f"{number}.row", before)
            store.prepare(f"{number}.val", before)
            if key in self.patches:
                values, ints = _as_floats([self.patches[key]])
                store.patch(f"{number}.val", before - 1, float(values[0]))
                meta[2] = meta[2] and ints
            pending = self.points.get(key)
            if pending is not None and pending.values:
                values, ints = _as_floats(pending.values)
                store.append(f"{number}.row", pending.row_array())
                store.append(f"{number}.val", values)
                meta[1] = before + len(values)
                meta[2] = meta[2] and ints
        state.rows = self.base + len(self.steps)
        state.last_step = self.last_step


