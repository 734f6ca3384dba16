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
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..numerics import ticks
from ..numerics.bands import band_edges, group_band
from ..numerics.decimate import minmax, minmax_indices
from .axes import Frame
from .charts import HEIGHT, MIN_WIDTH, View, x_label
from .comparedata import RunData
from .smoother import LiveSmoother
from .snapshot import MARGIN, PLOT, StaticChart

__all__ = ["OverlayChart", "ScatterChart", "Trace", "Traces", "LINE_POINTS"]

#: The most points a run's line sends per redraw (several runs share a chart).
LINE_POINTS = 1000
#: Hover points per chart, shared by its lines.
HOVER_POINTS = 300


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


@dataclass
class Trace:
    """One run's line of one metric, computed for a view: x, raw y and smoothed y (full length)."""

    x: np.ndarray
    y: np.ndarray
    smoothed: np.ndarray | None
    steps: np.ndarray


def _carried(at_steps: np.ndarray, column: dict[str, np.ndarray] | None) -> np.ndarray:
    """The last value of ``column`` logged at or before each of ``at_steps`` (NaN before its first)."""
    if column is None or not len(column["step"]):
        return np.full(len(at_steps), np.nan)
    idx = np.searchsorted(column["step"], at_steps, side="right") - 1
    out = column["value"][np.maximum(idx, 0)].astype(np.float64)
    out[idx < 0] = np.nan
    return out


def _x_of(data: RunData, metric: str, column: dict[str, np.ndarray], view: View) -> np.ndarray:
    if view.x_axis == "wall":
        return np.asarray(column["timestamp"], dtype=np.float64)
    if view.x_axis == "relative":
        return np.asarray(column["timestamp"], dtype=np.float64) - float(data.created or column["timestamp"][0])
    by = data.step_metric(metric) if view.x_axis == "step" else view.x_axis
    if by is None:
        return np.asarray(column["step"], dtype=np.float64)
    return _carried(column["step"], data.columns.get(by))


class Traces:
    """Each run's lines for the current view, recomputed only when the run or the view changed.

    Smoothing goes through the panel's :class:`~.smoother.LiveSmoother`, one per run and
    metric: while a run grows, only its new points (and a short tail) are smoothed again.
    """

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], tuple[Any, Trace | None]] = {}
        self._smoothers: dict[tuple[str, str], tuple[LiveSmoother, Any, float]] = {}

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
            x = _x_of(data, metric, column, view)
            kind = view.kind(len(y))
            smoothed = None
            if kind != "none":
                setting = (view.x_axis, kind, view.amount)
                held = self._smoothers.get(key)
                if held is None or held[1] != setting or held[0].n > len(y) or (
                        held[0].n and not _same(y[held[0].n - 1], held[2])):
                    smoother = LiveSmoother()
                    smoother.configure(kind, view.amount)
                else:
                    smoother = held[0]
                smoothed = smoother.update(x, y)[0][: len(y)].copy()
                self._smoothers[key] = (smoother, setting, float(y[-1]))
            trace = Trace(x, y, smoothed, np.asarray(column["step"], dtype=np.float64))
        self._done[key] = ((data.version, view), trace)
        return trace

    def forget(self, keep: set[str]) -> None:
        """Drop what belongs to runs no longer shown."""
        for store in (self._done, self._smoothers):
            for key in [k for k in store if k[0] not in keep]:
                del store[key]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _points(x: np.ndarray, y: np.ndarray, n: int, log_y: bool) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(x)
    x, y = x[keep], y[keep].copy()
    if log_y:
        y[y <= 0] = np.nan
    if len(x) > n:
        x, y = minmax(x, y, n)
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
        self.marks: dict[tuple[str, str], Any] = {}  # (kind, key) -> mark; kinds: raw, smooth, band, mean
        self.sent: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]] = []  # kind, colour, x, y, y2
        self.axes: tuple[ticks.Axis, ticks.Axis] | None = None
        self.view: View | None = None
        self.x_metric: str | None = None

    def _mark(self, kind: str, key: str, color: str) -> Any:
        import bqplot as bq

        mark = self.marks.get((kind, key))
        if mark is None:
            scales = {"x": self.frame.x_scale, "y": self.frame.y_scale}
            if kind == "band":
                mark = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales=scales, colors=[color, color],
                                fill="between", fill_colors=[color], fill_opacities=[0.18], opacities=[0.0, 0.0],
                                stroke_width=0)
            else:
                mark = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, colors=[color],
                                opacities=[0.3 if kind == "raw" else 1.0], stroke_width=1 if kind == "raw" else 2)
            self.marks[(kind, key)] = mark
        elif mark.colors[0] != color:
            mark.colors = [color, color] if kind == "band" else [color]
            if kind == "band":
                mark.fill_colors = [color]
        return mark

    def draw(self, runs: list[tuple[RunData, str, Trace]], groups: list[tuple[str, str, list[Trace]]] | None,
             view: View, band: str = "minmax") -> None:
        """Draw ``runs`` ((data, colour, trace)), or, when ``groups`` is given ((label, colour, traces)),
        one mean line and band per group."""
        used: list[tuple[str, str]] = []
        sent: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]] = []
        hover: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
        per_line = max(8, HOVER_POINTS // max(1, len(groups) if groups is not None else len(runs)))
        scale = self.frame.y_scale_for(view.log_y)
        if groups is not None:
            for label, color, traces in groups:
                lines = [(t.x, t.smoothed if t.smoothed is not None else t.y) for t in traces]
                agg = group_band(lines)
                lo, hi = band_edges(agg, band)
                idx = minmax_indices(agg.mean, LINE_POINTS) if len(agg.x) > LINE_POINTS else np.arange(len(agg.x))
                x, mean, lo, hi = agg.x[idx], agg.mean[idx], lo[idx], hi[idx]
                if view.log_y:
                    mean, lo, hi = (np.where(v > 0, v, np.nan) for v in (mean, lo, hi))
                shade, line = self._mark("band", label, color), self._mark("mean", label, color)
                with shade.hold_sync():
                    shade.x, shade.y = x, np.vstack([lo, hi])
                with line.hold_sync():
                    line.x, line.y = x, mean
                used += [("band", label), ("mean", label)]
                sent += [("band", color, x, lo, hi), ("mean", color, x, mean, None)]
                pick = np.unique(np.linspace(0, len(x) - 1, min(len(x), per_line)).astype(np.int64)) if len(x) else idx[:0]
                hover.append((x[pick], mean[pick], [f"{label} ({int(agg.count[idx][i])} runs) · x {_fmt(x[i])} · "
                                                    f"mean {_fmt(mean[i])} · {band} [{_fmt(lo[i])}, {_fmt(hi[i])}]"
                                                    for i in pick]))
        else:
            for data, color, trace in runs:
                raw_x, raw_y = _points(trace.x, trace.y, LINE_POINTS, view.log_y)
                primary = trace.smoothed is None
                raw = self._mark("raw", data.id, color)
                with raw.hold_sync():
                    raw.x, raw.y = raw_x, raw_y
                    raw.opacities = [1.0 if primary else 0.3]
                    raw.stroke_width = 2 if primary else 1
                    raw.marker = "circle" if primary and len(raw_x) < 20 else None
                    raw.marker_size = 16
                used.append(("raw", data.id))
                sent.append(("raw" if not primary else "line", color, raw_x, raw_y, None))
                if trace.smoothed is not None:
                    sx, sy = _points(trace.x, trace.smoothed, LINE_POINTS // 2, view.log_y)
                    bold = self._mark("smooth", data.id, color)
                    with bold.hold_sync():
                        bold.x, bold.y = sx, sy
                    used.append(("smooth", data.id))
                    sent.append(("smooth", color, sx, sy, None))
                n = len(trace.x)
                pick = np.unique(np.linspace(0, n - 1, min(n, per_line)).astype(np.int64)) if n else np.zeros(0, np.int64)
                pick = pick[np.isfinite(trace.x[pick]) & np.isfinite(trace.y[pick])]
                names = [f"{data.name} · step {int(trace.steps[i])} · value {_fmt(float(trace.y[i]))}"
                         + (f" · smoothed {_fmt(float(trace.smoothed[i]))}" if trace.smoothed is not None else "")
                         for i in pick]
                hover.append((trace.x[pick], trace.y[pick], names))
        for key in [k for k in self.marks if k not in used]:
            del self.marks[key]
        order = {"band": 0, "raw": 1, "mean": 2, "smooth": 2}
        marks = [self.marks[k] for k in sorted(used, key=lambda k: order[k[0]])] + [self.hover]
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
        hx = np.concatenate([h[0] for h in hover]) if hover else np.zeros(0)
        hy = np.concatenate([h[1] for h in hover]) if hover else np.zeros(0)
        names = [n for h in hover for n in h[2]]
        ok = np.isfinite(hx) & np.isfinite(hy) & ((hy > 0) if view.log_y else True)
        with self.hover.hold_sync():
            self.hover.x, self.hover.y = hx[ok], hy[ok]
            self.hover.names = [n for n, keep in zip(names, ok) if keep]

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
