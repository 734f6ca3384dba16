"""The panel's media views: images with a step slider, histograms over steps, tables.

Fed the ``media`` records the panel's thread reads from the log
(:meth:`MediaViews.add`), drawn at the panel's redraws (:meth:`MediaViews.draw`):

- an image key (``VBox.tracker-media``): the PNG file as it is on disk, in a
  stock ``Image`` widget (a plain ``<img>`` at its natural size, nothing
  re-encoded), its step and caption, and a step slider that follows the
  latest step until moved;
- a histogram key (``Figure.tracker-histogram``): every step's counts as one
  column of a heat map (steps across, values up, darker where more values
  fell), resampled onto one value grid; at most :data:`HEAT_COLUMNS` steps;
- a table key: the latest table, paged and sortable (:mod:`.tables`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from .. import records
from ..numerics import ticks
from .axes import Frame
from .tables import TableView

__all__ = ["MediaViews", "heat_grid", "HEAT_COLUMNS", "HEAT_ROWS"]

#: Steps (columns) and value bins (rows) a histogram heat map draws at most.
HEAT_COLUMNS = 200
HEAT_ROWS = 48
HEAT_HEIGHT = 240


def heat_grid(histograms: list[tuple[int, dict[str, Any]]], columns: int = HEAT_COLUMNS,
              rows: int = HEAT_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, value centres and a (rows x steps) matrix of each step's share of values.

    Each histogram's counts are moved to the common grid by their bin centres;
    with more than ``columns`` steps, evenly spaced ones are kept (the last included).
    """
    if len(histograms) > columns:
        keep = np.unique(np.linspace(0, len(histograms) - 1, columns).round().astype(int))
        histograms = [histograms[i] for i in keep]
    lo = min(float(ref["bins"][0]) for _, ref in histograms)
    hi = max(float(ref["bins"][-1]) for _, ref in histograms)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, rows + 1)
    matrix = np.zeros((rows, len(histograms)))
    for column, (_, ref) in enumerate(histograms):
        bins = np.asarray(ref["bins"], dtype=np.float64)
        counts = np.asarray(ref["values"], dtype=np.float64)
        centres = (bins[:-1] + bins[1:]) / 2
        moved, _ = np.histogram(centres, bins=edges, weights=counts)
        total = moved.sum()
        matrix[:, column] = moved / total if total > 0 else moved
    steps = np.array([step for step, _ in histograms], dtype=np.float64)
    return steps, (edges[:-1] + edges[1:]) / 2, matrix


class _ImageView:
    """One image key: the image at the chosen step, a step slider, the step and caption."""

    def __init__(self, key: str, files: Path) -> None:
        import ipywidgets as widgets

        self.key = key
        self.files = files
        self.steps: list[tuple[int, dict[str, Any]]] = []
        self.shown: tuple[int, int] | None = None
        self.title = widgets.HTML(f"<b>{html.escape(key)}</b>")
        self.caption = widgets.HTML()
        self.caption.add_class("tracker-media-caption")
        self.images = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="step", readout=False,
                                        continuous_update=True, layout=widgets.Layout(width="320px"))
        self.slider.add_class("tracker-media-step")
        self.slider.observe(self._moved, names="value")
        self.box = widgets.VBox([self.title, self.images, self.caption, self.slider])
        self.box.add_class("tracker-media")
        self._follow = True

    def add(self, step: int, reference: dict[str, Any]) -> None:
        self.steps.append((step, reference))

    def _moved(self, change: Any) -> None:
        self._follow = change["new"] == self.slider.max
        self.draw()

    def draw(self) -> None:
        import ipywidgets as widgets

        if not self.steps:
            return
        last = len(self.steps) - 1
        if self.slider.max != last:
            # two messages, the range first: the browser clamps a value sent with its new range
            self.slider.max = last
            if self._follow:
                self.slider.value = last
        index = min(self.slider.value, last)
        if self.shown == (index, id(self.steps[index][1])):
            return
        step, reference = self.steps[index]
        items = reference.get("items") if reference.get("_type") == "images/list" else [reference]
        children = list(self.images.children)
        while len(children) < len(items):
            image = widgets.Image(format="png")
            image.add_class("tracker-media-image")
            children.append(image)
        children = children[:len(items)]
        captions = []
        for widget, item in zip(children, items):
            try:
                widget.value = (self.files / item["path"]).read_bytes()
            except (OSError, KeyError):
                widget.value = b""
            widget.width, widget.height = str(item.get("width", "")), str(item.get("height", ""))
            if item.get("caption"):
                captions.append(html.escape(str(item["caption"])))
        if tuple(children) != self.images.children:
            self.images.children = tuple(children)
        self.caption.value = (f"<span class='tracker-dim'>step {step}</span>"
                              + (" · " + " · ".join(captions) if captions else ""))
        self.slider.layout.display = None if last else "none"
        self.shown = (index, id(reference))


