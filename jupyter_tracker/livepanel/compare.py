"""``tracker.compare()``: many runs in one live view, inline in the notebook.

Layout (every part carries a ``tracker-*`` CSS class)::

    VBox.tracker-compare
      HTML                      the stylesheet (the panel's theme, see .theme)
      HTML.tracker-compare-header   project, runs (how many live), grouping
      HTML.tracker-status       notes (no such project, a key no run has), crashed runs,
                                read reports of damaged or half-written logs
      VBox                      the run table (.tracker-compare-table, see .comparetable)
      HBox.tracker-controls     smoothing, strength, x axis, log y, group by, band
      HTML.tracker-compare-legend   run (or group) colours and names
      GridBox.tracker-charts    one chart per metric (.tracker-compare-chart)
      VBox.tracker-compare-media    the runs' images side by side at a chosen step (.comparemedia)
      VBox.tracker-compare-scatter-box   config key vs summary metric (.tracker-compare-scatter)

The view reads its runs through :class:`.comparedata.CompareSource` (the query
layer and each run's columnar cache) on a thread of its own
(:class:`.redrawer.Redrawer`, within the panel's CPU budget): runs still
recording, in this kernel, another one or a script, are redrawn as their logs
grow; new runs of the project appear; a crashed run says so. The first
drawing happens in the calling cell, so the cell's output already holds the
static image of the charts (:mod:`.snapshot`) for readers without widgets;
the image is brought up to date while runs record (at most every
:data:`IMAGE_PERIOD` s) and when the last live run ends.
"""

from __future__ import annotations

import html
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..api import Api
from ..numerics.bands import BAND_KINDS
from ..numerics.colors import colors_for
from .charts import AXES, MIN_WIDTH, View, view_controls
from .comparecharts import OverlayChart, ScatterChart, Traces
from .comparedata import CompareSource, RunData
from .comparemedia import CompareImages
from .comparetable import ROW_PX, RunTable, differing
from .panel import WIDGET_MIME
from .redrawer import Redrawer
from .snapshot import render_svg
from .status import StatusLine
from .theme import stylesheet

__all__ = ["CompareView", "compare", "IMAGE_PERIOD", "RATE"]

#: Cycles per second (a run's new points show within 1/RATE s while the CPU budget allows it:
#: a cycle that costs more spaces the next ones, see .redrawer).
RATE = 2.0
#: The share of one core the view's cycles may take (the target is 5%: a margin for what the
#: cycles' own clock does not see).
BUDGET = 0.046
#: The longest the static image lags the live view while runs record (s).
IMAGE_PERIOD = 10.0
_BANDS = (("min/max", "minmax"), ("± std", "std"), ("± SEM", "sem"))
_TABLE_CSS = """
.tracker-compare .tracker-compare-table { font-size: 12px; max-height: 360px; overflow-y: auto; }
.tracker-compare .tracker-compare-table .widget-html { margin: 0; white-space: nowrap; }
.tracker-compare .tracker-compare-table .widget-html-content { line-height: normal; height: auto; }
.tracker-compare .tracker-compare-table .tracker-cell { height: {row}px; line-height: {row}px; }
.tracker-compare .tracker-compare-table .widget-checkbox { height: {row}px; margin: 0; align-items: center; }
.tracker-compare .tracker-compare-table .widget-checkbox input { margin: 0; }
.tracker-compare .tracker-compare-sort { font-weight: 600; background: transparent; color: var(--tracker-fg); }
.tracker-compare .tracker-compare-legend span.tracker-swatch { display: inline-block; width: 14px; height: 3px;
  margin: 0 4px 3px 10px; vertical-align: middle; }
"""


def _label(key: str, value: Any) -> str:
    if key in ("group", "job_type"):
        return "(none)" if value is None else str(value)
    return f"{key.removeprefix('config.')}=" + ("(none)" if value is None else str(value))


