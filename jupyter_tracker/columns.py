"""A run's history as columns, read fast, from a cache built out of its events log.

Reading a run by replaying its JSON log costs seconds for a long run; the
compare view and the lab extension read many runs at once. So each run
directory gets a read cache, ``cache/``, built incrementally from
``events.log`` and never the source of truth:

- ``snapshot.json``: everything but the history rows (config, summary state,
  metric definitions, identity changes, state, the read report), as
  :class:`~jupyter_tracker.replay.RunLog` keeps it, so listing and filtering
  many runs reads one small file per run;
- ``columns.json`` and raw little-endian arrays: one row table (the step and
  timestamp of each history row) and, per metric, the row of each point and
  its value (``g<gen>-rows.step``, ``g<gen>-rows.ts``, ``g<gen>-<n>.row``,
  ``g<gen>-<n>.val``).

Both JSON files record how far the log was read (byte offset of the last
complete line, lines, last sequence number) and what the log looked like then
(inode, size, mtime, checksums of its first bytes and of the bytes before the
offset). A reader whose log has the same inode, size and mtime uses the cache
as it is; a log that grew is read from the offset on (the arrays are appended
to, the last row patched in place); a log that shrank, was replaced or was
rewritten in place, a cache of another version, unreadable JSON or arrays
shorter than the JSON says are rebuilt from scratch under a new generation
name (readers of the old one are not disturbed). Updates hold an exclusive
lock on ``cache/lock``, write the arrays first and the JSON files last (atomically), and cut arrays back to the length the JSON
says before appending, so a builder killed half-way costs nothing. A run
directory that cannot be written is read into memory instead.

:func:`~jupyter_tracker.replay.replay` stays the reference: the tests check
that both agree on random logs.
"""

from __future__ import annotations

import os
import secrets
import threading
import zlib
from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from . import records, rundir
from .numerics.decimate import minmax_indices
from .replay import MAX_PROBLEMS, RunLog

__all__ = ["VERSION", "RunCache", "History", "build_many", "empty_column"]

#: The cache's format; a cache of another version is rebuilt.
VERSION = 2
SNAPSHOT_JSON = "snapshot.json"
COLUMNS_JSON = "columns.json"
_FINGERPRINT = 64  # bytes checked at the start of the log and before the offset
_I8 = "<i8"
_F8 = "<f8"
_INT_EXACT = 2**53
_SEQ, _KIND, _STEP, _TS, _DATA = (itemgetter(i) for i in range(5))
_ONLY_HISTORY = {"h"}
_FIVE = {5}


class _Damaged(Exception):
    """The cache on disk is not what its JSON says: rebuild it."""


def empty_column() -> dict[str, np.ndarray]:
    return {"step": np.empty(0, dtype=np.int64), "timestamp": np.empty(0), "value": np.empty(0)}


# -- where the arrays live --------------------------------------------------------
class _Memory:
    """Arrays in memory (a run directory that cannot be written)."""

    persistent = False

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def prepare(self, name: str, count: int) -> None:
        if len(self.arrays.get(name, ())) < count:
            raise _Damaged(name)

    def append(self, name: str, values: np.ndarray) -> None:
        old = self.arrays.get(name)
        self.arrays[name] = values.copy() if old is None else np.concatenate((old, values))

    def patch(self, name: str, index: int, value: float) -> None:
        self.arrays[name][index] = value

    def read(self, name: str, dtype: str, count: int) -> np.ndarray:
        array = self.arrays.get(name)
        if count == 0:
            return np.empty(0, dtype=dtype)
        if array is None or len(array) < count:
            raise _Damaged(name)
        return array[:count].copy()


class _Files:
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
            raise _Damaged(name)
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
            raise _Damaged(str(exc)) from None


# -- the state of the columns --------------------------------------------------------
class _State:
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
    def from_dict(cls, data: Any) -> _State | None:
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


class _Increment:
    """The records read in one update, turned into appends and patches of the columns."""

    def __init__(self, state: _State, log: RunLog) -> None:
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
            if record[1] != "h":
                if batch:
                    summary.add_rows(batch, batch_step)
                    batch = []
                log.apply(record)
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

    def write(self, store: _Memory | _Files, stored: dict[str, list]) -> None:
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


