"""The compare view's charts: one metric's runs overlaid (or its groups' means and bands), and a scatter.

An :class:`OverlayChart` draws, per run, the raw line faint and the smoothed
line bold in the run's colour, on the panel's axes (:class:`.axes.Frame`,
:mod:`jupyter_tracker.numerics.ticks`). Smoothing runs on the full series and
each line is then decimated (min/max per bucket) to at most :data:`LINE_POINTS`
points, so the cost of a redraw does not grow with the history. Grouped, it
draws per group a shaded band (:func:`jupyter_tracker.numerics.bands.band_edges`)
and a bold mean line over the group's smoothed lines, aligned on x first
(:func:`jupyter_tracker.numerics.bands.group_band`). Hovering a point names
the run (or group), the step and the value.

A :class:`ScatterChart` puts one point per run: a config key on x against a
summary metric on y (categories get one position each).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..numerics import ticks
from ..numerics.bands import band_edges, group_band
from ..numerics.decimate import MinMaxIndex, minmax_indices
from .axes import Frame
from .charts import HEIGHT, MIN_WIDTH, View, x_label
from .comparedata import RunData
from .smoother import LiveSmoother
from .snapshot import MARGIN, PLOT, StaticChart

__all__ = ["OverlayChart", "ScatterChart", "Trace", "Traces", "LINE_POINTS"]

#: The most points a run's line sends per redraw (several runs share a chart).
LINE_POINTS = 1000
#: Hover points per chart, shared by its lines, and how often they are refreshed while runs record (s).
HOVER_POINTS = 300
HOVER_PERIOD = 5.0


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


@dataclass
class Trace:
    """One run's line of one metric, computed for a view: x, raw y and smoothed y (full length)."""

    x: np.ndarray
    y: np.ndarray
    smoothed: np.ndarray | None
    steps: np.ndarray
    #: Indices of the points each line draws (min/max per bucket, kept up to date incrementally).
    raw_idx: np.ndarray | None = None
    smooth_idx: np.ndarray | None = None


def _carried(at_steps: np.ndarray, column: dict[str, np.ndarray] | None) -> np.ndarray:
    """The last value of ``column`` logged at or before each of ``at_steps`` (NaN before its first)."""
    if column is None or not len(column["step"]):
        return np.full(len(at_steps), np.nan)
    idx = np.searchsorted(column["step"], at_steps, side="right") - 1
    out = column["value"][np.maximum(idx, 0)].astype(np.float64)
    out[idx < 0] = np.nan
    return out


def _x_of(data: RunData, metric: str, column: dict[str, np.ndarray], steps: np.ndarray, view: View) -> np.ndarray:
    if view.x_axis == "wall":
        return np.asarray(column["timestamp"], dtype=np.float64)
    if view.x_axis == "relative":
        return np.asarray(column["timestamp"], dtype=np.float64) - float(data.created or column["timestamp"][0])
    by = data.step_metric(metric) if view.x_axis == "step" else view.x_axis
    if by is None:
        return steps
    return _carried(column["step"], data.columns.get(by))


