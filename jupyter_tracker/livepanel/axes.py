"""bqplot figures whose axes follow :mod:`jupyter_tracker.numerics.ticks`.

bqplot is told everything: the scale's domain (``min``/``max``), the tick
positions (``tick_values``) and their labels (``tick_labels``), so what the
browser draws is exactly what the tick rules computed, and the marks use the
same mapping as the axes (no figure padding, no scale padding: bqplot's
defaults would shift the lines against the ticks).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

from ..numerics.ticks import Axis, label_px

__all__ = ["Frame", "js_number", "FONT_PX"]

#: The tick label font size (set in the panel's style).
FONT_PX = 11


def js_number(value: float) -> str:
    """``String(value)`` in JavaScript: how bqplot looks a tick up in ``tick_labels``."""
    value = float(value)
    if value == 0:
        return "0"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if value < 0 else ""
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent += len(digits) - len(text)
    k = len(text)
    n = exponent + k  # value = 0.text × 10**n
    if k <= n <= 21:
        return sign + text + "0" * (n - k)
    if 0 < n <= 21:
        return sign + text[:n] + "." + text[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + text
    e = n - 1
    mantissa = text[0] + ("." + text[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


class Frame:
    """One bqplot figure with an x and a y axis driven by :class:`~jupyter_tracker.numerics.ticks.Axis`."""

    def __init__(self, marks: list[Any], *, height: int, min_width: int, title: str = "",
                 margin: dict[str, int] | None = None, css_class: str = "tracker-chart") -> None:
        import bqplot as bq
        import ipywidgets as widgets

        self.height = height
        self.min_width = min_width
        self.margin = dict(margin or {"top": 28, "bottom": 38, "left": 44, "right": 18})
        self.x_scale = bq.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self.y_scale = bq.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self.y_log = bq.LogScale(min=0.1, max=1.0, allow_padding=False)
        self.x_axis = bq.Axis(scale=self.x_scale, tick_format="~g", tick_values=np.zeros(0), label_offset="30px",
                              grid_lines="solid")
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", tick_format="~g",
                              tick_values=np.zeros(0), grid_lines="solid")
        self.figure = bq.Figure(
            marks=marks, axes=[self.x_axis, self.y_axis], title=title,
            layout=widgets.Layout(width="100%", height=f"{height}px", min_width=f"{min_width}px"),
            fig_margin=self.margin, padding_x=0.0, padding_y=0.0,
            min_aspect_ratio=0.01, max_aspect_ratio=100, animation_duration=0,
        )
        self.figure.add_class(css_class)
        self.shown: dict[str, Axis] = {}

    @property
    def plot_height(self) -> float:
        return self.height - self.margin["top"] - self.margin["bottom"]

    @property
    def plot_width(self) -> float:
        """The narrowest the plot gets (the figure's minimum width less its margins)."""
        return self.min_width - self.margin["left"] - self.margin["right"]

    @property
    def x_margins(self) -> tuple[float, float]:
        return (float(self.margin["left"]), float(self.margin["right"]))

    @property
    def y_margins(self) -> tuple[float, float]:
        # a y label may reach a few pixels below the plot (the x labels start lower) and above it
        return (4.0, 6.0)

    def y_scale_for(self, log: bool) -> Any:
        return self.y_log if log else self.y_scale

    def set_axes(self, x: Axis, y: Axis, log_y: bool = False, x_label: str | None = None) -> list[Any]:
        """Bring scales and axes to ``x`` and ``y``; returns the widgets whose state changed."""
        changed = []
        y_scale = self.y_scale_for(log_y)
        left = max(44, int(max((label_px(t) for t in y.labels), default=0.0) * FONT_PX / 12 + 14))
        if left != self.margin["left"]:
            self.margin = {**self.margin, "left": left}
            self.figure.fig_margin = self.margin
            changed.append(self.figure)
        for key, axis, scale, widget in (("x", x, self.x_scale, self.x_axis), ("y", y, y_scale, self.y_axis)):
            old = self.shown.get(key)
            if old is not None and (old.lo, old.hi) == (axis.lo, axis.hi) and widget.scale is scale:
                pass
            else:
                with scale.hold_sync():
                    scale.min, scale.max = float(axis.lo), float(axis.hi)
                changed.append(scale)
            if old is None or (old.ticks, old.labels) != (axis.ticks, axis.labels) or widget.scale is not scale:
                with widget.hold_sync():
                    widget.scale = scale
                    widget.tick_values = np.asarray(axis.ticks, dtype=np.float64)
                    widget.tick_labels = {js_number(t): text for t, text in zip(axis.ticks, axis.labels)}
                changed.append(widget)
            self.shown[key] = axis
        if x_label is not None and self.x_axis.label != x_label:
            self.x_axis.label = x_label
        return changed
