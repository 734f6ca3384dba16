"""One bqplot chart per metric: the raw line faint, the smoothed line bold.

A chart redraws only when its series grew or a control changed, and never
sends more than about ``POINTS`` points per line: smoothing runs on the full
series (incrementally, see :mod:`.live`), then both lines are decimated with
an incremental min/max index, so a redraw costs the same at 10^3 and 10^6
points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..numerics.decimate import MinMaxIndex
from .smoother import LiveSmoother
from .series import Series

__all__ = ["Chart", "View", "POINTS", "PALETTE"]

#: The most points one line sends to the browser per redraw (about).
POINTS = 2000
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class View:
    """What the controls say: smoothing and axes."""

    smoothing: str = "ema"
    amount: float = 0.6
    x_axis: str = "step"  # step | wall | relative
    log_y: bool = False


class Chart:
    """The figure of one metric and what it last drew."""

    def __init__(self, name: str, color: str, start_time: float) -> None:
        import bqplot as bq
        import ipywidgets as widgets

        self.name = name
        self.start_time = start_time
        self.x_linear = bq.LinearScale()
        self.x_date = bq.DateScale()
        self.y_linear = bq.LinearScale()
        self.y_log = bq.LogScale()
        scales = {"x": self.x_linear, "y": self.y_linear}
        self.raw = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, colors=[color], opacities=[0.3],
                            stroke_width=1)
        self.smooth = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, colors=[color], stroke_width=2)
        self.x_axis = bq.Axis(scale=self.x_linear, num_ticks=4, label="step")
        self.y_axis = bq.Axis(scale=self.y_linear, side="left", tick_format=".3g", num_ticks=4)
        self.figure = bq.Figure(
            marks=[self.raw, self.smooth],
            axes=[self.x_axis, self.y_axis],
            title=name,
            layout=widgets.Layout(width="100%", height="230px", min_width="240px"),
            fig_margin={"top": 32, "bottom": 36, "left": 56, "right": 12},
            min_aspect_ratio=0.01,
            max_aspect_ratio=100,
            animation_duration=0,
        )
        self.figure.add_class("tracker-chart")
        self.smoother = LiveSmoother()
        self.raw_index = MinMaxIndex(POINTS // 2)
        self.smooth_index = MinMaxIndex(POINTS // 2)
        self.drawn = 0  # points of the series already indexed
        self.view: View | None = None
        self.sent: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- x values -----------------------------------------------------------------
    def _x(self, series: Series, n: int, view: View) -> tuple[np.ndarray, str]:
        if view.x_axis == "wall":
            return series.time.view()[:n], "time"
        if view.x_axis == "relative":
            return series.time.view()[:n] - self.start_time, "seconds"
        if series.step_metric:
            custom = series.custom.view()[:n]
            steps = series.step.view()[:n]
            return np.where(np.isnan(custom), steps, custom), series.step_metric
        return series.step.view()[:n], "step"

    # -- drawing ------------------------------------------------------------------
    def update(self, series: Series, n: int, view: View) -> bool:
        """Bring the figure up to ``n`` points under ``view``; whether anything was sent."""
        if n == self.drawn and view == self.view:
            return False
        x, label = self._x(series, n, view)
        y = series.value.view()[:n]
        if self.view is None or (view.smoothing, view.amount, view.x_axis) != (
            self.view.smoothing, self.view.amount, self.view.x_axis
        ):
            self.smoother.configure(view.smoothing, view.amount)
            self.smooth_index.reset()
        smoothed, stable = self.smoother.update(x, y)
        # points before `stable` never change again: index them once; the rest is a short tail
        self.smooth_index.extend(smoothed[:stable], len(self.smooth_index))
        tail = np.arange(stable, n, dtype=np.int64)
        if len(tail) > POINTS // 4:
            tail = tail[np.linspace(0, len(tail) - 1, POINTS // 4).astype(np.int64)]
        smooth_idx = np.concatenate([self.smooth_index.indices(), tail]) if len(tail) else self.smooth_index.indices()
        self.raw_index.extend(y, self.drawn)
        self.drawn = n
        self._axes(view, label)
        self.view = view
        self._send(self.raw, "raw", x, y, self.raw_index.indices(), view)
        self._send(self.smooth, "smooth", x, smoothed, smooth_idx, view)
        return True

    def _axes(self, view: View, label: str) -> None:
        if self.view is not None and (view.x_axis, view.log_y) == (self.view.x_axis, self.view.log_y) \
                and self.x_axis.label == label:
            return
        x_scale = self.x_date if view.x_axis == "wall" else self.x_linear
        y_scale = self.y_log if view.log_y else self.y_linear
        scales = {"x": x_scale, "y": y_scale}
        with self.figure.hold_sync():
            self.x_axis.scale = x_scale
            self.x_axis.label = label
            self.y_axis.scale = y_scale
        for line in (self.raw, self.smooth):
            with line.hold_sync():
                line.scales = scales

    def _send(self, line: Any, key: str, x: np.ndarray, y: np.ndarray, idx: np.ndarray, view: View) -> None:
        xs = x[idx]
        ys = np.array(y[idx], dtype=np.float64)
        ys[~np.isfinite(ys)] = np.nan  # gaps: bqplot leaves NaN out of the path
        if view.log_y:
            ys[ys <= 0] = np.nan
        if view.x_axis == "wall":
            xs = (xs * 1000).astype("datetime64[ms]")
        with line.hold_sync():  # one message per mark per redraw
            line.x = xs
            line.y = ys
        self.sent[key] = (xs, ys)

    def points(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What the lines show now (decimated), for the static image."""
        return dict(self.sent)