class _HistogramView:
    """One histogram key: its distribution over steps as a heat map."""

    def __init__(self, key: str) -> None:
        import bqplot as bq

        self.key = key
        self.steps: list[tuple[int, dict[str, Any]]] = []
        self.logged = 0  # histograms read (self.steps keeps a thinned part of them)
        self.drawn = 0
        # from clear to blue: where no value fell the background shows, in Light and in Dark
        self.color = bq.ColorScale(colors=["rgba(33, 113, 181, 0)", "rgba(33, 113, 181, 1)"], min=0.0, max=1.0)
        self.heat = None
        self.frame = Frame([], height=HEAT_HEIGHT, min_width=300, title=key, css_class="tracker-histogram",
                           margin={"top": 28, "bottom": 38, "left": 52, "right": 18})
        self.figure = self.frame.figure

    def add(self, step: int, reference: dict[str, Any]) -> None:
        """Keep the step; past ``4 * HEAT_COLUMNS`` kept, every other one goes (the last stays), so a
        histogram logged at every step of a long run costs the panel bounded memory."""
        steps = self.steps
        steps.append((step, reference))
        self.logged += 1
        if len(steps) > 4 * HEAT_COLUMNS:
            last = steps[-1]
            del steps[1::2]
            if steps[-1] is not last:
                steps.append(last)

    def draw(self) -> None:
        import bqplot as bq

        if self.logged == self.drawn:
            return
        steps, centres, matrix = heat_grid(self.steps)
        peak = float(matrix.max()) or 1.0
        # a column is centred on its step: the axis reaches half a column past the first and last
        half = float(np.median(np.diff(steps))) / 2 if len(steps) > 1 else 0.5
        lo, hi = float(steps[0] - half), float(steps[-1] + half)
        found = ticks.axis_for([steps], self.frame.plot_width, integer=True, margins=self.frame.x_margins)
        kept = [(t, label) for t, label in zip(found.ticks, found.labels) if lo <= t <= hi]
        x_axis = ticks.Axis(lo, hi, tuple(t for t, _ in kept), tuple(label for _, label in kept))
        y_axis = ticks.axis_for([centres], self.frame.plot_height, vertical=True, margins=self.frame.y_margins)
        self.frame.set_axes(x_axis, y_axis, x_label="step")
        scales = {"x": self.frame.x_scale, "y": self.frame.y_scale, "color": self.color}
        xs = steps if len(steps) > 1 else np.array([steps[0] - 0.25, steps[0] + 0.25])
        colors = matrix if len(steps) > 1 else np.repeat(matrix, 2, axis=1)
        if self.heat is None:
            self.heat = bq.HeatMap(x=xs, y=centres, color=colors, scales=scales, null_color="transparent")
            self.figure.marks = [self.heat]
        else:
            with self.heat.hold_sync():
                self.heat.x, self.heat.y, self.heat.color = xs, centres, colors
        self.color.max = peak
        self.figure.title = f"{self.key}   {self.logged} steps"
        self.drawn = self.logged


#: Images the static image of a finished run shows at most, and the PNG bytes they may add up to.
STATIC_IMAGES = 6
STATIC_BYTES = 512 << 10


class MediaViews:
    """Every media key of a run, in the order first logged (``VBox.tracker-media-section``)."""

    def __init__(self, run_dir: Path) -> None:
        import ipywidgets as widgets

        self.files = Path(run_dir) / "files"
        self.views: dict[str, Any] = {}
        self.box = widgets.VBox([], layout=widgets.Layout(width="100%", display="none"))
        self.box.add_class("tracker-media-section")
        self._pending: list[tuple[int, dict[str, Any]]] = []

    def add(self, items: list[list]) -> None:
        """Records in log order: the ``media`` ones are kept for the next :meth:`draw`."""
        for item in items:
            if item[1] == records.MEDIA and len(item) > 3 and isinstance(item[3], dict):
                self._pending.append((item[3].get("step"), item[3].get("values") or {}))

    def draw(self) -> None:
        pending, self._pending = self._pending, []
        added = False
        for step, values in pending:
            for key, reference in values.items():
                view = self.views.get(key)
                if view is None:
                    view = self._view(key, reference)
                    if view is None:
                        continue
                    self.views[key] = view
                    added = True
                view.add(step, reference)
        if added:
            self.box.children = tuple(getattr(v, "box", None) or v.figure for v in self.views.values())
            self.box.layout.display = None
        for view in self.views.values():
            view.draw()

    def static_images(self) -> list[Any]:
        """The last image of each image key (the first of a list), for the static image of the
        final charts: at most :data:`STATIC_IMAGES`, :data:`STATIC_BYTES` of PNG in all."""
        from .snapshot import StaticImage

        out, total = [], 0
        for key, view in self.views.items():
            if not isinstance(view, _ImageView) or not view.steps or len(out) >= STATIC_IMAGES:
                continue
            step, reference = view.steps[-1]
            item = (reference.get("items") or [{}])[0] if reference.get("_type") == "images/list" else reference
            try:
                png = (self.files / item["path"]).read_bytes()
            except (OSError, KeyError):
                continue
            if total + len(png) > STATIC_BYTES:
                continue
            total += len(png)
            out.append(StaticImage(f"{key} · step {step}", png, int(item.get("width") or 1),
                                   int(item.get("height") or 1)))
        return out

    def _view(self, key: str, reference: dict[str, Any]) -> Any:
        kind = reference.get("_type")
        if kind in ("image-file", "images/list"):
            return _ImageView(key, self.files)
        if kind == "histogram":
            return _HistogramView(key)
        if kind == "table-file":
            return TableView(key, self.files)
        return None
