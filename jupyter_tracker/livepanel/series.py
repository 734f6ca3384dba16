"""In-memory series for the live panel, read from the run's events log.

The panel reads ``events.log`` itself, on its own thread and at its own pace
(:class:`LogTail`): the writer thread and the training loop never do any work
for it. :class:`SeriesStore` turns the records into one growable numpy
column per metric (sequence number, step, wall time, value), keeps the
``define_metric`` calls, and feeds a :class:`~jupyter_tracker.summaries.SummaryState`
with the same records the writer feeds its own, so the panel's summary table
follows the run's summary rules.
"""

from __future__ import annotations

import math
import os
import threading
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .. import records
from ..limits import RESERVED_KEYS
from ..summaries import SummaryState, match

__all__ = ["Column", "Rows", "Series", "SeriesStore", "LogTail"]

_SEQ, _STEP, _TIME, _ROW = itemgetter(0), itemgetter(2), itemgetter(3), itemgetter(4)


class Column:
    """A float64 array that grows by doubling; ``view()`` is the filled part."""

    __slots__ = ("data", "size")

    def __init__(self, capacity: int = 1024) -> None:
        self.data = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def extend(self, values: np.ndarray | list[float]) -> None:
        values = np.asarray(values, dtype=np.float64)
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.empty(max(need, 2 * len(self.data)), dtype=np.float64)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    def view(self) -> np.ndarray:
        return self.data[: self.size]


class Rows:
    """Sequence numbers, steps and wall times of the rows a set of metrics was logged in.

    Metrics logged in the same rows (every ``train/*`` at every step) share one
    ``Rows``, so 20 metrics of 10^6 points keep these three columns once, not
    20 times. A member that misses a row the others got is given a copy of its own.
    """

    __slots__ = ("seq", "step", "time", "members")

    def __init__(self, capacity: int = 1024) -> None:
        self.seq = Column(capacity)
        self.step = Column(capacity)
        self.time = Column(capacity)
        self.members: set[str] = set()

    def extend(self, seqs: Any, steps: Any, times: Any) -> None:
        self.seq.extend(seqs)
        self.step.extend(steps)
        self.time.extend(times)

    def copy(self) -> Rows:
        out = Rows(max(1024, self.seq.size))
        out.extend(self.seq.view(), self.step.view(), self.time.view())
        return out


class Series:
    """One metric's points: its rows (sequence numbers, steps, wall times) and values."""

    __slots__ = ("name", "rows", "value", "last", "minimum", "maximum", "rising", "increased", "_top")

    def __init__(self, name: str, rows: Rows) -> None:
        self.name = name
        self.rows = rows
        rows.members.add(name)
        self.value = Column()
        self.last = math.nan
        self.minimum = math.inf
        self.maximum = -math.inf
        self.rising = True  # never decreased (finite values): a candidate x axis
        self.increased = False
        self._top = -math.inf

    @property
    def seq(self) -> Column:
        return self.rows.seq

    @property
    def step(self) -> Column:
        return self.rows.step

    @property
    def time(self) -> Column:
        return self.rows.time

    def __len__(self) -> int:
        return self.value.size

    def extend(self, values: Any) -> None:
        """Append values (their rows were appended to :attr:`rows` by the store)."""
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        self.value.extend(values)
        self.last = float(values[-1])
        finite = values[np.isfinite(values)]
        if len(finite):
            self.minimum = min(self.minimum, float(finite.min()))
            self.maximum = max(self.maximum, float(finite.max()))
            if self.rising:
                joined = np.concatenate([[self._top], finite]) if self._top > -math.inf else finite
                steps_ = np.diff(joined)
                self.rising = bool(np.all(steps_ >= 0))
                self.increased = self.increased or bool(np.any(steps_ > 0))
            self._top = float(finite[-1])