# -- reading what the cache holds ----------------------------------------------------
class History:
    """A run's history rows and columns as of one read of its log.

    Columns come as ``{metric: {"step": int64, "timestamp": float64, "value":
    float64}}`` numpy arrays, the shape of the server's ``GET .../history``.
    """

    def __init__(self, state: _State, store: _Memory | _Files) -> None:
        self._state = state
        self._store = store
        self._rows: tuple[np.ndarray, np.ndarray] | None = None
        self._columns: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}

    @property
    def rows_count(self) -> int:
        return self._state.rows

    def keys(self) -> list[str]:
        """Every metric, in the order it was first logged."""
        return list(self._state.metrics)

    def _row_table(self) -> tuple[np.ndarray, np.ndarray]:
        if self._rows is None:
            rows = self._state.rows
            self._rows = (self._store.read("rows.step", _I8, rows), self._store.read("rows.ts", _F8, rows))
        return self._rows

    def _column(self, key: str) -> tuple[np.ndarray, np.ndarray, bool]:
        found = self._columns.get(key)
        if found is None:
            meta = self._state.metrics.get(key)
            if meta is None:
                found = (np.empty(0, dtype=np.int64), np.empty(0), True)
            else:
                number, points, ints = meta[0], meta[1], meta[2]
                found = (self._store.read(f"{number}.row", _I8, points), self._store.read(f"{number}.val", _F8, points), ints)
            self._columns[key] = found
        return found

    def load(self, keys: Sequence[str] | None) -> None:
        """Read the arrays of ``keys`` (all metrics when None) now (raises ``_Damaged``)."""
        self._row_table()
        for key in self.keys() if keys is None else keys:
            self._column(key)

    def columns(self, keys: Sequence[str] | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict[str, dict[str, np.ndarray]]:
        """Each metric's points (all metrics by name when ``keys`` is None; a key without
        points gets empty arrays), in a step range, at most about ``samples`` per
        metric (min/max per bucket and both ends kept, as the server does)."""
        wanted = sorted(self.keys()) if keys is None else list(dict.fromkeys(keys))
        steps, stamps = self._row_table()
        out: dict[str, dict[str, np.ndarray]] = {}
        for key in wanted:
            rows, values, _ = self._column(key)
            if min_step is not None or max_step is not None:
                at = steps[rows]
                keep = np.ones(len(rows), dtype=bool)
                if min_step is not None:
                    keep &= at >= min_step
                if max_step is not None:
                    keep &= at <= max_step
                rows, values = rows[keep], values[keep]
            if samples is not None and len(values) > max(int(samples), 4):
                picked = minmax_indices(values, samples)
                rows, values = rows[picked], values[picked]
            out[key] = {"step": steps[rows], "timestamp": stamps[rows], "value": values.copy()}
        return out

    def _selection(self, keys: Sequence[str] | None, samples: int | None) -> np.ndarray:
        """Indices of the rows :meth:`rows` returns."""
        total = self._state.rows
        names = self.keys() if keys is None else keys
        if samples is not None:
            kept = []
            for key in names:
                rows, values, _ = self._column(key)
                kept.append(rows if len(values) <= max(int(samples), 4) else rows[minmax_indices(values, samples)])
            selected = np.unique(np.concatenate(kept)) if kept else np.empty(0, dtype=np.int64)
        else:
            selected = np.arange(total, dtype=np.int64)
        if keys:
            for key in keys:
                rows = self._column(key)[0]
                selected = selected[_where(rows, selected)[0]]
        return selected

    def _build(self, selected: np.ndarray, keys: Sequence[str] | None) -> list[dict[str, Any]]:
        steps, stamps = self._row_table()
        out = [{"_step": s, "_timestamp": t} for s, t in zip(steps[selected].tolist(), stamps[selected].tolist())]
        if not out:
            return out
        dense = len(selected) == self._state.rows
        for key in self.keys() if keys is None else keys:
            rows, values, ints = self._column(key)
            if dense:
                positions, points = rows, slice(None)
            else:
                positions, points = _where(rows, selected)
            picked = values[points]
            listed = picked.astype(np.int64).tolist() if ints else picked.tolist()
            for i, value in zip(positions.tolist(), listed):
                out[i][key] = value
        return out

    def rows(self, keys: Sequence[str] | None = None, samples: int | None = None) -> list[dict[str, Any]]:
        """History rows as :func:`~jupyter_tracker.replay.replay` builds them (``_step``,
        ``_timestamp`` and the metrics). With ``keys``, only rows holding all of them,
        with just those; ``samples`` keeps the rows of each metric's min/max decimation."""
        return self._build(self._selection(keys, samples), keys)

    def iter_rows(self, keys: Sequence[str] | None = None, page_size: int = 1000,
                  min_step: int | None = None, max_step: int | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`rows` one page of rows at a time, optionally within a step range."""
        selected = self._selection(keys, None)
        steps = self._row_table()[0]
        if min_step is not None:
            selected = selected[steps[selected] >= min_step]
        if max_step is not None:
            selected = selected[steps[selected] <= max_step]
        size = max(1, int(page_size))
        for start in range(0, len(selected), size):
            yield from self._build(selected[start : start + size], keys)


def _where(rows: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the ``selected`` rows (sorted) that hold a point of a metric whose points
    are in ``rows`` (sorted): their positions in ``selected`` and the points' positions."""
    if len(rows) == 0 or len(selected) == 0:
        none = np.empty(0, dtype=np.int64)
        return none, none
    found = np.searchsorted(rows, selected)
    clipped = np.minimum(found, len(rows) - 1)
    hit = rows[clipped] == selected
    return np.flatnonzero(hit), clipped[hit]


# -- keeping the cache fresh ----------------------------------------------------------
def _crc_at(fd: int, start: int, stop: int) -> int:
    return zlib.crc32(os.pread(fd, max(0, stop - start), start)) if stop > start else 0


def _fingerprint(path: Path, offset: int) -> tuple[int, int] | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return (_crc_at(fd, 0, min(_FINGERPRINT, offset)), _crc_at(fd, max(0, offset - _FINGERPRINT), offset))
    finally:
        os.close(fd)


def _fresh(position: dict[str, Any], stat: os.stat_result | None) -> bool:
    if stat is None:
        return position.get("inode") is None
    return (position.get("inode") == stat.st_ino and position.get("size") == stat.st_size
            and position.get("mtime_ns") == stat.st_mtime_ns)


def _continues(position: dict[str, Any], stat: os.stat_result, events: Path) -> bool:
    """Whether the log only grew (or lost a torn tail) since ``position``."""
    if position.get("inode") != stat.st_ino or stat.st_size < position["offset"]:
        return False
    if stat.st_size == position.get("size") and stat.st_mtime_ns != position.get("mtime_ns"):
        return False  # rewritten in place
    return _fingerprint(events, position["offset"]) == (position.get("head"), position.get("back"))


def _stat(events: Path) -> os.stat_result | None:
    try:
        return os.stat(events)
    except OSError:
        return None


class RunCache:
    """One run directory's cache, kept fresh at each call.

    ``snapshot()`` is cheap (one stat, and one small file when the log changed
    in another process); ``history()`` reads or builds the columns. Neither
    raises for a damaged cache (it is rebuilt) or a run directory that cannot be
    written (the run is then read into memory, incrementally as well).
    """

    def __init__(self, path: str | os.PathLike, persist: bool = True) -> None:
        self.path = Path(path)
        self.events = self.path / rundir.EVENTS
        self._persist = persist
        self._log: RunLog | None = None
        self._position: dict[str, Any] | None = None
        self._state: _State | None = None
        self._store: _Memory | _Files | None = None
        self._history: History | None = None
        self._lock = threading.RLock()  # one reader may serve several threads (a live view's, the caller's)

    @property
    def persistent(self) -> bool:
        """Whether this reader keeps its cache on disk (False: in memory)."""
        return self._persist

    def snapshot(self) -> RunLog:
        """The run as its log says now, without the history rows."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> RunLog:
        stat = _stat(self.events)
        if self._log is not None and self._position is not None and _fresh(self._position, stat):
            return self._log
        if self._persist and stat is not None:
            data = rundir.read_cache_json(self.path, SNAPSHOT_JSON)
            log = _snapshot_from(data)
            if log is not None and _fresh(data["log"], stat):
                self._log, self._position, self._history = log, data["log"], None
                return log
        self._update(stat)
        return self._log  # type: ignore[return-value]

    def history(self, keys: Sequence[str] | None = None) -> History:
        """The columns as the log says now, with the arrays of ``keys`` (None: all) read."""
        with self._lock:
            return self._read_history(keys)

    def _read_history(self, keys: Sequence[str] | None) -> History:
        damaged: str | None = None
        for attempt in range(3):
            stat = _stat(self.events)
            if damaged is not None or self._history is None or self._position is None or not _fresh(self._position, stat):
                loaded = self._load_columns(stat)
                if not loaded or (damaged is not None and self._state is not None and self._state.gen == damaged):
                    self._update(stat, damaged)
            try:
                assert self._history is not None
                self._history.load(keys)
                return self._history
            except _Damaged:
                damaged = self._state.gen if self._state is not None else ""
                self._history = None
                if attempt == 1:  # damaged again after a rebuild: read this run into memory
                    self._persist = False
                    self._state = None
        raise RuntimeError("the cache of this run could not be read")  # pragma: no cover

    def fresh(self) -> bool:
        """Whether the columns are ready for the log as it is now (no build to do)."""
        with self._lock:
            return self._fresh_now()

    def _fresh_now(self) -> bool:
        stat = _stat(self.events)
        if self._history is not None and self._position is not None and _fresh(self._position, stat):
            return True
        if not self._persist:
            return False
        state = _State.from_dict(rundir.read_cache_json(self.path, COLUMNS_JSON))
        return state is not None and _fresh(state.log, stat)

    # -- updating ---------------------------------------------------------------------
    def _load_columns(self, stat: os.stat_result | None) -> bool:
        """Take what the cache on disk holds when it matches the log as it is now."""
        if not self._persist or stat is None:
            return False
        state = _State.from_dict(rundir.read_cache_json(self.path, COLUMNS_JSON))
        snapshot = rundir.read_cache_json(self.path, SNAPSHOT_JSON)
        log = _snapshot_from(snapshot)
        if state is None or log is None or snapshot["log"] != state.log or not _fresh(state.log, stat):
            return False
        self._set(state, log, _Files(self.path, state.gen))
        return True

    def _set(self, state: _State, log: RunLog, store: _Memory | _Files) -> None:
        self._state, self._log, self._store, self._position = state, log, store, state.log
        self._history = History(state, store)

    def _update(self, stat: os.stat_result | None, damaged: str | None = None) -> None:
        """Bring the cache up to the log; ``damaged`` names a generation found damaged."""
        if stat is None:  # no log (yet): nothing to cache
            self._set(_State("0"), RunLog(), _Memory())
            self._state.log = {"inode": None}  # type: ignore[union-attr]
            self._position = self._state.log  # type: ignore[union-attr]
            return
        if self._persist:
            try:
                with rundir.cache_lock(self.path, exclusive=True):
                    self._update_files(damaged)
                return
            except OSError:
                self._persist = False  # read-only run directory, full disk: read into memory
                self._state = None
        self._update_memory(damaged is not None)

    def _update_files(self, damaged: str | None) -> None:
        stat = _stat(self.events)
        state = _State.from_dict(rundir.read_cache_json(self.path, COLUMNS_JSON))
        if state is not None and state.gen == damaged:
            state = None
        snapshot = rundir.read_cache_json(self.path, SNAPSHOT_JSON)
        log = _snapshot_from(snapshot)
        usable = state is not None and log is not None and snapshot["log"] == state.log
        if usable and stat is not None and _fresh(state.log, stat):  # another reader just did it
            self._set(state, log, _Files(self.path, state.gen))  # type: ignore[arg-type]
            return
        fresh_start = not (usable and stat is not None and _continues(state.log, stat, self.events))
        if fresh_start:
            state, log = _State(secrets.token_hex(4)), RunLog()
        store = _Files(self.path, state.gen)  # type: ignore[union-attr]
        try:
            self._advance(state, log, store)  # type: ignore[arg-type]
        except _Damaged:
            state, log = _State(secrets.token_hex(4)), RunLog()
            store = _Files(self.path, state.gen)
            self._advance(state, log, store)
            fresh_start = True
        rundir.write_cache_json(self.path, COLUMNS_JSON, state.to_dict())  # type: ignore[union-attr]
        rundir.write_cache_json(self.path, SNAPSHOT_JSON, {"version": VERSION, "log": state.log,  # type: ignore[union-attr]
                                                           "run": log.to_dict()})  # type: ignore[union-attr]
        rundir.cache_prune(self.path, store.prefix)  # and what builders killed half-way left
        self._set(state, log, store)  # type: ignore[arg-type]

    def _update_memory(self, rebuild: bool) -> None:
        stat = _stat(self.events)
        state, log, store = self._state, self._log, self._store
        if (rebuild or state is None or log is None or not isinstance(store, _Memory) or stat is None
                or not _continues(state.log, stat, self.events)):
            state, log, store = _State("mem"), RunLog(), _Memory()
        elif not _fresh(state.log, stat):
            # new objects for what changes: whoever holds the old ones keeps a consistent view
            state, log = _State.from_dict(state.to_dict()), RunLog.from_dict(log.to_dict())
        if stat is None or not _fresh(state.log, stat):
            self._advance(state, log, store)  # type: ignore[arg-type]
        self._set(state, log, store)  # type: ignore[arg-type]

    def _advance(self, state: _State, log: RunLog, store: _Memory | _Files) -> None:
        """Read the log from where ``state`` stopped and add what it says."""
        position = records.LogPosition(int(state.log.get("offset", 0)), int(state.log.get("lines", 0)),
                                       state.log.get("seq", 0))
        stored = {key: meta[1] for key, meta in state.metrics.items()}
        report = records.ReadReport()
        increment = _Increment(state, log)
        for frame in records.read_new_frames(self.events, position, report):
            increment.frame(frame)
        increment.write(store, stored)
        _merge_report(log.report, report)
        stat = _stat(self.events)
        head, back = _fingerprint(self.events, position.offset) or (0, 0)
        exact = stat is not None and stat.st_size == report.bytes_read
        state.log = {
            "inode": stat.st_ino if stat is not None else None,
            "size": report.bytes_read if exact else -1,
            "mtime_ns": stat.st_mtime_ns if exact and stat is not None else -1,
            "offset": position.offset,
            "lines": position.lines,
            "seq": position.seq,
            "head": head,
            "back": back,
        }


def _snapshot_from(data: Any) -> RunLog | None:
    try:
        if data.get("version") != VERSION:
            return None
        dict(data["log"])
        return RunLog.from_dict(data["run"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _merge_report(total: records.ReadReport, new: records.ReadReport) -> None:
    """Add what one incremental read found to what the earlier ones found."""
    if total.torn_tail and total.problems:
        total.problems.pop()  # the torn tail is read again (complete or still torn)
    total.records += new.records
    total.corrupt += new.corrupt
    total.missing += new.missing
    total.missing_ranges.extend(new.missing_ranges)
    total.duplicates += new.duplicates
    total.torn_tail = new.torn_tail
    total.bytes_read = new.bytes_read
    total.problems.extend(new.problems)
    if len(total.problems) > MAX_PROBLEMS:
        del total.problems[: len(total.problems) - MAX_PROBLEMS]


def build_many(paths: Sequence[str | os.PathLike], workers: int | None = None) -> int:
    """Build the caches of several runs at once, in one process per CPU; how many processes ran.

    What the compare view's first render of runs never read before waits for;
    worth it from two runs on. The processes are plain ``python -m
    jupyter_tracker.columns PATH...`` (no multiprocessing: nothing of the
    caller's main module is run again) and write nothing anywhere but the
    caches. Never raises: a run whose cache was not built here is built by
    its reader later, as usual.
    """
    import subprocess
    import sys

    todo = [os.fspath(path) for path in paths]
    workers = min(len(todo), workers or os.cpu_count() or 1)
    if workers < 2:
        return 0
    procs = []
    try:
        for index in range(workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "jupyter_tracker.columns", *todo[index::workers]],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
    except OSError:
        pass  # no processes here (a sandbox, a limit): the readers build what is left
    for proc in procs:
        proc.wait()
    return len(procs)


def _main(paths: list[str]) -> int:
    for path in paths:
        try:
            RunCache(path).history(())
        except Exception:  # noqa: BLE001 - the reader will try again, and say what is wrong
            pass
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
