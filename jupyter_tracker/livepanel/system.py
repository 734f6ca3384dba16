"""System metrics as charts: the machine's vitals over the run's time.

The service samples every 2 s (by default) and replaces ``system-live.json``
with the latest sample; it also appends the mean of each window (30 s) to
``system.log``. The charts show ``system.log`` for the time before the panel
saw its first live sample (a panel opened late, or reopened), then every live
sample. One small chart per quantity (CSS class ``tracker-system-chart``),
with its unit, the run's time on x and a y axis from 0.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import records
from ..numerics import ticks
from ..numerics.colors import color_of
from ..numerics.decimate import minmax
from ..rundir import SYSTEM, read_system_live
from .axes import Frame
from .series import Column, LogTail
from .snapshot import MARGIN, PLOT, StaticChart

__all__ = ["SystemCharts", "SHOWN", "chart_specs"]

#: (title, unit, [(metric, line label)]) of the charts shown when their metrics are sampled.
SHOWN = (
    ("kernel CPU", "%", [("proc/cpu_percent", "")]),
    ("kernel RSS", "MB", [("proc/rss_mb", "")]),
    ("host CPU", "%", [("host/cpu_percent", "")]),
    ("host memory", "%", [("host/memory_percent", "")]),
    ("disk", "MB/s", [("disk/read_mb_s", "read"), ("disk/write_mb_s", "write")]),
    ("network", "MB/s", [("net/recv_mb_s", "in"), ("net/sent_mb_s", "out")]),
)
_GPU = [("util_percent", "util"), ("memory_percent", "mem")]
HEIGHT = 170
MIN_WIDTH = 230
POINTS = 600


def chart_specs(keys: set[str]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The charts for the sampled ``keys``: the fixed ones, then one per GPU."""
    out = [(title, unit, lines) for title, unit, lines in SHOWN if any(k in keys for k, _ in lines)]
    gpus = sorted({k.split("/")[1] for k in keys if k.startswith("gpu/") and k.count("/") == 2},
                  key=lambda i: (0, int(i)) if i.isdigit() else (1, i))
    for index in gpus:
        lines = [(f"gpu/{index}/{suffix}", label) for suffix, label in _GPU if f"gpu/{index}/{suffix}" in keys]
        if lines:
            out.append((f"GPU {index}", "%", lines))
    return out


def _last_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else math.nan


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "–"


class SystemChart:
    """One quantity (or a pair: read/write, util/memory) against the run's time."""

    def __init__(self, title: str, unit: str, lines: list[tuple[str, str]]) -> None:
        import bqplot as bq

        self.title, self.unit, self.lines = title, unit, lines
        scales = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.marks = [
            bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales, colors=[color_of(title + "/" + label)],
                     stroke_width=1.5, labels=[label], display_legend=bool(label))
            for _, label in lines
        ]
        self.frame = Frame(self.marks, height=HEIGHT, min_width=MIN_WIDTH, title=f"{title} ({unit})",
                           margin={"top": 26, "bottom": 36, "left": 44, "right": 14},
                           css_class="tracker-system-chart")
        for mark in self.marks:
            mark.scales = {"x": self.frame.x_scale, "y": self.frame.y_scale}
        self.figure = self.frame.figure
        if len(lines) > 1:
            self.figure.legend_location = "top-left"
            self.figure.legend_style = {"fill": "var(--tracker-bg, #ffffff)", "fill-opacity": "0.85",
                                        "stroke": "var(--tracker-grid, #e0e0e0)"}
        self.sent: list[tuple[np.ndarray, np.ndarray, str]] = []
        self.x_range = (0.0, 1.0)

    def draw(self, times: np.ndarray, columns: dict[str, Column], start: float) -> None:
        frame = self.frame
        x_all = times - start
        sent = []
        self.sent = []
        for (key, _), mark in zip(self.lines, self.marks):
            y = columns[key].view() if key in columns else np.full(len(times), np.nan)
            known = np.isfinite(y)  # a sample without this figure (the first CPU share) is no point
            x, y = (x_all, y) if known.all() else (x_all[known], y[known])
            x, y = (x, y) if len(y) <= POINTS else minmax(x, y, POINTS)
            x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
            marker = "circle" if len(x) < 20 else None
            with mark.hold_sync():
                mark.x, mark.y = x, y
                if mark.marker != marker:
                    mark.marker, mark.marker_size = marker, 16
            sent.append(y)
            self.sent.append((x, y, mark.colors[0]))
        finite = x_all[np.isfinite(x_all)]
        self.x_range = (0.0, max(float(finite.max()) if finite.size else 0.0, 1.0))  # the run's time, from 0
        x_axis, y_axis = self._axes(frame.plot_width, frame.plot_height, frame.x_margins, frame.y_margins)
        frame.set_axes(x_axis, y_axis, x_label=f"time ({x_axis.unit})")
        lasts = [_last_finite(columns[key].view()) if key in columns else math.nan for key, _ in self.lines]
        if len(self.lines) == 1:  # the last value in the title; with two lines, in the legend
            title = f"{self.title} ({self.unit})   {_fmt(lasts[0])}"
        else:
            title = f"{self.title} ({self.unit})"
            for (_, label), mark, last in zip(self.lines, self.marks, lasts):
                text = f"{label} {_fmt(last)}"
                if mark.labels != [text]:
                    mark.labels = [text]
        if self.figure.title != title:
            self.figure.title = title

    def _axes(self, width: float, height: float, x_margins: tuple[float, float],
              y_margins: tuple[float, float]) -> tuple[ticks.Axis, ticks.Axis]:
        x_axis = ticks.duration_axis(*self.x_range, width, margins=x_margins)
        found = ticks.finite_range(*(y for _, y, _ in self.sent))
        top = found[1] if found is not None and found[1] > 0 else 1.0
        y_axis = ticks.linear_axis(0.0, top, height, vertical=True, pad_px=6.0, margins=y_margins)  # from 0
        return x_axis, y_axis

    def static(self) -> StaticChart | None:
        """This chart as it is now, for the static image."""
        if not self.sent:
            return None
        x_axis, y_axis = self._axes(PLOT[0], PLOT[1], (float(MARGIN[0]), float(MARGIN[1])), (4.0, 6.0))
        lines = [(x, y, color, 1.5, 1.0) for x, y, color in self.sent]
        legend = [(mark.labels[0], color) for mark, (_, _, color) in zip(self.marks, self.sent)] if len(lines) > 1 else []
        return StaticChart(self.figure.title, x_axis, y_axis, f"time ({x_axis.unit})", False, lines, legend)


