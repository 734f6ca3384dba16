"""A static SVG of the final charts, for notebooks read without widgets.

The panel puts it in the init cell's output, just after the widget view, when
the run finishes: nbconvert, GitHub and nbviewer show it; where the widgets
render, the panel's stylesheet hides it. Plain SVG (paths, lines, text with
presentation attributes: what GitHub's sanitizer keeps), drawn with the same
tick rules (:mod:`jupyter_tracker.numerics.ticks`) and colours as the live charts,
on a white card so that it reads on light and dark pages alike.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..numerics.decimate import minmax
from ..numerics.ticks import Axis

__all__ = ["StaticChart", "StaticImage", "render_svg", "PLOT", "WIDTH", "HEIGHT", "COLUMNS"]

WIDTH, HEIGHT, COLUMNS = 310, 190, 3
#: Series with fewer points than this are drawn with their points marked.
MARKERS_BELOW = 20
#: Margins of each chart in the image: left, right, top, bottom (px).
MARGIN = (48, 16, 26, 34)
PLOT = (WIDTH - MARGIN[0] - MARGIN[1], HEIGHT - MARGIN[2] - MARGIN[3])
_TEXT, _DIM, _GRID, _AXIS = "#1f1f1f", "#5f5f5f", "#e6e6e6", "#b0b0b0"


@dataclass
class StaticChart:
    """One chart of the image: lines (x, y, colour, width, opacity) on two axes."""

    title: str
    x_axis: Axis
    y_axis: Axis
    x_label: str = ""
    log_y: bool = False
    lines: list[tuple[np.ndarray, np.ndarray, str, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (text, colour) when several lines
    #: Shaded areas under the lines: (x, lower edge, upper edge, colour, fill opacity).
    bands: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, float]] = field(default_factory=list)


@dataclass
class StaticImage:
    """A logged image in the image (its PNG as it is on disk), scaled down to fit a chart's place."""

    title: str
    png: bytes
    width: int
    height: int


def _picture(image: StaticImage, ox: float, oy: float) -> list[str]:
    import base64

    scale = min(1.0, (WIDTH - 16) / max(image.width, 1), (HEIGHT - 34) / max(image.height, 1))
    width, height = image.width * scale, image.height * scale
    data = base64.b64encode(image.png).decode()
    return [f'<text x="{ox + WIDTH / 2:.1f}" y="{oy + 16}" text-anchor="middle" font-size="12" '
            f'font-weight="600" fill="{_TEXT}">{html.escape(image.title)}</text>',
            f'<image x="{ox + (WIDTH - width) / 2:.1f}" y="{oy + 26}" width="{width:.1f}" height="{height:.1f}" '
            f'image-rendering="optimizeSpeed" href="data:image/png;base64,{data}"/>']


def _path(xs: np.ndarray, ys: np.ndarray, px: tuple[float, float, float, float]) -> list[str]:
    """Path data of the finite runs of (xs, ys), mapped through ``px`` = (x0, sx, y0, sy)."""
    x0, sx, y0, sy = px
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    if len(xs) > 2 * PLOT[0]:
        xs, ys = minmax(xs, ys, 2 * PLOT[0])
    ok = np.isfinite(xs) & np.isfinite(ys)
    out, current = [], []
    for good, a, b in zip(ok, x0 + (xs - 0) * sx, y0 - ys * sy):
        if good:
            current.append(f"{a:.1f},{b:.1f}")
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return ["M" + "L".join(points) for points in out]


def _area(xs: np.ndarray, lower: np.ndarray, upper: np.ndarray, px: tuple[float, float, float, float],
          color: str, opacity: float) -> list[str]:
    """Filled polygons between ``lower`` and ``upper`` over each run of finite points."""
    x0, sx, y0, sy = px
    ok = np.isfinite(xs) & np.isfinite(lower) & np.isfinite(upper)
    out = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        seg = slice(start, stop)
        xs_px = x0 + xs[seg] * sx
        top = [f"{a:.1f},{y0 - b * sy:.1f}" for a, b in zip(xs_px, upper[seg])]
        bottom = [f"{a:.1f},{y0 - b * sy:.1f}" for a, b in zip(xs_px[::-1], lower[seg][::-1])]
        out.append(f'<path d="M{"L".join(top + bottom)}Z" fill="{color}" fill-opacity="{opacity:g}" stroke="none"/>')
    return out