class SeriesStore(records.Visitor):
    """Every metric's :class:`Series`, the metric definitions and the summary
    (a :class:`~jupyter_tracker.records.Visitor` of the records read)."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.lock = threading.Lock()
        self.specs: list[dict] = []  # define_metric calls, in order
        self.summary = SummaryState()
        self.last_step: int | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.rows = 0
        self.version = 0  # bumped whenever anything changed

    # -- feeding ----------------------------------------------------------------
    def add(self, items: list[list]) -> None:
        """Records in log order (any kind; history, metric and summary records are used)."""
        with self.lock:
            self.visit(items)

    def on_history(self, batch: list[list]) -> None:
        self._flush(batch)

    def on_metric(self, seq: int, ts: Any, payload: Any) -> None:
        if isinstance(payload, dict):
            self.specs.append(dict(payload))
            self.summary.apply(records.METRIC, payload)
            self.version += 1

    def on_summary(self, seq: int, ts: Any, payload: Any) -> None:
        if isinstance(payload, dict):
            self.summary.apply(records.SUMMARY, payload)
            self.version += 1

    def _append(self, names: list[str], seqs: Any, steps: Any, times: Any, values: list[Any]) -> None:
        """Rows (``seqs``, ``steps``, ``times``) logged with a value for each of ``names``.

        Members of one :class:`Rows` that are all here share the append; the ones
        whose fellow members are not here take a copy of their rows first.
        """
        fresh: Rows | None = None
        by_rows: dict[int, list[Series]] = {}
        for name in names:
            series = self.series.get(name)
            if series is None:
                if fresh is None:
                    fresh = Rows()
                series = self.series[name] = Series(name, fresh)
            by_rows.setdefault(id(series.rows), []).append(series)
        for group in by_rows.values():
            rows = group[0].rows
            if len(group) < len(rows.members):  # the others were not logged here: part ways
                for series in group:
                    rows.members.discard(series.name)
                rows = rows.copy()
                for series in group:
                    series.rows = rows
                    rows.members.add(series.name)
            rows.extend(seqs, steps, times)
        for name, column in zip(names, values):
            self.series[name].extend(column)

    def _flush(self, history: list[list]) -> None:
        if not history:
            return
        self.rows += len(history)
        self.version += 1
        self.last_step = history[-1][2]
        if self.first_time is None:
            self.first_time = history[0][3]
        self.last_time = history[-1][3]
        rows = list(map(_ROW, history))
        self.summary.add_rows(rows, self.last_step)
        keys = tuple(rows[0])
        if list(map(tuple, rows)).count(keys) == len(rows):  # same keys, same order
            try:
                self._flush_uniform(history, rows, keys)
                return
            except (OverflowError, TypeError, ValueError):
                pass  # an odd value (a huge int): the row by row path converts it
        self._flush_rows(history, rows)

    def _flush_uniform(self, history: list[list], rows: list[dict], keys: tuple[str, ...]) -> None:
        """Every row has the same keys: one 2-D conversion, no loop per value."""
        n, width = len(rows), len(keys)
        table = np.fromiter(chain.from_iterable(map(dict.values, rows)), dtype=np.float64, count=n * width)
        table = table.reshape(n, width)
        seqs = np.fromiter(map(_SEQ, history), dtype=np.float64, count=n)
        steps = np.fromiter(map(_STEP, history), dtype=np.float64, count=n)
        times = np.fromiter(map(_TIME, history), dtype=np.float64, count=n)
        self._append(list(keys), seqs, steps, times, [table[:, column] for column in range(width)])

    def _flush_rows(self, history: list[list], rows: list[dict]) -> None:
        pending: dict[str, list[list[float]]] = {}
        for item, row in zip(history, rows):
            for name, value in row.items():
                cols = pending.get(name)
                if cols is None:
                    cols = pending[name] = [[], [], [], []]
                cols[0].append(item[0])
                cols[1].append(item[2])
                cols[2].append(item[3])
                cols[3].append(_as_float(value))
        # metrics logged in exactly the same rows share them; the others get rows of their own
        by_seqs: dict[tuple, list[str]] = {}
        for name, cols in pending.items():
            by_seqs.setdefault(tuple(cols[0]), []).append(name)
        for names in by_seqs.values():
            cols = pending[names[0]]
            self._append(names, cols[0], cols[1], cols[2], [pending[name][3] for name in names])

    # -- reading ----------------------------------------------------------------
    def names(self) -> list[str]:
        with self.lock:
            return list(self.series)

    def snapshot(self, name: str) -> tuple[Series, int] | None:
        with self.lock:
            series = self.series.get(name)
            return None if series is None else (series, len(series))

    def step_metric_of(self, name: str) -> str | None:
        """The x axis ``define_metric`` gave ``name`` (the latest matching definition wins)."""
        found = None
        for spec in self.specs:
            if spec.get("step_metric") and match(spec["name"], name):
                found = spec["step_metric"]
        return found

    def charted(self) -> list[str]:
        """The metrics that get a chart: not a step metric, not hidden, not the tracker's own."""
        with self.lock:
            names = list(self.series)
            specs = list(self.specs)
        axes = {spec["step_metric"] for spec in specs if spec.get("step_metric")}
        out = []
        for name in names:
            if name in axes or name in RESERVED_KEYS:  # an x axis, or the tracker's own
                continue
            hidden = False
            for spec in specs:
                if match(spec["name"], name) and "hidden" in spec:
                    hidden = bool(spec["hidden"])
            if not hidden:
                out.append(name)
        return out

    def rising(self) -> list[str]:
        """Metrics that never decreased and increased at least once: usable as an x axis."""
        with self.lock:
            return [s.name for s in self.series.values() if s.rising and s.increased]

    def x_from(self, series: Series, metric: str, start: int, stop: int) -> np.ndarray:
        """For the points ``start:stop`` of ``series``, the value ``metric`` had at that row
        (logged in the same row or before it); NaN before its first value."""
        with self.lock:
            axis = self.series.get(metric)
            if axis is None or not len(axis):
                return np.full(stop - start, np.nan)
            seqs, values = axis.seq.view(), axis.value.view()
        at = np.searchsorted(seqs, series.seq.view()[start:stop], side="right") - 1
        out = values[np.maximum(at, 0)].copy()
        out[at < 0] = np.nan
        return out

    def summary_rows(self) -> list[tuple[str, Any, float, float]]:
        """(name, summary value, min, max) per metric, in first-logged order."""
        with self.lock:
            values = self.summary.as_dict()
            rows = []
            for name, series in self.series.items():
                rows.append((name, values.get(name, series.last), series.minimum, series.maximum))
            manual = {k: v for k, v in self.summary.overrides.items() if k not in self.series}
        return rows + [(k, v, math.nan, math.nan) for k, v in manual.items()]


class LogTail:
    """Follows a growing log file: each :meth:`read` returns the records appended since the last
    (:func:`~jupyter_tracker.records.read_new_frames`; :attr:`report` counts what it skipped)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.position = records.LogPosition()
        self.report = records.ReadReport()
        self.size = 0  # the file's size at the last read

    @property
    def offset(self) -> int:
        return self.position.offset

    @property
    def corrupt(self) -> int:
        return self.report.corrupt

    def read(self, limit: int = 64 << 20) -> list[list]:
        try:
            self.size = os.stat(self.path).st_size
        except OSError:
            return []
        if self.size <= self.position.offset:
            return []
        items: list[list] = []
        for frame in records.read_new_frames(self.path, self.position, self.report, limit=limit):
            items.extend(frame)
        return items

    @property
    def behind(self) -> int:
        """Bytes known to be in the file and not read yet."""
        return max(0, self.size - self.offset)


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan
