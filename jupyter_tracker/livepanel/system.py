"""The system strip: sparklines of the service's latest samples.

The service replaces ``system-live.json`` at every sample (every 2 s by
default); the strip reads it when it changed and keeps the last
:data:`HISTORY` samples of each shown metric.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from ..rundir import read_system_live

__all__ = ["SystemStrip", "SHOWN", "HISTORY"]

HISTORY = 150
#: (metric, label, unit) shown when present; GPUs are added as they appear.
SHOWN = (
    ("proc/cpu_percent", "kernel CPU", "%"),
    ("proc/rss_mb", "kernel RSS", "MB"),
    ("host/memory_percent", "host memory", "%"),
    ("host/cpu_percent", "host CPU", "%"),
)
_GPU = (("util_percent", "util", "%"), ("memory_percent", "memory", "%"))


class Spark:
    def __init__(self, label: str, unit: str) -> None:
        import bqplot as bq
        import ipywidgets as widgets

        self.unit = unit
        self.values: deque[float] = deque(maxlen=HISTORY)
        self.line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": bq.LinearScale(), "y": bq.LinearScale()},
                             colors=["#555"], stroke_width=1.5)
        self.figure = bq.Figure(marks=[self.line], axes=[], fig_margin={"top": 4, "bottom": 4, "left": 4, "right": 4},
                                layout=widgets.Layout(width="140px", height="44px"), min_aspect_ratio=0.01,
                                max_aspect_ratio=100, animation_duration=0)
        self.label = widgets.HTML(f"<span style='font-size:11px'>{label}</span>")
        self.box = widgets.VBox([self.label, self.figure], layout=widgets.Layout(margin="0 8px 0 0"))
        self.name = label

    def push(self, value: float) -> None:
        self.values.append(value)
        y = np.fromiter(self.values, dtype=np.float64)
        with self.line.hold_sync():
            self.line.x = np.arange(len(y), dtype=np.float64)
            self.line.y = y
        self.label.value = f"<span style='font-size:11px'>{self.name}: <b>{value:.3g}</b> {self.unit}</span>"


class SystemStrip:
    """The row of sparklines (CSS class ``tracker-system``)."""

    def __init__(self, run_dir: Path) -> None:
        import ipywidgets as widgets

        self.run_dir = Path(run_dir)
        self.sparks: dict[str, Spark] = {}
        self.note = widgets.HTML("<span style='font-size:11px;color:#777'>system metrics: waiting for the first sample</span>")
        self.box = widgets.HBox([self.note], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-end"))
        self.box.add_class("tracker-system")
        self._seq = 0
        self.latest: dict[str, float] = {}

    def refresh(self, paused: str | None = None) -> bool:
        """Read a new sample if there is one; whether anything changed."""
        data: Any = read_system_live(self.run_dir)
        changed = False
        if isinstance(data, dict) and data.get("seq", 0) != self._seq:
            self._seq = data.get("seq", 0)
            sample = data.get("sample") or {}
            self.latest = sample
            for key, label, unit in self._shown(sample):
                spark = self.sparks.get(key)
                if spark is None:
                    spark = self.sparks[key] = Spark(label, unit)
                    self.box.children = (*[s.box for s in self.sparks.values()], self.note)
                spark.push(float(sample[key]))
            changed = True
        note = f"system metrics paused ({paused})" if paused else ""
        text = f"<span style='font-size:11px;color:#a00'>{note}</span>" if note else ""
        if self.sparks and self.note.value != text:
            self.note.value = text
            changed = True
        return changed

    @staticmethod
    def _shown(sample: dict[str, float]) -> list[tuple[str, str, str]]:
        out = [(k, label, unit) for k, label, unit in SHOWN if k in sample]
        gpus = sorted({k.split("/")[1] for k in sample if k.startswith("gpu/")}, key=lambda i: int(i) if i.isdigit() else 0)
        for index in gpus:
            for suffix, label, unit in _GPU:
                key = f"gpu/{index}/{suffix}"
                if key in sample:
                    out.append((key, f"GPU {index} {label}", unit))
        return out