class SystemCharts(records.Visitor):
    """The system section of the panel (CSS class ``tracker-system``)."""

    def __init__(self, run_dir: Path, start_time: float) -> None:
        import ipywidgets as widgets

        self.run_dir = Path(run_dir)
        self.start_time = start_time
        self.charts: dict[str, SystemChart] = {}
        self.note = widgets.HTML("<span class='tracker-note'>system metrics: waiting for the first sample</span>")
        self.grid = widgets.GridBox([], layout=widgets.Layout(
            grid_template_columns=f"repeat(auto-fill, minmax({MIN_WIDTH}px, 1fr))", grid_gap="2px 8px", width="100%"))
        self.box = widgets.VBox([self.note, self.grid], layout=widgets.Layout(width="100%"))
        self.box.add_class("tracker-system")
        self.tail = LogTail(self.run_dir / SYSTEM)
        self.times = Column(256)
        self.columns: dict[str, Column] = {}
        self._live_seq = 0
        self._first_live: float | None = None
        self.version = 0
        self.latest: dict[str, float] = {}

    def _append(self, ts: float, sample: dict[str, Any]) -> None:
        n = self.times.size
        for key, value in sample.items():
            if key.startswith("_") or not isinstance(value, (int, float)):
                continue
            column = self.columns.get(key)
            if column is None:
                column = self.columns[key] = Column(256)
                column.extend(np.full(n, np.nan))
            column.extend([float(value)])
        self.times.extend([float(ts)])
        for column in self.columns.values():
            if column.size < n + 1:
                column.extend([np.nan])
        self.version += 1

    def read(self) -> bool:
        """Take in what the service wrote since the last call; whether anything is new."""
        before = self.version
        self.visit(self.tail.read())
        data = read_system_live(self.run_dir)
        if isinstance(data, dict) and data.get("seq", 0) != self._live_seq and isinstance(data.get("sample"), dict):
            self._live_seq = data.get("seq", 0)
            ts = float(data.get("ts") or 0.0)
            if self._first_live is None:
                self._first_live = ts
            if not self.times.size or ts > self.times.view()[-1]:
                self.latest = data["sample"]
                self._append(ts, data["sample"])
        return self.version != before

    def on_system(self, seq: int, ts: Any, payload: Any) -> None:
        """A sample of ``system.log`` (window means): the history before the live samples."""
        if isinstance(payload, dict) and (self._first_live is None or ts < self._first_live):
            if not self.times.size or ts > self.times.view()[-1]:
                self._append(ts, payload)

    def refresh(self, paused: str | None = None) -> bool:
        """Read and redraw; whether anything changed."""
        changed = self.read()
        specs = chart_specs(set(self.columns))
        if len(specs) != len(self.charts):
            for title, unit, lines in specs:
                if title not in self.charts:
                    self.charts[title] = SystemChart(title, unit, lines)
            self.grid.children = tuple(self.charts[title].figure for title, _, _ in specs)
        if changed:
            times = self.times.view()
            for chart in self.charts.values():
                chart.draw(times, self.columns, self.start_time)
        text = f"<span class='tracker-note tracker-warn'>system metrics paused ({paused})</span>" if paused else ""
        if self.charts and self.note.value != text:
            self.note.value = text
            changed = True
        return changed