class Traces:
    """Each run's lines for the current view, recomputed only when the run or the view changed.

    Smoothing goes through the panel's :class:`~.smoother.LiveSmoother`, one per run and
    metric: while a run grows, only its new points (and a short tail) are smoothed again.
    """

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], tuple[Any, Trace | None]] = {}
        self._smoothers: dict[tuple[str, str], tuple[LiveSmoother, Any, float]] = {}
        self._indices: dict[tuple[str, str], tuple[Any, MinMaxIndex, MinMaxIndex, int]] = {}

    def get(self, data: RunData, metric: str, view: View) -> Trace | None:
        """``metric`` of ``data`` on the view's x axis, smoothed as the view says; None without points."""
        key = (data.id, metric)
        done = self._done.get(key)
        if done is not None and done[0] == (data.version, view):
            return done[1]
        column = data.columns.get(metric)
        trace = None
        if column is not None and len(column["value"]):
            y = np.asarray(column["value"], dtype=np.float64)
            steps = np.asarray(column["step"], dtype=np.float64)
            x = _x_of(data, metric, column, steps, view)
            kind = view.kind(len(y))
            smoothed, stable, smoother_id = None, 0, 0
            if kind != "none":
                setting = (view.x_axis, kind, view.amount)
                held = self._smoothers.get(key)
                if held is None or held[1] != setting or held[0].n > len(y) or (
                        held[0].n and not _same(y[held[0].n - 1], held[2])):
                    smoother = LiveSmoother()
                    smoother.configure(kind, view.amount)
                else:
                    smoother = held[0]
                smoother_id = id(smoother)
                values, stable = smoother.update(x, y)
                smoothed = values[: len(y)]  # a view: the smoother only changes it at its next update
                self._smoothers[key] = (smoother, setting, float(y[-1]))
            trace = Trace(x, y, smoothed, steps)
            self._index(key, trace, (kind, view.amount, view.x_axis, smoother_id), stable)
        self._done[key] = ((data.version, view), trace)
        return trace

    def _index(self, key: tuple[str, str], trace: Trace, setting: Any, stable: int) -> None:
        """The points to draw: only what the run added since the last drawing is scanned."""
        n = len(trace.y)
        held = self._indices.get(key)
        if held is None or held[0] != setting or held[3] > n:
            held = (setting, MinMaxIndex(LINE_POINTS), MinMaxIndex(LINE_POINTS // 4), 0)
        _, raw, smooth, done = held
        raw.extend(trace.y, done)
        trace.raw_idx = raw.indices()
        if trace.smoothed is not None:
            if stable > len(smooth):  # values before `stable` are final: indexed once
                smooth.extend(trace.smoothed[:stable], len(smooth))
            tail = np.arange(len(smooth), n, dtype=np.int64)
            if len(tail) > LINE_POINTS // 4:
                tail = tail[np.linspace(0, len(tail) - 1, LINE_POINTS // 4).astype(np.int64)]
            trace.smooth_idx = np.concatenate([smooth.indices(), tail])
        self._indices[key] = (setting, raw, smooth, n)

    def forget(self, keep: set[str]) -> None:
        """Drop what belongs to runs no longer shown."""
        for store in (self._done, self._smoothers, self._indices):
            for key in [k for k in store if k[0] not in keep]:
                del store[key]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _points(x: np.ndarray, y: np.ndarray, idx: np.ndarray | None, log_y: bool) -> tuple[np.ndarray, np.ndarray]:
    """The points ``idx`` of a line (all when None), without those lacking an x; NaN is a gap."""
    if idx is not None:
        x, y = x[idx], y[idx]
    keep = np.isfinite(x)
    x, y = x[keep], y[keep].astype(np.float64)
    y[~np.isfinite(y)] = np.nan
    if log_y:
        y[y <= 0] = np.nan
    return x, y


class OverlayChart:
    """One metric, every run (or every group) of the view."""

    def __init__(self, metric: str, utc_offset: float = 0.0) -> None:
        import bqplot as bq

        self.metric = metric
        self.utc_offset = utc_offset
        self.tooltip = bq.Tooltip(fields=["name"], show_labels=False)
        self.hover = bq.Scatter(x=np.zeros(0), y=np.zeros(0), opacities=np.array([0.0]), default_size=90,
                                names=[], names_unique=False, display_names=False, tooltip=self.tooltip,
                                interactions={"hover": "tooltip"}, scales={"x": bq.LinearScale(), "y": bq.LinearScale()})
        self.frame = Frame([self.hover], height=HEIGHT, min_width=MIN_WIDTH, title=metric)
        self.frame.figure.add_class("tracker-compare-chart")
        self.figure = self.frame.figure
        self.marks: dict[tuple[str, str], Any] = {}  # (kind, group or "") -> mark; kinds: raw, smooth, mean, band
        self.rows: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}  # (kind, run or group) -> x, y
        self.sent: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]] = []  # kind, colour, x, y, y2
        self.axes: tuple[ticks.Axis, ticks.Axis] | None = None
        self.view: View | None = None
        self.x_metric: str | None = None
        self.hovered: tuple[float, Any] = (-math.inf, None)

    def _mark(self, kind: str, key: str = "") -> Any:
        """The mark of ``kind``: ``raw``, ``smooth`` and ``mean`` hold all their lines (one
        message per redraw each); a ``band`` (one per group) fills between its two edges."""
        import bqplot as bq

        mark = self.marks.get((kind, key))
        if mark is None:
            scales = {"x": self.frame.x_scale, "y": self.frame.y_scale}
            if kind == "band":
                mark = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales=scales, fill="between",
                                fill_opacities=[0.18], opacities=[0.0, 0.0], stroke_width=0)
            else:
                mark = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, stroke_width=1 if kind == "raw" else 2)
            self.marks[(kind, key)] = mark
        return mark

    def _send(self, kind: str, lines: list[tuple[str, str, np.ndarray, np.ndarray, float]], width: float = 0) -> Any:
        """Put ``lines`` (key, colour, x, y, opacity) in the mark of ``kind`` as rows of 2-D
        arrays; a shorter row is padded with copies of its last drawable point (bqplot places
        each line's label at its last point, which must be a number)."""
        mark = self._mark(kind)
        length = max(2, max((len(x) for _, _, x, _, _ in lines), default=0))  # bqplot squeezes a 1 × 1 array
        xs = np.full((len(lines), length), np.nan)
        ys = np.full((len(lines), length), np.nan)
        for row, (_, _, x, y, _) in enumerate(lines):
            xs[row, : len(x)], ys[row, : len(y)] = x, y
            ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
            if len(ok):
                xs[row, len(x):], ys[row, len(y):] = x[ok[-1]], y[ok[-1]]
                if not (np.isfinite(xs[row, -1]) and np.isfinite(ys[row, -1])):  # a gap at the very end
                    xs[row, -1], ys[row, -1] = x[ok[-1]], y[ok[-1]]
        colors = [c for _, c, _, _, _ in lines]
        opacities = [o for _, _, _, _, o in lines]
        short = kind == "raw" and bool(lines) and length < 20
        with mark.hold_sync():
            mark.x, mark.y = (xs, ys) if lines else (np.zeros(0), np.zeros(0))
            if list(mark.colors) != colors:
                mark.colors = colors or ["#1895e0"]
            if list(mark.opacities) != opacities:
                mark.opacities = opacities
            if width and mark.stroke_width != width:
                mark.stroke_width = width
            if mark.marker != ("circle" if short else None):
                mark.marker, mark.marker_size = ("circle" if short else None), 16
            labels = [key for key, _, _, _, _ in lines]
            if list(mark.labels) != labels:
                mark.labels = labels
        for row, (key, _, x, y, _) in enumerate(lines):
            self.rows[(kind, key)] = (x, y)
        return mark

    def draw(self, runs: list[tuple[RunData, str, Trace]], groups: list[tuple[str, str, list[Trace]]] | None,
             view: View, band: str = "minmax") -> None:
        """Draw ``runs`` ((data, colour, trace)), or, when ``groups`` is given ((label, colour, traces)),
        one mean line and band per group."""
        sent: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]] = []
        hover: list[Any] = []  # functions giving (x, y, tooltips), called when the tooltips are due
        per_line = max(8, HOVER_POINTS // max(1, len(groups) if groups is not None else len(runs)))
        scale = self.frame.y_scale_for(view.log_y)
        self.rows = {}
        shown: list[Any] = []
        if groups is not None:
            means = []
            for label, color, traces in groups:
                lines = [(t.x, t.smoothed if t.smoothed is not None else t.y) for t in traces]
                agg = group_band(lines)
                lo, hi = band_edges(agg, band)
                idx = minmax_indices(agg.mean, LINE_POINTS) if len(agg.x) > LINE_POINTS else np.arange(len(agg.x))
                x, mean, lo, hi = agg.x[idx], agg.mean[idx], lo[idx], hi[idx]
                if view.log_y:
                    mean, lo, hi = (np.where(v > 0, v, np.nan) for v in (mean, lo, hi))
                shade = self._mark("band", label)
                with shade.hold_sync():
                    shade.x, shade.y = x, np.vstack([lo, hi])
                    if list(shade.colors) != [color, color]:
                        shade.colors, shade.fill_colors = [color, color], [color]
                self.rows[("band", label)] = (x, np.vstack([lo, hi]))
                shown.append(shade)
                means.append((label, color, x, mean, 1.0))
                sent += [("band", color, x, lo, hi), ("mean", color, x, mean, None)]
                count = agg.count[idx]

                def tips(label=label, x=x, mean=mean, lo=lo, hi=hi, count=count) -> tuple:
                    pick = np.unique(np.linspace(0, len(x) - 1, min(len(x), per_line)).astype(np.int64)) \
                        if len(x) else np.zeros(0, np.int64)
                    return x[pick], mean[pick], [f"{label} · x {_fmt(x[i])} · mean {_fmt(mean[i])} ({int(count[i])} "
                                                 f"runs here) · {band} [{_fmt(lo[i])}, {_fmt(hi[i])}]" for i in pick]
                hover.append(tips)
            shown.append(self._send("mean", means))
        else:
            raws, smooths = [], []
            for data, color, trace in runs:
                raw_x, raw_y = _points(trace.x, trace.y, trace.raw_idx, view.log_y)
                primary = trace.smoothed is None
                raws.append((data.id, color, raw_x, raw_y, 1.0 if primary else 0.3))
                sent.append(("line" if primary else "raw", color, raw_x, raw_y, None))
                if trace.smoothed is not None:
                    sx, sy = _points(trace.x, trace.smoothed, trace.smooth_idx, view.log_y)
                    smooths.append((data.id, color, sx, sy, 1.0))
                    sent.append(("smooth", color, sx, sy, None))

                def tips(data=data, trace=trace) -> tuple:
                    n = len(trace.x)
                    pick = np.unique(np.linspace(0, n - 1, min(n, per_line)).astype(np.int64)) if n else \
                        np.zeros(0, np.int64)
                    pick = pick[np.isfinite(trace.x[pick]) & np.isfinite(trace.y[pick])]
                    return trace.x[pick], trace.y[pick], [
                        f"{data.name} · step {int(trace.steps[i])} · value {_fmt(float(trace.y[i]))}"
                        + (f" · smoothed {_fmt(float(trace.smoothed[i]))}" if trace.smoothed is not None else "")
                        for i in pick]
                hover.append(tips)
            shown.append(self._send("raw", raws, width=1 if smooths else 2))
            if smooths:
                shown.append(self._send("smooth", smooths))
        for key in [k for k, mark in self.marks.items() if mark not in shown]:
            del self.marks[key]
        marks = shown + [self.hover]
        for mark in marks:
            if mark.scales.get("y") is not scale:
                mark.scales = {"x": self.frame.x_scale, "y": scale}
        if list(self.figure.marks) != marks:
            self.figure.marks = marks
        self.sent, self.view = sent, view
        self.x_metric = None
        if view.x_axis == "step" and runs:
            self.x_metric = runs[0][0].step_metric(self.metric)
        frame = self.frame
        self.axes = self._axes(view, frame.plot_width, frame.plot_height, frame.x_margins, frame.y_margins)
        frame.set_axes(*self.axes, view.log_y, x_label(view, self.x_metric, self.axes[0].unit))
        title = self.metric if self.axes[1].note == "" else f"{self.metric}   ({self.axes[1].note})"
        if self.figure.title != title:
            self.figure.title = title
        hover_key = (view, band, tuple(self.rows))
        now = time.monotonic()
        if hover_key == self.hovered[1] and now - self.hovered[0] < HOVER_PERIOD:
            return
        self.hovered = (now, hover_key)
        hover = [tips() for tips in hover]
        hx = np.concatenate([h[0] for h in hover]) if hover else np.zeros(0)
        hy = np.concatenate([h[1] for h in hover]) if hover else np.zeros(0)
        names = [n for h in hover for n in h[2]]
        ok = np.isfinite(hx) & np.isfinite(hy) & ((hy > 0) if view.log_y else True)
        with self.hover.hold_sync():
            self.hover.x, self.hover.y = hx[ok], hy[ok]
            self.hover.names = [n for n, keep in zip(names, ok) if keep]

    def line(self, kind: str, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """What the chart draws of one line: ``("raw" | "smooth", run id)``, ``("mean" | "band", group)``."""
        return self.rows.get((kind, key))

    def _axes(self, view: View, width: float, height: float, x_margins: tuple[float, float],
              y_margins: tuple[float, float]) -> tuple[ticks.Axis, ticks.Axis]:
        xs = [s[2] for s in self.sent]
        ys = [s[3] for s in self.sent] + [s[4] for s in self.sent if s[4] is not None]
        found = ticks.finite_range(*xs)
        lo, hi = (found[0], found[1]) if found is not None else (0.0, 1.0)
        if view.x_axis == "wall":
            x_axis = ticks.clock_axis(lo, hi, width, utc_offset=self.utc_offset, margins=x_margins)
        elif view.x_axis == "relative":
            x_axis = ticks.duration_axis(lo, hi, width, margins=x_margins)
        else:
            x_axis = ticks.axis_for([np.array([lo, hi]), *xs], width, margins=x_margins)
        y_axis = ticks.axis_for(ys, height, vertical=True, scale="log" if view.log_y else "linear", pad_px=8.0,
                                margins=y_margins)
        return x_axis, y_axis

    def static(self) -> StaticChart | None:
        """This chart as drawn now, for the static image."""
        if not self.sent or self.view is None:
            return None
        x_axis, y_axis = self._axes(self.view, PLOT[0], PLOT[1], (float(MARGIN[0]), float(MARGIN[1])), (4.0, 6.0))
        lines, bands = [], []
        for kind, color, x, y, y2 in self.sent:
            if kind == "band":
                bands.append((x, y, y2, color, 0.18))
            else:
                width, opacity = {"raw": (1.0, 0.35), "line": (2.0, 1.0)}.get(kind, (2.0, 1.0))
                lines.append((x, y, color, width, opacity))
        return StaticChart(self.metric, x_axis, y_axis, x_label(self.view, self.x_metric, x_axis.unit),
                           self.view.log_y, lines, bands=bands)


class ScatterChart:
    """One point per run: a config key (x) against a summary metric (y); hover names the run."""

    def __init__(self) -> None:
        import bqplot as bq

        self.tooltip = bq.Tooltip(fields=["name"], show_labels=False)
        self.points = bq.Scatter(x=np.zeros(0), y=np.zeros(0), colors=["#1895e0"], default_size=64, names=[],
                                 names_unique=False, display_names=False, tooltip=self.tooltip,
                                 interactions={"hover": "tooltip"}, scales={"x": bq.LinearScale(), "y": bq.LinearScale()})
        self.frame = Frame([self.points], height=HEIGHT + 20, min_width=MIN_WIDTH, title="",
                           css_class="tracker-compare-scatter")
        self.points.scales = {"x": self.frame.x_scale, "y": self.frame.y_scale}
        self.figure = self.frame.figure
        self.note = ""

    def draw(self, runs: list[tuple[RunData, str]], key: str, metric: str) -> None:
        values = [data.config.get(key) for data, _ in runs]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)
        categories: list[str] = []
        if not numeric:
            categories = sorted({str(v) for v in values if v is not None})
        xs, ys, colors, names = [], [], [], []
        for (data, color), value in zip(runs, values):
            summary = data.summary.get(metric)
            if value is None or not isinstance(summary, (int, float)) or isinstance(summary, bool):
                continue
            x = float(value) if numeric else float(categories.index(str(value)))
            xs.append(x)
            ys.append(float(summary))
            colors.append(color)
            names.append(f"{data.name} · {key} {value} · {metric} {_fmt(float(summary))}")
        x = np.asarray(xs, dtype=np.float64)
        y = np.asarray(ys, dtype=np.float64)
        with self.points.hold_sync():
            self.points.x, self.points.y = x, y
            self.points.colors = colors or ["#1895e0"]
            self.points.names = names
        frame = self.frame
        if numeric:
            x_axis = ticks.axis_for([x], frame.plot_width, pad_px=10.0, margins=frame.x_margins)
        else:
            lo, hi = -0.5, max(len(categories) - 0.5, 0.5)
            x_axis = ticks.Axis(lo, hi, tuple(float(i) for i in range(len(categories))), tuple(categories))
        y_axis = ticks.axis_for([y], frame.plot_height, vertical=True, pad_px=10.0, margins=frame.y_margins)
        frame.set_axes(x_axis, y_axis, False, key)
        self.note = "" if len(xs) else f"no run has both config {key!r} and a number for summary {metric!r}"
        title = f"{metric} (summary) vs {key}" + (f"   ({self.note})" if self.note else "")
        if self.figure.title != title:
            self.figure.title = title