class CompareView:
    """The widget; :func:`compare` builds and shows one."""

    def __init__(self, source: CompareSource, metrics: Sequence[str] | None = None, group_by: str | None = None,
                 band: str = "minmax", title: str = "") -> None:
        import ipywidgets as widgets

        self.source = source
        self.wanted_metrics = list(metrics) if metrics is not None else None
        self.title = title
        self.traces = Traces()
        self.charts: dict[str, OverlayChart] = {}
        self.status_line = StatusLine()
        self._lock = threading.RLock()
        self._dirty = True
        self._drawing: int | None = None  # the thread drawing now
        self._imaged_at = -math.inf
        self._image_version = -1
        self.utc_offset = float(time.localtime().tm_gmtoff)
        stamp = f"{time.monotonic_ns():x}"
        self.view_class = f"tracker-compare-{stamp}"
        self.display_id = f"tracker-compare-{stamp}"
        self.image_id = self.display_id + "-image"
        self.shown_version = -1
        self.legend_items: list[tuple[str, str]] = []

        self.style = widgets.HTML(stylesheet(self.view_class, root="tracker-compare", extra=_TABLE_CSS.replace("{row}", str(ROW_PX))))
        self.header = widgets.HTML()
        self.header.add_class("tracker-compare-header")
        self.status = widgets.HTML()
        self.status.add_class("tracker-status")
        self.table = RunTable(on_change=self._changed)
        self.kind, self.amount, self.x_axis, self.log_y = view_controls()
        self.group_by = widgets.Dropdown(options=[("none", "")], value="", description="group by",
                                         layout=widgets.Layout(width="240px"))
        self.group_by.add_class("tracker-compare-groupby")
        self.band = widgets.Dropdown(options=_BANDS, value=band, description="band", layout=widgets.Layout(width="200px"))
        self.band.add_class("tracker-compare-band")
        self._set_group_options(group_by or "")
        for control in (self.kind, self.amount, self.x_axis, self.log_y, self.group_by, self.band):
            control.observe(self._changed, names="value")
        self.controls = widgets.HBox([self.kind, self.amount, self.x_axis, self.log_y, self.group_by, self.band],
                                     layout=widgets.Layout(flex_flow="row wrap"))
        self.controls.add_class("tracker-controls")
        self.legend = widgets.HTML()
        self.legend.add_class("tracker-compare-legend")
        self.chart_box = widgets.GridBox([], layout=widgets.Layout(
            grid_template_columns=f"repeat(auto-fill, minmax({MIN_WIDTH}px, 1fr))", grid_gap="4px 8px", width="100%"))
        self.chart_box.add_class("tracker-charts")
        self.scatter = ScatterChart()
        self.scatter_key = widgets.Dropdown(options=[], description="config", layout=widgets.Layout(width="240px"))
        self.scatter_metric = widgets.Dropdown(options=[], description="summary", layout=widgets.Layout(width="260px"))
        for control in (self.scatter_key, self.scatter_metric):
            control.observe(self._changed, names="value")
        self.scatter_box = widgets.VBox([widgets.HBox([self.scatter_key, self.scatter_metric]), self.scatter.figure],
                                        layout=widgets.Layout(width="100%", max_width="640px"))
        self.scatter_box.add_class("tracker-compare-scatter-box")
        self.images = CompareImages()
        self.root = widgets.VBox(
            [self.style, self.header, self.status, self.table.box, self.controls, self.legend, self.chart_box,
             self.images.box, self.scatter_box],
            layout=widgets.Layout(border="var(--jp-border-width, 1px) solid var(--jp-border-color2, #ddd)",
                                  padding="6px", width="100%"))
        self.root.add_class("tracker-compare")
        self.root.add_class(self.view_class)
        self.redrawer: Redrawer | None = None

    # -- controls -----------------------------------------------------------------
    def _set_group_options(self, wanted: str) -> None:
        """The group-by menu: none, group, job_type and the runs' config keys; ``wanted`` (or the
        current choice) stays on it even when no run has it (the status line says so)."""
        keys = sorted({k for d in self.source.runs.values() for k in d.config})
        options = [("none", ""), ("group", "group"), ("job_type", "job_type")] + [(k, f"config.{k}") for k in keys]
        value = wanted or self.group_by.value
        if value and not (value in ("group", "job_type") or value.startswith("config.")):
            value = f"config.{value}"
        if value not in [v for _, v in options]:
            options.append((value.removeprefix("config."), value))
        if [v for _, v in options] != [v for _, v in self.group_by.options]:
            self.group_by.options = options
        if self.group_by.value != value:
            self.group_by.value = value

    def _changed(self, change: Any = None) -> None:
        if self._drawing == threading.get_ident():  # the view setting its own menus
            return
        self._dirty = True
        if self.redrawer is not None and self.redrawer.thread.is_alive():
            self.redrawer.wake()
        else:
            self.draw()

    def view(self) -> View:
        return View(self.kind.value, float(self.amount.value), self.x_axis.value, bool(self.log_y.value))

    # -- the loop -----------------------------------------------------------------
    def start(self) -> None:
        """Follow the runs live on a thread of the view's own."""
        if self.redrawer is None:
            self.redrawer = Redrawer(self._cycle, rate=RATE, on_error=self._error, idle=1.0 / RATE, budget=BUDGET)

    def close(self) -> None:
        """Stop following the runs (the widgets stay as they are)."""
        if self.redrawer is not None:
            self.redrawer.stop()

    def _cycle(self) -> bool:
        changed = self.source.refresh()
        if changed or self._dirty:
            self.draw()
        return False

    def _error(self, exc: Exception) -> None:
        self.status_line.event(f"the compare view could not redraw: {exc!r}")

    # -- drawing ------------------------------------------------------------------
    def groups(self, runs: list[RunData]) -> dict[str, list[RunData]] | None:
        key = self.group_by.value
        if not key:
            return None
        from .. import query as q

        found = q.group_runs(runs, key, lambda d: d.run._field)
        return {_label(key, value): members for value, members in found.items()}

    def metrics(self) -> list[str]:
        known = self.source.metrics()
        return list(self.wanted_metrics) if self.wanted_metrics is not None else known

    def draw(self) -> None:
        """Redraw everything from the source's current data (any thread)."""
        with self._lock:
            self._drawing = threading.get_ident()
            try:
                live = self._draw()
            finally:
                self._drawing = None
        self._maybe_image(live)

    def _draw(self) -> bool:
        self._dirty = False
        source = self.source
        runs = source.shown()
        colors = colors_for([d.id for d in runs])
        metrics = self.metrics()
        self._set_group_options("")
        self._axis_menu()
        self.table.update(runs, colors, metrics)
        checked = set(self.table.checked())
        shown = [d for d in runs if d.id in checked]
        self.traces.forget({d.id for d in runs})
        view = self.view()
        groups = self.groups(shown)
        group_colors = colors_for(list(groups)) if groups is not None else {}
        for gone in [m for m in self.charts if m not in metrics]:
            del self.charts[gone]
        for metric in metrics:
            chart = self.charts.get(metric)
            if chart is None:
                chart = self.charts[metric] = OverlayChart(metric, self.utc_offset)
            lines = [(d, colors[d.id], t) for d in shown if (t := self.traces.get(d, metric, view)) is not None]
            grouped = None
            if groups is not None:
                grouped = []
                for label, members in groups.items():
                    traces = [t for d in members if (t := self.traces.get(d, metric, view)) is not None]
                    if traces:
                        grouped.append((f"{label} ({len(traces)} run{'s' if len(traces) != 1 else ''})",
                                        group_colors[label], traces))
            chart.draw(lines, grouped, view, self.band.value)
        figures = [self.charts[m].figure for m in metrics]
        if list(self.chart_box.children) != figures:
            self.chart_box.children = figures
        self._legend(shown, colors, groups, group_colors)
        self.images.draw([(d.run, d.name, colors[d.id]) for d in shown])
        self._scatter(shown, colors, metrics)
        self._notes(runs, metrics)
        self._header(runs, shown)
        text = self.status_line.html()
        if self.status.value != text:
            self.status.value = text
        self.shown_version = source.version
        return any(d.live for d in runs)

    def _axis_menu(self) -> None:
        current = self.x_axis.value
        options = list(AXES) + [(name, name) for name in self.source.rising()]
        if current not in [v for _, v in options]:
            options.append((current, current))
        if [v for _, v in options] != [v for _, v in self.x_axis.options]:
            self.x_axis.options = options
            self.x_axis.value = current

    def _legend(self, shown: list[RunData], colors: dict[str, str], groups: dict[str, list[RunData]] | None,
                group_colors: dict[str, str]) -> None:
        if groups is not None:
            items = [(group_colors[label], f"{label} ({len(m)} run{'s' if len(m) != 1 else ''})")
                     for label, m in groups.items()]
            band = dict((v, k) for k, v in _BANDS)[self.band.value]
            tail = f"<span class='tracker-dim'> · mean line, {band} band</span>"
        else:
            items = [(colors[d.id], d.name + ("" if d.state == "finished" else f" ({d.state})")) for d in shown]
            tail = "<span class='tracker-dim'> · faint: raw, bold: smoothed</span>" if items else ""
        self.legend_items = items
        if not items:
            text = "<span class='tracker-dim'>no runs to show" + (": " + html.escape("; ".join(self.source.notes))
                                                                 if self.source.notes else "") + "</span>"
        else:
            text = "".join(f"<span class='tracker-swatch' style='background:{c}'></span>"
                           f"<span style='color:{c}'>{html.escape(t)}</span>" for c, t in items) + tail
        if self.legend.value != text:
            self.legend.value = text

    def _scatter(self, shown: list[RunData], colors: dict[str, str], metrics: list[str]) -> None:
        keys = sorted({k for d in shown for k in d.config if isinstance(d.config[k], (int, float, str, bool))})
        summary = sorted({k for d in shown for k, v in d.summary.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("_")})
        varied = differing(shown)
        prefer_key = self.group_by.value.removeprefix("config.") or (varied[0] if varied else "")
        for control, options, prefer in ((self.scatter_key, keys, prefer_key),
                                         (self.scatter_metric, summary, metrics[0] if metrics else "")):
            if list(control.options) != options:
                current = control.value
                control.options = options
                control.value = current if current in options else (prefer if prefer in options else
                                                                     (options[0] if options else None))
        self.scatter_box.layout.display = None if keys and summary else "none"
        if self.scatter_key.value and self.scatter_metric.value:
            self.scatter.draw([(d, colors[d.id]) for d in shown], self.scatter_key.value, self.scatter_metric.value)

    def _notes(self, runs: list[RunData], metrics: list[str]) -> None:
        line = self.status_line
        if self.source.notes:
            line.set("notes", "; ".join(self.source.notes))
        else:
            line.clear("notes")
        missing = [m for m in (self.wanted_metrics or []) if not any(m in d.columns for d in runs)]
        if missing and runs:
            line.set("metrics", "no run logged " + ", ".join(repr(m) for m in missing))
        else:
            line.clear("metrics")
        for data in runs:
            if data.state == "crashed":
                line.set(f"crashed:{data.id}", f"run {data.name} ({data.id}) crashed at step "
                                               f"{'–' if data.steps is None else data.steps - 1}")
            problem = data.read_problem() or "; ".join(data.report.problems[:1])
            if problem:
                line.set(f"read:{data.id}", problem if problem.startswith("run ") else f"run {data.name}: {problem}")
            else:
                line.clear(f"read:{data.id}")

    def _header(self, runs: list[RunData], shown: list[RunData]) -> None:
        live = sum(d.live for d in runs)
        grouped = self.group_by.value
        text = (f"<b>compare</b> · {html.escape(self.title)} · {len(runs)} run{'s' if len(runs) != 1 else ''}"
                + (f" ({len(shown)} shown)" if len(shown) != len(runs) else "")
                + (f" · <b>{live} live</b>" if live else "")
                + (f" · grouped by {html.escape(grouped.removeprefix('config.'))}" if grouped else ""))
        if self.header.value != text:
            self.header.value = text

    # -- display ------------------------------------------------------------------
    def svg(self) -> str:
        """The charts as one SVG image (for the saved notebook)."""
        with self._lock:
            charts = [c for c in (self.charts[m].static() for m in self.charts) if c is not None]
            legend = ", ".join(text for _, text in self.legend_items)
        title = f"compare · {self.title} · {legend}"
        return render_svg(title if len(title) <= 150 else title[:149] + "…", [("metrics", charts)])

    def _bundle(self, text: str) -> dict[str, Any]:
        return {WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": self.root.model_id},
                "text/plain": text}

    def _ipython_display_(self) -> None:
        """Shown once: returned as a cell's value after :meth:`show`, it adds nothing."""
        if self._image_version < 0:
            self.show()

    def show(self) -> None:
        """The view, then its static image, in the current cell's output."""
        from IPython.display import display

        display(self._bundle(f"tracker: compare {self.title}"), raw=True, display_id=self.display_id)
        display(self._image(), raw=True, display_id=self.image_id)
        self._imaged_at, self._image_version = time.monotonic(), self.shown_version

    def _image(self) -> dict[str, Any]:
        return {"image/svg+xml": self.svg(), "text/plain": f"tracker: compare {self.title} (charts)"}

    def _maybe_image(self, live: bool) -> None:
        if self._image_version < 0 or self._image_version == self.shown_version:
            return  # not shown yet, or nothing new
        if live and time.monotonic() - self._imaged_at < IMAGE_PERIOD:
            return
        try:
            from IPython.display import update_display

            update_display(self._image(), raw=True, display_id=self.image_id)
            self._imaged_at, self._image_version = time.monotonic(), self.shown_version
        except Exception as exc:  # noqa: BLE001 - the image is a nicety; the view goes on
            self._error(exc)


