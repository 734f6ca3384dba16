"""Summary rules: the value of each metric that stands for the whole run.

One :class:`SummaryState` is fed the history rows and the ``define_metric`` /
manual override records in log order. The kernel's writer thread feeds it as it
writes, and a reader replaying ``events.log`` feeds it the same records, so the
summary a finished run shows is the same in every process.

By default a metric's summary is its last value. ``define_metric(name,
summary="min|max|mean|first|last|none")`` changes that for the values logged
from then on; NaN values are ignored by min, max and mean. Manual values
(``run.summary[k] = v``) override the rules until deleted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import reduce
from operator import add
from operator import itemgetter
from typing import Any

from . import records

__all__ = ["SUMMARY_KINDS", "SummaryState", "check_metric_name", "match"]

SUMMARY_KINDS = ("min", "max", "mean", "last", "first", "none")


def check_metric_name(name: Any, what: str = "metric name") -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{what} must be a non-empty string, got {name!r}")
    if "*" in name[:-1]:
        raise ValueError(f"{what} {name!r}: '*' is only allowed at the end (a prefix glob)")
    return name


def match(pattern: str, key: str) -> bool:
    """Trailing-``*`` glob: ``"val/*"`` matches ``"val/loss"``; no star means equality."""
    if pattern.endswith("*"):
        return key.startswith(pattern[:-1])
    return key == pattern


_ROW = itemgetter(4)


class SummaryState(records.Visitor):
    """Summary values computed incrementally from rows and records (a
    :class:`~jupyter_tracker.records.Visitor`: it takes history, metric and summary records)."""

    __slots__ = ("last", "first", "stats", "rules", "specs", "overrides", "deleted", "_seen", "rows", "last_step")

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}
        self.first: dict[str, Any] = {}
        # key -> [min, max, sum, count] for keys whose rule needs it
        self.stats: dict[str, list[float]] = {}
        self.rules: dict[str, str] = {}  # key -> summary kind other than "last"
        self.specs: list[dict] = []  # define_metric calls in order
        self.overrides: dict[str, Any] = {}
        self.deleted: set[str] = set()
        self._seen: set[str] = set()
        self.rows = 0
        self.last_step: int | None = None

    # -- feeding --------------------------------------------------------------
    def add_row(self, row: dict[str, Any], step: int | None = None) -> None:
        """One history record (several records of the same step are fine)."""
        self.add_rows([row], step, check_new=True)

    def add_rows(self, rows: list[dict[str, Any]], step: int | None = None, check_new: bool = True) -> None:
        """History records in log order; ``step`` is the step of the last one.

        ``check_new=False`` promises that every key of ``rows`` was seen
        before (the writer knows: ``Run.log`` marks rows with new keys), which
        lets the last values be found by walking back from the newest row and
        stopping as soon as every known key has its value: usually one row.
        """
        if not rows:
            return
        self.rows += len(rows)
        if step is not None:
            self.last_step = step
        if check_new:
            self._new_keys(rows)
        last = self.last
        wanted = len(self._seen)
        covered: set[str] = set()
        for row in reversed(rows):
            if covered.issuperset(row):
                continue
            for key in row.keys() - covered:
                last[key] = row[key]
            covered.update(row)
            if len(covered) >= wanted:
                break
        if self.rules:
            tracked = self.rules.keys()
            for row in rows:
                if not tracked.isdisjoint(row):
                    for key in tracked & row.keys():
                        self._accumulate(key, row[key])

    def add_media(self, references: dict[str, Any]) -> None:
        """A ``media`` record: the summary of a media key is its last reference (no rule applies)."""
        for key, reference in references.items():
            if key not in self.last:
                self.first[key] = reference
            self.last[key] = reference

    def knows(self, keys: Iterable[str]) -> bool:
        """Whether every one of ``keys`` was seen (then ``add_rows(..., check_new=False)`` is right)."""
        return self._seen.issuperset(keys)

    def add_columns(self, keys: list[str], columns: list[list[Any]], step: int | None = None) -> None:
        """History records given column-wise: ``columns[i]`` holds the values of
        ``keys[i]`` in each of the records, every key in every record. The same as
        :meth:`add_rows` of those records, for a reader that has them as columns."""
        count = len(columns[0]) if columns else 0
        if not count:
            return
        if not self.knows(keys):
            self.add_rows([dict(zip(keys, values)) for values in zip(*columns)], step)
            return
        self.rows += count
        if step is not None:
            self.last_step = step
        rules = self.rules
        for key, column in zip(keys, columns):
            self.last[key] = column[-1]
            if key in rules:
                self._accumulate_all(key, column)

    def _accumulate_all(self, key: str, values: list[Any]) -> None:
        """:meth:`_accumulate` of each value, in order (the same floats, summed in the same order)."""
        try:
            numbers = [float(value) for value in values]
        except (TypeError, ValueError):
            for value in values:
                self._accumulate(key, value)
            return
        numbers = [value for value in numbers if value == value]  # NaN never poisons min/max/mean
        if not numbers:
            return
        stats = self.stats.get(key)
        if stats is None:
            first = numbers[0]
            stats = self.stats[key] = [first, first, first, 1.0]
            numbers = numbers[1:]
            if not numbers:
                return
        low, high = min(numbers), max(numbers)
        if low < stats[0]:
            stats[0] = low
        if high > stats[1]:
            stats[1] = high
        stats[2] = reduce(add, numbers, stats[2])  # left to right, as += does (sum() may compensate)
        stats[3] += float(len(numbers))

    def _new_keys(self, rows: list[dict[str, Any]]) -> None:
        seen = self._seen
        for row in rows:
            if seen.issuperset(row):
                continue
            for key in [k for k in row if k not in seen]:
                seen.add(key)
                self.first[key] = self.last[key] = row[key]  # first-seen order for display
                self._resolve(key)

    def _accumulate(self, key: str, value: Any) -> None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            return
        if value != value:  # NaN never poisons min/max/mean
            return
        stats = self.stats.get(key)
        if stats is None:
            self.stats[key] = [value, value, value, 1.0]
            return
        if value < stats[0]:
            stats[0] = value
        if value > stats[1]:
            stats[1] = value
        stats[2] += value
        stats[3] += 1.0

    def _resolve(self, key: str) -> None:
        kind = None
        for spec in self.specs:
            if spec.get("summary") and match(spec["name"], key):
                kind = spec["summary"]  # the latest matching definition wins
        if kind and kind != "last":
            self.rules[key] = kind
        else:
            self.rules.pop(key, None)

    def define(self, spec: dict) -> None:
        """Apply a ``define_metric`` record to keys seen so far and to come."""
        self.specs.append(dict(spec))
        if spec.get("summary"):
            for key in self._seen:
                if match(spec["name"], key):
                    self._resolve(key)

    def set_manual(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            self.overrides[key] = value
            self.deleted.discard(key)

    def delete_manual(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.overrides.pop(key, None)
            self.deleted.add(key)

    def apply(self, kind: str, payload: Any) -> None:
        """Feed a non-history record (metric or summary; other kinds change nothing here)."""
        self.visit_kind(kind, 0, None, payload)

    def on_history(self, batch: list[list]) -> None:
        self.add_rows(list(map(_ROW, batch)), batch[-1][2])

    def on_metric(self, seq: int, ts: Any, payload: Any) -> None:
        self.define(payload)

    def on_summary(self, seq: int, ts: Any, payload: Any) -> None:
        self.set_manual(payload.get("set") or {})
        self.delete_manual(payload.get("del") or [])

    def on_media(self, seq: int, ts: Any, payload: Any) -> None:
        self.add_media(payload.get("values") or {})

    # -- keeping it ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-ready values (first-seen key order kept), for
        whoever keeps it between reads: the server's database, a run's cache."""
        return {
            "last": self.last,
            "first": self.first,
            "stats": self.stats,
            "rules": self.rules,
            "specs": self.specs,
            "overrides": self.overrides,
            "deleted": sorted(self.deleted),
            "rows": self.rows,
            "last_step": self.last_step,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SummaryState:
        """Rebuild a state written by :meth:`to_dict` (a new one for ``None`` or ``{}``)."""
        state = cls()
        if not data:
            return state
        state.last = dict(data.get("last") or {})
        state.first = dict(data.get("first") or {})
        state.stats = {key: list(values) for key, values in (data.get("stats") or {}).items()}
        state.rules = dict(data.get("rules") or {})
        state.specs = list(data.get("specs") or [])
        state.overrides = dict(data.get("overrides") or {})
        state.deleted = set(data.get("deleted") or [])
        state._seen = set(state.first)  # keys are seen exactly when they get a first value
        state.rows = int(data.get("rows") or 0)
        state.last_step = data.get("last_step")
        return state

    # -- reading --------------------------------------------------------------
    def value(self, key: str) -> Any:
        """The summary value of ``key``; ``KeyError`` when it has none."""
        if key in self.overrides:
            return self.overrides[key]
        if key in self.deleted or key not in self.last:
            raise KeyError(key)
        kind = self.rules.get(key, "last")
        if kind == "last":
            return self.last[key]
        if kind == "first":
            return self.first[key]
        if kind == "none":
            raise KeyError(key)
        stats = self.stats.get(key)
        if stats is None:  # only NaN logged since the rule was set
            return math.nan
        if kind == "min":
            return stats[0]
        if kind == "max":
            return stats[1]
        return stats[2] / stats[3]  # mean

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.last:
            try:
                out[key] = self.value(key)
            except KeyError:
                pass
        out.update(self.overrides)
        return out

    def step_metrics(self) -> dict[str, str]:
        """Metric key -> its step metric, for keys seen so far (latest definition wins)."""
        out: dict[str, str] = {}
        for key in self._seen:
            for spec in self.specs:
                if spec.get("step_metric") and match(spec["name"], key):
                    out[key] = spec["step_metric"]
        return out
