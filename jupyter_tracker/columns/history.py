"""Reading what a run's read cache holds: history rows and columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..numerics.decimate import minmax_indices
from .store import _F8, _I8, Files, Memory, State

__all__ = ["History", "empty_column"]


def empty_column() -> dict[str, np.ndarray]:
    return {"step": np.empty(0, dtype=np.int64), "timestamp": np.empty(0), "value": np.empty(0)}


class History:
    """A run's history rows and columns as of one read of its log.

    Columns come as ``{metric: {"step": int64, "timestamp": float64, "value":
    float64}}`` numpy arrays, the shape of the server's ``GET .../history``.
    """

    def __init__(self, state: State, store: Memory | Files) -> None:
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


