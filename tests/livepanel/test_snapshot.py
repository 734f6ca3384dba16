"""The static image: plain SVG with the live charts' rules (ticks, colours), readable without widgets."""

from __future__ import annotations

import re

import numpy as np

from jupyter_tracker.livepanel.snapshot import PLOT, StaticChart, render_svg
from jupyter_tracker.numerics.ticks import axis_for, linear_axis


def test_svg_draws_each_chart_with_its_ticks_and_lines():
    x = np.arange(1000.0)
    y = np.exp(-x / 300)
    y[500] = np.nan  # a gap
    chart = StaticChart("train/loss   last 0.0036", linear_axis(0, 999, PLOT[0], integer=True, margins=(48, 16)),
                        axis_for([y], PLOT[1], vertical=True, pad_px=8), "step", False,
                        [(x, y, "#1895e0", 1.0, 0.35)])
    svg = render_svg("run · project · finished", [("metrics", [chart]), ("system", [])])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "train/loss" in svg and ">step<" in svg and "system" not in svg  # empty sections are left out
    assert svg.count('stroke="#1895e0"') == 2  # the gap splits the line in two paths
    for label in chart.x_axis.labels + chart.y_axis.labels:
        assert f">{label}<" in svg
    assert "<script" not in svg and "style=" not in svg  # what a sanitizer keeps
    coords = [float(v) for v in re.findall(r"[ML]([\d.]+),", svg)]
    assert coords and max(coords) <= 48 + PLOT[0] + 0.1 and min(coords) >= 48 - 0.1  # inside the plot
