"""The runs behind a compare view, kept up to date at little cost.

:class:`CompareSource` answers "which runs" with the query layer
(:meth:`jupyter_tracker.api.Api.runs`: wandb's filters, order, project) or
with the runs it was given, and keeps, per run, what the view shows
(:class:`RunData`): identity, state, flattened config, summary and its rules,
and the history of the charted metrics, read through the run's columnar cache
(:mod:`jupyter_tracker.columns`).

Live runs are cheap to follow: :meth:`CompareSource.refresh` looks at the
size and modification time of each run's ``events.log`` and ``run.json`` and
reads a run again only when one changed (the cache then reads just what the
log gained). Finished runs cost one ``stat`` a cycle. New run directories
are noticed by listing the folder; the query runs again when the list
changed, and every :data:`REQUERY` seconds while a run shown records
(:data:`REQUERY_IDLE` otherwise), since a run may come to match a filter on its summary.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import query as q
from .. import records, rundir
from ..api import Api, ApiRun, LocalRun, Runs
from ..columns import build_many
from ..limits import TERMINAL_STATES
from ..summaries import match

__all__ = ["CompareSource", "RunData", "flatten", "REQUERY", "REQUERY_IDLE", "summary_rule"]

#: Seconds between two evaluations of the query while the folder's list of runs stays the same
#: and some run shown records.
REQUERY = 10.0
#: The same while no run shown records (a run outside the view may still come to match a filter).
REQUERY_IDLE = 60.0
#: Seconds the query is evaluated at every refresh after the folder's list changed.
SETTLE = 5.0


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config dicts as dotted keys (``optimizer.lr``)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def summary_rule(metric: str, specs: Sequence[Mapping[str, Any]]) -> str:
    """The summary rule ``define_metric`` gave ``metric`` (the latest match wins); ``last`` by default."""
    rule = "last"
    for spec in specs:
        if spec.get("summary") and match(str(spec.get("name", "")), metric):
            rule = str(spec["summary"])
    return rule


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


@dataclass
class RunData:
    """What a compare view shows of one run."""

    run: ApiRun
    id: str
    name: str = ""
    state: str = "running"
    project: str | None = None
    group: str | None = None
    job_type: str | None = None
    tags: list[str] = field(default_factory=list)
    created: float | None = None
    ended: float | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    specs: list[dict[str, Any]] = field(default_factory=list)
    steps: int | None = None
    #: ``{metric: {"step", "timestamp", "value"}}`` numpy arrays (all the run's metrics).
    columns: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    report: records.ReadReport = field(default_factory=records.ReadReport)
    stamps: tuple[Any, ...] = ()
    #: Bumped whenever something above changed.
    version: int = 0
    _rising: dict[str, tuple[int, float, bool, int]] = field(default_factory=dict, repr=False)

    @property
    def live(self) -> bool:
        return self.state not in TERMINAL_STATES

    def step_metric(self, metric: str) -> str | None:
        """The step metric ``define_metric`` gave ``metric`` (the latest match wins)."""
        found = None
        for spec in self.specs:
            if spec.get("step_metric") and match(str(spec.get("name", "")), metric):
                found = str(spec["step_metric"])
        return found

    def rising(self) -> dict[str, bool]:
        """Per metric, whether its finite values never decrease (and it has two or more);
        only the points added since the last call are looked at."""
        out = {}
        for name, column in self.columns.items():
            values = column["value"]
            checked, top, ok, count = self._rising.get(name, (0, -math.inf, True, 0))
            if checked > len(values):
                checked, top, ok, count = 0, -math.inf, True, 0
            new = values[checked:]
            finite = new[np.isfinite(new)]
            if ok and len(finite):
                ok = bool(finite[0] >= top) and bool(np.all(np.diff(finite) >= 0))
            if len(finite):
                top = float(finite[-1])
            count += len(finite)
            self._rising[name] = (len(values), top, ok, count)
            out[name] = ok and count > 1
        return out

    def duration(self) -> float | None:
        if self.created is None:
            return None
        end = self.ended if self.ended is not None else (None if self.live else self._last_time())
        return max(0.0, (end if end is not None else time.time()) - self.created)

    def _last_time(self) -> float | None:
        last = [float(c["timestamp"][-1]) for c in self.columns.values() if len(c["timestamp"])]
        return max(last) if last else None

    def read_problem(self) -> str:
        """The read report in a sentence, or ``""`` when the log read cleanly."""
        report = self.report
        parts = []
        if report.corrupt:
            parts.append(f"{report.corrupt} corrupt record frame{'s' if report.corrupt != 1 else ''} skipped")
        if report.missing:
            parts.append(f"{report.missing} record{'s' if report.missing != 1 else ''} lost")
        if report.torn_tail and not self.live:
            parts.append("a torn last record skipped")
        return f"run {self.name} ({self.id}): " + ", ".join(parts) + " (shown: what could be read)" if parts else ""


class CompareSource:
    """Which runs a view compares, and their data, refreshed on demand.

    Parameters
    ----------
    api
        Reads the local run directories.
    project, filters, order, group, tags, state
        As :meth:`~jupyter_tracker.api.Api.runs` takes them (checked at once:
        an invalid operator raises ``ValueError`` naming it).
    runs
        Runs to compare instead of a project's: run ids, ``tracker.Api`` runs or
        this kernel's runs; the filters and order still apply.
    """

    def __init__(self, api: Api, project: str | None = None, filters: Mapping[str, Any] | None = None,
                 order: str | None = None, runs: Sequence[Any] | None = None, group: str | None = None,
                 tags: Any = None, state: Any = None) -> None:
        self.api = api
        self.project = project
        self.filters = filters
        self.order = order
        self.shortcuts = {"group": group, "tags": tags, "state": state}
        self.query = q.build_query(filters, order, project=project, group=group, tags=tags, state=state)
        self.given = None if runs is None else [self._resolve(r) for r in runs]
        self.runs: dict[str, RunData] = {}
        self.order_ids: list[str] = []
        self.notes: list[str] = []
        self._listing: tuple[str, ...] | None = None
        self._queried_at = -math.inf
        self._settling_until = -math.inf
        self.version = 0

    def _resolve(self, item: Any) -> ApiRun:
        if isinstance(item, ApiRun):
            return item
        if isinstance(item, str):
            return self.api.run(item)  # KeyError names the id
        path = getattr(item, "path", None)
        if path is not None and Path(path).is_dir():  # a run of this kernel
            return LocalRun(path)
        raise TypeError(f"compare(runs=...) takes run ids, tracker.Api() runs or tracker.init() runs; got {item!r}")

    # -- which runs ---------------------------------------------------------------
    def _select(self) -> Runs:
        if self.given is None:
            return self.api.runs(self.project, self.filters, self.order, group=self.shortcuts["group"],
                                 tags=self.shortcuts["tags"], state=self.shortcuts["state"])
        for run in self.given:
            if isinstance(run, LocalRun):
                run.refresh()
        found = [run for run in self.given if q.matches(self.query.where, run._field)]
        found = q.sort_runs(found, self.query.order, lambda r: r._field, lambda r: (r.created_at, r.id))
        notes = []
        if not found:
            notes = q.missing_key_notes(self.query.fields(),
                                        lambda fld: any(q.present(fld, r._field) for r in self.given or ()), None)
        return Runs(found, notes, self.query)

    def _listing_now(self) -> tuple[str, ...]:
        try:
            return tuple(sorted(p.name for p in Path(self.api.dir).iterdir()))
        except OSError:
            return ()

    # -- refreshing ---------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Bring the runs up to date; whether anything changed."""
        changed = False
        listing = self._listing_now() if self.given is None else ()
        now = time.monotonic()
        if listing != self._listing:  # a new run directory fills in (run.json) over its first moments
            self._settling_until = now + SETTLE
        # while a run records, its summary may come to match a filter (or stop matching): ask again now and then
        period = REQUERY if any(d.live for d in self.runs.values()) else REQUERY_IDLE
        stale = now - self._queried_at >= period
        if force or listing != self._listing or now < self._settling_until or stale:
            self._listing, self._queried_at = listing, now
            found = self._select()
            ids = [run.id for run in found]
            if ids != self.order_ids or found.notes != self.notes:
                changed = True
            kept = {}
            for run in found:
                data = self.runs.get(run.id)
                if data is None or data.run.dir != getattr(run, "dir", None):
                    if isinstance(run, LocalRun) and run.state not in TERMINAL_STATES:
                        run = LocalRun(run.path, persist_cache=False)  # followed: read into memory
                    data = RunData(run, run.id)
                kept[run.id] = data
            cold = [d.run.path for d in kept.values() if not d.version and isinstance(d.run, LocalRun)
                    and d.run._cache.persistent and not d.run._cache.fresh()]
            if len(cold) > 1:  # many runs never read: their caches are built in parallel
                build_many(cold)
            self.runs, self.order_ids, self.notes = kept, ids, list(found.notes)
        for data in self.runs.values():
            changed |= self._update(data)
        if changed:
            self.version += 1
        return changed

    def _update(self, data: RunData) -> bool:
        run = data.run
        path = Path(getattr(run, "dir", "") or "")
        stamps = (_stamp(path / rundir.EVENTS), _stamp(path / rundir.RUN_JSON))
        state = run.state if isinstance(run, LocalRun) else data.state
        if stamps == data.stamps and data.version and state == data.state:
            return False
        if isinstance(run, LocalRun):
            run.refresh()
            state = run.state
        data.stamps = stamps
        data.name = str(run.name or run.id)
        data.state = state
        data.project, data.group, data.job_type = run.project, run.group, run.job_type
        data.tags = list(run.tags)
        data.created = run.created_at
        ended = run.info.get("finished_at")
        data.ended = float(ended) if isinstance(ended, (int, float)) else None
        try:
            data.config = flatten(run.config)
            data.summary = dict(run.summary)
            data.specs = list(getattr(run, "metrics", []) or [])
            data.columns = run.columns()
            data.report = getattr(run, "read_report", records.ReadReport())
            brief = run.brief()
            data.steps = brief.get("steps")
        except Exception as exc:  # noqa: BLE001 - a run that cannot be read is shown as such
            data.report = records.ReadReport(problems=[f"could not read the run: {exc!r}"])
        data.version += 1
        return True

    # -- what the view asks -------------------------------------------------------
    def shown(self) -> list[RunData]:
        return [self.runs[i] for i in self.order_ids if i in self.runs]

    def metrics(self) -> list[str]:
        """Metrics with points in some run, but step metrics and ``_`` keys, sorted."""
        names: set[str] = set()
        steps: set[str] = set()
        for data in self.runs.values():
            names.update(k for k, c in data.columns.items() if len(c["value"]))
            steps.update(s for s in (data.step_metric(k) for k in data.columns) if s)
        return sorted(n for n in names if not n.startswith("_") and n not in steps)

    def rising(self) -> list[str]:
        """Metrics that never decrease in any run that logged them (candidate x axes)."""
        seen: dict[str, bool] = {}
        for data in self.runs.values():
            for name, ok in data.rising().items():
                seen[name] = seen.get(name, True) and ok
        return sorted(name for name, ok in seen.items() if ok)