def compare(project: str | None = None, *, runs: Sequence[Any] | None = None,
            filters: Mapping[str, Any] | None = None, order: str | None = None, group_by: str | None = None,
            metrics: Sequence[str] | str | None = None, band: str = "minmax", group: str | None = None,
            tags: Any = None, state: Any = None, dir: str | None = None, live: bool = True) -> CompareView:  # noqa: A002
    """Build a compare view of a project's runs (or of ``runs``), drawn once; :meth:`CompareView.show`
    puts it in the cell, :meth:`CompareView.start` makes it follow the runs live.

    Raises
    ------
    ValueError
        An invalid filter operator or operand (named), an unknown band kind.
    TypeError
        ``metrics`` or ``group_by`` not strings, a ``runs`` item that is not a run.
    KeyError
        A run id in ``runs`` that names no run.
    """
    if band not in BAND_KINDS:
        raise ValueError(f"compare(band=...) must be one of {', '.join(BAND_KINDS)}; got {band!r}")
    if isinstance(metrics, str):
        metrics = [metrics]
    if metrics is not None and not all(isinstance(m, str) for m in metrics):
        raise TypeError(f"compare(metrics=...) takes metric names (strings); got {metrics!r}")
    if group_by is not None and not isinstance(group_by, str):
        raise TypeError(f"compare(group_by=...) takes a config key, 'group' or 'job_type'; got {group_by!r}")
    source = CompareSource(Api(dir), project=project, filters=filters, order=order, runs=runs, group=group,
                           tags=tags, state=state)
    source.refresh(force=True)
    title = f"project {project}" if project else ("the runs given" if runs is not None else "all projects")
    view = CompareView(source, metrics=metrics, group_by=group_by, band=band, title=title)
    view.draw()
    if live:
        view.start()
    return view