def _chart(chart: StaticChart, ox: float, oy: float) -> list[str]:
    left, top = ox + MARGIN[0], oy + MARGIN[2]
    width, height = PLOT
    xa, ya = chart.x_axis, chart.y_axis
    sx = width / (xa.hi - xa.lo) if xa.hi > xa.lo else 1.0
    if chart.log_y:
        lo, hi = math.log10(ya.lo), math.log10(ya.hi)
    else:
        lo, hi = ya.lo, ya.hi
    sy = height / (hi - lo) if hi > lo else 1.0

    def fy(v: float) -> float:
        return top + height - ((math.log10(v) if chart.log_y else v) - lo) * sy

    parts = [f'<text x="{ox + WIDTH / 2:.1f}" y="{oy + 16}" text-anchor="middle" font-size="12" '
             f'font-weight="600" fill="{_TEXT}">{html.escape(chart.title)}</text>']
    for tick, label in zip(ya.ticks, ya.labels):
        y = fy(tick)
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}"/>')
        parts.append(f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" fill="{_TEXT}">{html.escape(label)}</text>')
    for tick, label in zip(xa.ticks, xa.labels):
        x = left + (tick - xa.lo) * sx
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + height}" stroke="{_GRID}"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + height + 14}" text-anchor="middle" fill="{_TEXT}">'
                     f'{html.escape(label)}</text>')
    parts.append(f'<path d="M{left},{top}V{top + height}H{left + width}" fill="none" stroke="{_AXIS}"/>')
    if chart.x_label:
        parts.append(f'<text x="{left + width / 2:.1f}" y="{top + height + 28}" text-anchor="middle" '
                     f'fill="{_DIM}">{html.escape(chart.x_label)}</text>')
    def scaled(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if chart.log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)
        return values - lo

    for xs, lower, upper, color, opacity in chart.bands:
        parts += _area(np.asarray(xs, dtype=np.float64) - xa.lo, scaled(lower), scaled(upper),
                       (left, sx, top + height, sy), color, opacity)
    for xs, ys, color, stroke, opacity in chart.lines:
        xs = np.asarray(xs, dtype=np.float64) - xa.lo
        ys = scaled(ys)
        for d in _path(xs, ys, (left, sx, top + height, sy)):
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{stroke:g}"'
                         + (f' stroke-opacity="{opacity:g}"' if opacity < 1 else "")
                         + ' stroke-linejoin="round"/>')
        ok = np.isfinite(xs) & np.isfinite(ys)
        if opacity >= 1 and 0 < ok.sum() < MARKERS_BELOW:  # a short series: its points show
            for a, b in zip(left + xs[ok] * sx, top + height - ys[ok] * sy):
                parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{color}"/>')
    for i, (text, color) in enumerate(chart.legend):
        parts.append(f'<text x="{left + 6}" y="{top + 12 + 13 * i}" fill="{color}">{html.escape(text)}</text>')
    return parts


def render_svg(title: str, sections: Sequence[tuple[str, Sequence[StaticChart | StaticImage]]]) -> str:
    """Small multiples, :data:`COLUMNS` per row, under one title; ``sections``: (heading, charts)."""
    rows = [(heading, charts) for heading, charts in sections if charts]
    width = WIDTH * COLUMNS
    y = 30
    body: list[str] = []
    for heading, charts in rows:
        body.append(f'<text x="8" y="{y + 14}" font-size="12" font-weight="600" fill="{_DIM}">'
                    f'{html.escape(heading)}</text>')
        y += 20
        for i, chart in enumerate(charts):
            draw = _picture if isinstance(chart, StaticImage) else _chart
            body += draw(chart, (i % COLUMNS) * WIDTH, y + (i // COLUMNS) * HEIGHT)
        y += math.ceil(len(charts) / COLUMNS) * HEIGHT
    height = y + 6
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="19" font-size="13" font-weight="bold" fill="{_TEXT}">{html.escape(title)}</text>',
        *body,
        "</svg>",
    ])
