"""In-memory series for the live panel, fed by the writer thread.

:class:`SeriesStore` is a listener of the run's writer: it receives every
batch of records after they are written and appends the history values to
one growable numpy column per metric (step, wall time, custom x, value). The
panel thread reads them; nothing here runs on the training thread.
"""

from __future__ import annotations

import math
import threading
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .. import records
from ..summaries import match

__all__ = ["Column", "Series", "SeriesStore"]

_STEP, _TIME, _ROW = itemgetter(2), itemgetter(3), itemgetter(4)


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


class Series:
    """One metric's points: steps, wall times, custom x (its step metric) and values."""

    __slots__ = ("name", "step", "time", "custom", "value", "step_metric", "version",
                 "last", "minimum", "maximum")

    def __init__(self, name: str) -> None:
        self.name = name
        self.step = Column()
        self.time = Column()
        self.custom = Column()
        self.value = Column()
        self.step_metric: str | None = None
        self.version = 0  # bumped at every append
        self.last = math.nan
        self.minimum = math.inf
        self.maximum = -math.inf

    def __len__(self) -> int:
        return self.value.size

    def append(self, steps: Any, times: Any, customs: Any, values: Any) -> None:
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        self.step.extend(steps)
        self.time.extend(times)
        self.custom.extend(customs)
        self.value.extend(values)
        self.version += 1
        self.last = float(values[-1])
        finite = values[np.isfinite(values)]
        if len(finite):
            self.minimum = min(self.minimum, float(finite.min()))
            self.maximum = max(self.maximum, float(finite.max()))


class SeriesStore:
    """Every metric's :class:`Series`, kept up to date from writer batches."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.lock = threading.Lock()
        self.specs: list[dict] = []  # define_metric calls, in order
        self.last_step: int | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.rows = 0
        self.version = 0
        self._last_values: dict[str, float] = {}  # for step metrics missing from a row

    # -- feeding ----------------------------------------------------------------
    def on_items(self, items: list[list]) -> None:
        """Writer listener: ``items`` are numbered records (history kind ``h``)."""
        with self.lock:
            history: list[list] = []
            for item in items:
                kind = item[1]
                if kind == "h" or kind == "H":
                    history.append(item)
                elif kind == "m":
                    self._flush(history)
                    history = []
                    self._define(item[3])
            self._flush(history)

    def _define(self, spec: dict) -> None:
        self.specs.append(dict(spec))
        if spec.get("step_metric"):
            for name, series in self.series.items():
                if match(spec["name"], name):
                    series.step_metric = spec["step_metric"]

    def _series(self, name: str) -> Series:
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series(name)
            for spec in self.specs:
                if spec.get("step_metric") and match(spec["name"], name):
                    series.step_metric = spec["step_metric"]
        return series

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
        keys = tuple(rows[0])
        uniform = list(map(tuple, rows)).count(keys) == len(rows)  # same keys, same order
        has_custom = any(s.step_metric for s in self.series.values()) or any(
            spec.get("step_metric") for spec in self.specs
        )
        if uniform and not has_custom:
            try:
                self._flush_uniform(history, rows, keys)
                return
            except (OverflowError, TypeError, ValueError):
                pass  # an odd value (a huge int): the row by row path converts it
        self._flush_rows(history, rows)

    def _flush_uniform(self, history: list[list], rows: list[dict], keys: tuple[str, ...]) -> None:
        """Every row has the same keys: one 2-D conversion, no loop per value."""
        n, width = len(rows), len(keys)
        steps = np.fromiter(map(_STEP, history), dtype=np.float64, count=n)
        times = np.fromiter(map(_TIME, history), dtype=np.float64, count=n)
        values = chain.from_iterable(map(dict.values, rows))
        table = np.fromiter(values, dtype=np.float64, count=n * width).reshape(n, width)
        nan = np.full(len(rows), np.nan)
        for column, name in enumerate(keys):
            self._series(name).append(steps, times, nan, table[:, column])
        self._last_values.update(rows[-1])

    def _flush_rows(self, history: list[list], rows: list[dict]) -> None:
        pending: dict[str, list[list[float]]] = {}
        last_values = self._last_values
        for item, row in zip(history, rows):
            last_values.update(row)
            for name, value in row.items():
                series = self._series(name)
                custom = math.nan
                if series.step_metric:
                    custom = _as_float(row.get(series.step_metric, last_values.get(series.step_metric)))
                cols = pending.setdefault(name, [[], [], [], []])
                cols[0].append(item[2])
                cols[1].append(item[3])
                cols[2].append(custom)
                cols[3].append(_as_float(value))
        for name, cols in pending.items():
            self.series[name].append(*cols)

    def backfill(self, events: Path, upto: int | None = None) -> None:
        """Load what the events log holds (up to sequence number ``upto``)."""
        items = [r for r in records.read_log(events) if r[1] in ("h", "m") and (upto is None or r[0] <= upto)]
        self.on_items(items)

    # -- reading ----------------------------------------------------------------
    def names(self) -> list[str]:
        with self.lock:
            return list(self.series)

    def snapshot(self, name: str) -> tuple[Series, int] | None:
        with self.lock:
            series = self.series.get(name)
            return None if series is None else (series, len(series))

    def summary_rows(self) -> list[tuple[str, float, float, float]]:
        """(name, last, min, max) per metric."""
        with self.lock:
            return [(s.name, s.last, s.minimum, s.maximum) for s in self.series.values()]


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan
