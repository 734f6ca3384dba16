"""One chart per metric: the raw line faint and the smoothed line bold, on axes a reader can trust.

A chart redraws only when its series grew or a control changed, and never
sends more than about ``POINTS`` points per line: smoothing runs on the full
series (incrementally, see :mod:`.smoother`), then both lines are decimated
with an incremental min/max index, so a redraw costs the same at 10^3 and
10^6 points. The axes come from :mod:`jupyter_tracker.numerics.ticks` and
cover every line drawn. A short series (fewer than :data:`SHORT` points) is
drawn raw, with markers, and smoothed only when the user picks a smoother.
Hovering a point shows its step, value and smoothed value.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..numerics import ticks
from ..numerics.decimate import MinMaxIndex
from .axes import Frame
from .snapshot import MARGIN, PLOT, StaticChart
from .series import Column, Series, SeriesStore
from .smoother import LiveSmoother

__all__ = ["Chart", "View", "POINTS", "SHORT", "HEIGHT", "MIN_WIDTH", "x_label", "view_controls", "SMOOTHERS", "AXES"]

#: The most points one line sends to the browser per redraw (about).
POINTS = 2000
#: Below this many points a series is drawn raw with markers (smoothing would mislead).
SHORT = 20
HEIGHT = 220
MIN_WIDTH = 300
#: Points offered to the hover tooltip, and how often they are refreshed (s).
HOVER_POINTS = 200
HOVER_PERIOD = 5.0
#: New points fewer than 1/LINE_PX of those drawn move the line by under half a pixel of a
#: 400 px plot: they wait, at most LINE_PERIOD seconds, unless they widen the range shown.
LINE_PX = 800
LINE_PERIOD = 5.0
Y_PAD_PX = 8.0
MARKER_PAD_PX = 6.0


@dataclass(frozen=True)
class View:
    """What the controls say: smoothing and axes."""

    smoothing: str = "auto"  # auto (EMA from SHORT points on) | ema | time-ema | average | gaussian | none
    amount: float = 0.6
    x_axis: str = "step"  # step | wall | relative | a metric's name
    log_y: bool = False

    def kind(self, n: int) -> str:
        if self.smoothing == "auto":
            return "ema" if n >= SHORT else "none"
        return self.smoothing


#: The smoothing menu and the x axis menu's fixed entries: (label, value).
SMOOTHERS = ((f"auto (EMA from {SHORT} points)", "auto"), ("EMA (TensorBoard)", "ema"),
             ("time-weighted EMA", "time-ema"), ("running average", "average"), ("Gaussian", "gaussian"),
             ("none", "none"))
AXES = (("step", "step"), ("wall time", "wall"), ("relative time", "relative"))


def view_controls() -> tuple[Any, Any, Any, Any]:
    """The controls a :class:`View` is read from (the panel's and the compare view's):
    smoothing kind, strength, x axis and log scale."""
    import ipywidgets as widgets

    kind = widgets.Dropdown(options=SMOOTHERS, value="auto", description="smoothing",
                            layout=widgets.Layout(width="300px"))
    amount = widgets.FloatSlider(value=0.6, min=0.0, max=0.99, step=0.01, description="strength",
                                 readout_format=".2f", layout=widgets.Layout(width="260px"))
    x_axis = widgets.Dropdown(options=AXES, value="step", description="x axis", layout=widgets.Layout(width="240px"))
    log_y = widgets.ToggleButton(value=False, description="log y", layout=widgets.Layout(width="70px"))
    return kind, amount, x_axis, log_y


def x_label(view: View, step_metric: str | None, unit: str = "") -> str:
    if view.x_axis == "wall":
        return "wall time"
    if view.x_axis == "relative":
        return f"time ({unit})" if unit else "time"
    if view.x_axis == "step":
        return step_metric or "step"
    return view.x_axis


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _wire(values: np.ndarray, exact: bool = False) -> np.ndarray:
    """What goes to the browser: float32 (half the bytes; 7 digits are plenty for a line on
    a screen), except x values float32 cannot hold exactly (wall times, huge steps)."""
    small = values.astype(np.float32)
    if exact and not np.array_equal(small.astype(np.float64), values, equal_nan=True):
        return values
    return small


def _title(name: str, last: float, note: str = "") -> str:
    short = name if len(name) <= 34 else name[:16] + "…" + name[-16:]
    return f"{short}   last {_fmt(last)}" + (f"   ({note})" if note else "")


class Chart:
    """The figure of one metric and what it last drew."""

    def __init__(self, name: str, color: str, start_time: float, utc_offset: float = 0.0) -> None:
        import bqplot as bq

        self.name = name
        self.color = color
        self.start_time = start_time
        self.utc_offset = utc_offset
        scales = {"x": bq.LinearScale(), "y": bq.LinearScale()}  # replaced by the frame's below
        self.raw = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, colors=[color], opacities=[0.3],
                            stroke_width=1)
        self.smooth = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, colors=[color], stroke_width=2)
        self.tooltip = bq.Tooltip(fields=["name"], show_labels=False)
        self.hover = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales=scales, opacities=np.array([0.0]),
                                default_size=90, colors=[color], names=[], names_unique=False,
                                display_names=False, tooltip=self.tooltip, interactions={"hover": "tooltip"})
        self.frame = Frame([self.raw, self.smooth, self.hover], height=HEIGHT, min_width=MIN_WIDTH, title=name)
        self.figure = self.frame.figure
        self._set_scales(False)
        self.smoother = LiveSmoother()
        self.raw_index = MinMaxIndex(POINTS // 2)
        self.smooth_index = MinMaxIndex(POINTS // 8)  # a smooth curve needs fewer points
        self.drawn = 0  # points of the series already indexed
        self.view: View | None = None
        self.kind = ""
        self.sent: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.x_cache = Column()  # x values when they come from another metric
        self.x_range = (math.inf, -math.inf)
        self.nonpositive = 0  # raw values <= 0 (what a log scale leaves out)
        self.hovered_at = -math.inf
        self.axes: tuple[ticks.Axis, ticks.Axis] | None = None
        self.x_key: tuple[str, str | None] | None = None
        self.sent_at = -math.inf
        self.sent_range = (math.inf, -math.inf)

    def _set_scales(self, log_y: bool) -> None:
        scales = {"x": self.frame.x_scale, "y": self.frame.y_scale_for(log_y)}
        for mark in (self.raw, self.smooth, self.hover):
            if mark.scales.get("x") is not scales["x"] or mark.scales.get("y") is not scales["y"]:
                mark.scales = scales

    # -- x values -----------------------------------------------------------------
    def _x_metric(self, view: View, store: SeriesStore) -> str | None:
        """The metric whose values are the x axis (a step metric, or one picked in the menu)."""
        if view.x_axis == "step":
            return store.step_metric_of(self.name)
        if view.x_axis in ("wall", "relative"):
            return None
        return view.x_axis

    def _x(self, series: Series, n: int, view: View, store: SeriesStore, metric: str | None) -> np.ndarray:
        """x of the points ``0:n``; from another metric they are computed once, as points arrive."""
        if view.x_axis == "wall":
            return series.time.view()[:n]
        if view.x_axis == "relative":
            return series.time.view()[:n] - self.start_time
        if metric is None:
            return series.step.view()[:n]
        if self.x_cache.size < n:
            self.x_cache.extend(store.x_from(series, metric, self.x_cache.size, n))
        return self.x_cache.view()[:n]

    # -- drawing ------------------------------------------------------------------
    def update(self, series: Series, n: int, view: View, store: SeriesStore, final: bool = False,
               exact: bool = True) -> bool:
        """Bring the figure up to ``n`` points under ``view``; whether anything was sent.

        Unless ``exact`` (or ``final``), new points that would move the line by less
        than half a pixel, within the range already shown, are drawn later (at most
        :data:`LINE_PERIOD` s later): at a long history most redraws then send only
        the chart's title, with its last value.
        """
        kind = view.kind(n)
        metric = self._x_metric(view, store)
        x_key = (view.x_axis, metric)
        if n == self.drawn and view == self.view and kind == self.kind and x_key == self.x_key and not final:
            return False
        now = time.monotonic()
        if not (exact or final) and view == self.view and kind == self.kind and x_key == self.x_key \
                and (n - self.drawn) * LINE_PX < self.drawn and now - self.sent_at < LINE_PERIOD \
                and self.sent_range[0] <= series.minimum and series.maximum <= self.sent_range[1]:
            title = _title(self.name, series.last, self.axes[1].note if self.axes else "")
            if self.figure.title != title:
                self.figure.title = title
            return False
        if x_key != self.x_key:
            self.x_cache = Column()
        reset = self.view is None or x_key != self.x_key or kind != self.kind or (
            view.smoothing, view.amount) != (self.view.smoothing, self.view.amount)
        if reset:
            self.smoother.configure(kind, view.amount)
            self.smooth_index.reset()
            self.raw_index.reset()
            self.drawn = 0
            self.x_range = (math.inf, -math.inf)
            self.nonpositive = 0
        x = self._x(series, n, view, store, metric)
        y = series.value.view()[:n]
        new_x, new_y = x[self.drawn:n], y[self.drawn:n]
        finite_x = new_x[np.isfinite(new_x)]
        if finite_x.size:
            self.x_range = (min(self.x_range[0], float(finite_x.min())), max(self.x_range[1], float(finite_x.max())))
        self.nonpositive += int(np.sum(new_y[np.isfinite(new_y)] <= 0))
        smoothed, stable = self.smoother.update(x, y)
        # points before `stable` never change again: index them once; the rest is a short tail
        self.smooth_index.extend(smoothed[:stable], len(self.smooth_index))
        tail = np.arange(stable, n, dtype=np.int64)
        if len(tail) > POINTS // 4:
            tail = tail[np.linspace(0, len(tail) - 1, POINTS // 4).astype(np.int64)]
        smooth_idx = np.concatenate([self.smooth_index.indices(), tail]) if len(tail) else self.smooth_index.indices()
        self.raw_index.extend(y, self.drawn)
        self.drawn = n
        self.sent_at = now
        self.sent_range = (series.minimum, series.maximum)
        log_changed = self.view is None or view.log_y != self.view.log_y
        self.view, self.kind, self.x_key = view, kind, x_key
        short = n < SHORT and kind == "none"
        raw = self._points(x, y, self.raw_index.indices(), view)
        smooth = self._points(x, smoothed, smooth_idx, view) if kind != "none" else (np.zeros(0), np.zeros(0))
        frame = self.frame
        x_axis, y_axis = self._axes(view, raw, smooth, short, frame.plot_width, frame.plot_height,
                                    frame.x_margins, frame.y_margins)
        title = _title(self.name, series.last, y_axis.note)
        if self.figure.title != title:
            self.figure.title = title
        old = self.axes
        wider = old is None or (x_axis.lo <= old[0].lo and x_axis.hi >= old[0].hi
                                and y_axis.lo <= old[1].lo and y_axis.hi >= old[1].hi)
        if log_changed:
            self._set_scales(view.log_y)
        if not wider:  # the lines shrink: draw them before the axes narrow
            self._send(raw, smooth, short)
        self.frame.set_axes(x_axis, y_axis, view.log_y, x_label(view, metric if view.x_axis == "step" else None,
                                                                x_axis.unit))
        if wider:  # the axes widen first, so the new points never show outside the plot
            self._send(raw, smooth, short)
        self.axes = (x_axis, y_axis)
        if final or reset or now - self.hovered_at >= HOVER_PERIOD or n < SHORT:
            self._hover(x, y, smoothed if kind != "none" else None, n, view, store, metric)
            self.hovered_at = now
        return True

    def _points(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray, view: View) -> tuple[np.ndarray, np.ndarray]:
        xs = np.array(x[idx], dtype=np.float64)
        ys = np.array(y[idx], dtype=np.float64)
        bad = ~np.isfinite(ys) | ~np.isfinite(xs)
        if view.log_y:
            bad |= ys <= 0
        ys[bad] = np.nan  # gaps: bqplot leaves NaN out of the path
        xs[~np.isfinite(xs)] = np.nan
        keep = np.isfinite(xs)  # a point without an x (its step metric not logged yet) is not drawn
        return xs[keep], ys[keep]

    def _axes(self, view: View, raw: Any, smooth: Any, short: bool, width: float, height: float,
              x_margins: tuple[float, float], y_margins: tuple[float, float]) -> tuple[ticks.Axis, ticks.Axis]:
        """The x and y axes of what is drawn, for a plot of ``width`` × ``height`` pixels."""
        lo, hi = self.x_range
        if not lo <= hi:
            lo, hi = 0.0, 1.0
        if view.x_axis == "wall":
            x_axis = ticks.clock_axis(lo, hi, width, utc_offset=self.utc_offset, margins=x_margins)
        elif view.x_axis == "relative":
            x_axis = ticks.duration_axis(lo, hi, width, margins=x_margins)
        else:
            integer = True if self.x_key == ("step", None) else None
            x_axis = ticks.axis_for([np.array([lo, hi]), raw[0]], width, integer=integer,
                                    pad_px=MARKER_PAD_PX if short else 0.0, margins=x_margins)
        lines = [raw[1], smooth[1]]
        if view.log_y:
            found = ticks.finite_range(*[v[v > 0] for v in lines])
            if found is None:
                y_axis = ticks.axis_for(lines, height, vertical=True, pad_px=Y_PAD_PX, margins=y_margins)
                y_axis = ticks.Axis(y_axis.lo, y_axis.hi, note="no value > 0 to draw on a log scale")
            else:
                y_axis = ticks.log_axis(found[0], found[1], height, vertical=True, pad_px=Y_PAD_PX,
                                        margins=y_margins, dropped=self.nonpositive)
        else:
            y_axis = ticks.axis_for(lines, height, vertical=True, pad_px=Y_PAD_PX, margins=y_margins)
        return x_axis, y_axis

    def static(self) -> StaticChart | None:
        """This chart as it is now, for the static image (same lines, axes for the image's size)."""
        if "raw" not in self.sent or self.view is None:
            return None
        raw = self.sent["raw"]
        smooth = self.sent.get("smooth", (np.zeros(0), np.zeros(0)))
        short = self.drawn < SHORT and self.kind == "none"
        x_axis, y_axis = self._axes(self.view, raw, smooth, short, PLOT[0], PLOT[1],
                                    (float(MARGIN[0]), float(MARGIN[1])), (4.0, 6.0))
        lines = [(raw[0], raw[1], self.color, 1.0 if len(smooth[0]) else 2.0, 0.35 if len(smooth[0]) else 1.0)]
        if len(smooth[0]):
            lines.append((smooth[0], smooth[1], self.color, 2.0, 1.0))
        title = self.figure.title
        label = x_label(self.view, self.x_key[1] if self.x_key and self.view.x_axis == "step" else None, x_axis.unit)
        return StaticChart(title, x_axis, y_axis, label, self.view.log_y, lines)

    def _send(self, raw: tuple[np.ndarray, np.ndarray], smooth: tuple[np.ndarray, np.ndarray], short: bool) -> None:
        primary_raw = not len(smooth[0])
        with self.raw.hold_sync():  # one message per mark per redraw
            self.raw.x, self.raw.y = _wire(raw[0], exact=True), _wire(raw[1])
            if primary_raw != (self.raw.opacities == [1.0]):
                self.raw.opacities = [1.0] if primary_raw else [0.3]
                self.raw.stroke_width = 2 if primary_raw else 1
            marker = "circle" if short else None
            if self.raw.marker != marker:
                self.raw.marker = marker
                self.raw.marker_size = 24
        if len(self.smooth.x) or len(smooth[0]):
            with self.smooth.hold_sync():
                self.smooth.x, self.smooth.y = _wire(smooth[0], exact=True), _wire(smooth[1])
        self.sent = {"raw": raw}
        if len(smooth[0]):
            self.sent["smooth"] = smooth

    def _hover(self, x: np.ndarray, y: np.ndarray, smoothed: np.ndarray | None, n: int, view: View,
               store: SeriesStore, metric: str | None) -> None:
        """Invisible markers whose tooltip reads step, value and smoothed value."""
        idx = np.unique(np.linspace(0, n - 1, min(n, HOVER_POINTS)).astype(np.int64)) if n else np.zeros(0, np.int64)
        series = store.series.get(self.name)
        if series is None:
            return
        xs, ys = x[idx], y[idx]
        ok = np.isfinite(xs) & np.isfinite(ys)
        if view.log_y:
            ok &= ys > 0
        idx = idx[ok]
        steps = series.step.view()
        times = series.time.view()
        names = []
        for i in idx:
            text = f"step {int(steps[i])}"
            if metric is not None:
                text += f" · {metric} {_fmt(float(x[i]))}"
            elif view.x_axis in ("wall", "relative"):
                text += f" · {time.strftime('%H:%M:%S', time.gmtime(times[i] + self.utc_offset))}"
                text += f" (+{_fmt(times[i] - self.start_time)} s)"
            text += f" · value {_fmt(float(y[i]))}"
            if smoothed is not None:
                text += f" · smoothed {_fmt(float(smoothed[i]))}"
            names.append(text)
        with self.hover.hold_sync():
            self.hover.x = np.asarray(x[idx], dtype=np.float64)
            self.hover.y = np.asarray(y[idx], dtype=np.float64)
            self.hover.names = names

    def points(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What the lines show now (decimated), for the static image."""
        return dict(self.sent)
