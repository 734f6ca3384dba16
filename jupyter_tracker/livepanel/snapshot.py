"""A static SVG of the final charts, for notebooks opened without a kernel.

Saved in the init cell's output next to the widget view, so GitHub, nbviewer
and a reopened notebook still show the run. Plain SVG built here: no
plotting library needed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["render_svg"]

_W, _H, _PAD_L, _PAD_B, _PAD_T, _COLS = 300, 170, 46, 22, 24, 3


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def _polyline(xs: np.ndarray, ys: np.ndarray, box: tuple[float, float, float, float], ox: float, oy: float) -> list[str]:
    """Path data for the finite runs of (xs, ys) mapped into the chart area."""
    x0, x1, y0, y1 = box
    sx = (_W - _PAD_L - 8) / ((x1 - x0) or 1.0)
    sy = (_H - _PAD_T - _PAD_B) / ((y1 - y0) or 1.0)
    finite = np.isfinite(xs) & np.isfinite(ys)
    px = ox + _PAD_L + (xs - x0) * sx
    py = oy + _H - _PAD_B - (ys - y0) * sy
    paths, current = [], []
    for ok, a, b in zip(finite, px, py):
        if ok:
            current.append(f"{a:.1f},{b:.1f}")
        elif current:
            paths.append(current)
            current = []
    if current:
        paths.append(current)
    return ["M" + " L".join(p) for p in paths if p]


def render_svg(
    title: str,
    charts: Sequence[tuple[str, str, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]],
) -> str:
    """``charts``: (metric, color, (x, y) raw, (x, y) smoothed) each, drawn as small multiples."""
    rows = max(1, math.ceil(len(charts) / _COLS))
    width = _W * min(_COLS, max(1, len(charts)))
    height = 26 + rows * _H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="6" y="17" font-size="13" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (name, color, raw, smooth) in enumerate(charts):
        ox, oy = (i % _COLS) * _W, 26 + (i // _COLS) * _H
        xs = np.concatenate([raw[0], smooth[0]]).astype(np.float64) if len(raw[0]) else np.zeros(0)
        ys = np.concatenate([raw[1], smooth[1]]).astype(np.float64) if len(raw[1]) else np.zeros(0)
        good_x, good_y = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
        parts.append(f'<text x="{ox + _PAD_L}" y="{oy + 15}" font-weight="bold">{html.escape(name)}</text>')
        parts.append(
            f'<rect x="{ox + _PAD_L}" y="{oy + _PAD_T}" width="{_W - _PAD_L - 8}" '
            f'height="{_H - _PAD_T - _PAD_B}" fill="none" stroke="#ccc"/>'
        )
        if not len(good_x) or not len(good_y):
            continue
        box = (float(good_x.min()), float(good_x.max()), float(good_y.min()), float(good_y.max()))
        for d in _polyline(np.asarray(raw[0], float), np.asarray(raw[1], float), box, ox, oy):
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-opacity="0.3" stroke-width="1"/>')
        for d in _polyline(np.asarray(smooth[0], float), np.asarray(smooth[1], float), box, ox, oy):
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<text x="{ox + _PAD_L - 4}" y="{oy + _PAD_T + 8}" text-anchor="end">{_fmt(box[3])}</text>')
        parts.append(f'<text x="{ox + _PAD_L - 4}" y="{oy + _H - _PAD_B}" text-anchor="end">{_fmt(box[2])}</text>')
        parts.append(f'<text x="{ox + _PAD_L}" y="{oy + _H - 6}">{_fmt(box[0])}</text>')
        parts.append(f'<text x="{ox + _W - 8}" y="{oy + _H - 6}" text-anchor="end">{_fmt(box[1])}</text>')
    parts.append("</svg>")
    return "".join(parts)
