"""The live panel: stock ipywidgets + bqplot, inline in the init cell.

Layout (every part carries a ``tracker-*`` CSS class)::

    VBox.tracker-panel
      HTML                    the panel's stylesheet (theme colours; see .theme)
      HTML.tracker-header     run, project, state, step, elapsed, sync
      HTML.tracker-status     what is wrong now; every message one click away
      HBox.tracker-controls   smoothing kind and strength, x axis, log scale
      Text.tracker-filter     shown once there are more than FILTER_FROM charts
      VBox.tracker-charts     one collapsible section per prefix (train/, val/...),
                              charts (.tracker-chart) in as many columns as fit
      VBox.tracker-media-section  images (.tracker-media), histograms (.tracker-histogram)
                              and tables (.tracker-table) logged with log() (see .media)
      VBox.tracker-system     the machine's vitals as charts (.tracker-system-chart)
      HTML.tracker-summary    the run's summary, min and max per metric

The panel reads the run's ``events.log`` on a thread of its own, at its own
pace (:mod:`.redrawer`): the training loop and the writer thread do no work
for it, and ``finish()`` does not wait for it. When the run finishes, the
thread catches up with the log, draws the final state and puts a static image
of the charts in the output that follows the panel (:mod:`.snapshot`); the
cell that finished the run ends once that image is out (or after
:data:`FINAL_WAIT` seconds), so that a notebook saved right after holds it.
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from ..limits import TERMINAL_STATES
from ..numerics.colors import color_of
from .charts import AXES, MIN_WIDTH, Chart, View, view_controls
from .media import MediaViews
from .redrawer import Redrawer
from .series import LogTail, SeriesStore
from .snapshot import render_svg
from .status import StatusLine
from .system import SystemCharts
from .theme import stylesheet

if TYPE_CHECKING:
    from ..kernel.run import Run

__all__ = ["Panel", "FILTER_FROM", "FINAL_WAIT"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: More charted metrics than this bring up the filter box.
FILTER_FROM = 12
#: The longest the cell that finished the run waits for the final image (s).
FINAL_WAIT = 30.0
#: Metric charts in the static image at most (it is saved in the notebook: about 12 kB a chart).
STATIC_CHARTS = 30
#: CPU seconds a cycle spends reading the log, and drawing charts, while the run logs
#: (the charts not drawn in one cycle are drawn in the next ones, the stalest first).
READ_SLICE = 0.025
DRAW_SLICE = 0.040


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return html.escape(str(value))


def _elapsed(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Panel:
    """The live panel of one run."""

    def __init__(self, run: Run) -> None:
        import ipywidgets as widgets

        self.run = run
        self.store = SeriesStore()
        self.tail = LogTail(run.path / "events.log")
        self.charts: dict[str, Chart] = {}
        self.sections: dict[str, tuple[Any, Any]] = {}  # prefix -> (Accordion, GridBox)
        self.status_line = StatusLine()
        self._lock = threading.RLock()  # one redraw at a time (thread, controls, finish)
        self._finishing = False
        self._finished = False
        self._static = False
        self._drawn_at = 0.0
        self._chunk = 512 << 10  # bytes of log per cycle: sized to READ_SLICE as the panel learns the cost
        #: Set once the panel has drawn for the first time (bqplot loaded, the log so far read).
        self.ready = threading.Event()
        self._state = run.state
        self.display_id = f"tracker-panel-{run.id}-{time.monotonic_ns():x}"
        self.image_id = self.display_id + "-image"
        self.panel_class = f"tracker-panel-{run.id}-{time.monotonic_ns() % 10**9:x}"
        self.start_time = float(run.info.get("created_at") or time.time())
        self.utc_offset = float(time.localtime().tm_gmtoff)

        self.style = widgets.HTML(stylesheet(self.panel_class))
        self.header = widgets.HTML()
        self.header.add_class("tracker-header")
        self.status = widgets.HTML()
        self.status.add_class("tracker-status")
        self.kind, self.amount, self.x_axis, self.log_y = view_controls()
        for control in (self.kind, self.amount, self.x_axis, self.log_y):
            control.observe(self._on_control, names="value")
        self.controls = widgets.HBox([self.kind, self.amount, self.x_axis, self.log_y],
                                     layout=widgets.Layout(flex_flow="row wrap"))
        self.controls.add_class("tracker-controls")
        self.filter = widgets.Text(placeholder="filter metrics by name", description="filter",
                                   layout=widgets.Layout(width="320px", display="none"))
        self.filter.add_class("tracker-filter")
        self.filter.observe(self._on_control, names="value")
        self.chart_box = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.chart_box.add_class("tracker-charts")
        self.media = MediaViews(run.path)
        self.system = SystemCharts(run.path, self.start_time)
        self.system_section = widgets.Accordion([self.system.box], titles=("system",), selected_index=0,
                                                layout=widgets.Layout(width="100%"))
        self.system_section.add_class("tracker-section")
        self.summary = widgets.HTML()
        self.summary.add_class("tracker-summary")
        self.root = widgets.VBox(
            [self.style, self.header, self.status, self.controls, self.filter, self.chart_box,
             self.media.box, self.system_section, self.summary],
            layout=widgets.Layout(border="var(--jp-border-width, 1px) solid var(--jp-border-color2, #ddd)",
                                  padding="6px", width="100%"),
        )
        self.root.add_class("tracker-panel")
        self.root.add_class(self.panel_class)
        self._header()
        # charts (bqplot, and the pandas it imports) are built on the panel's thread, so
        # that init returns at once; the thread reads the log from its start (a panel
        # opened late shows the run so far)
        self.redrawer = Redrawer(self._cycle, on_error=self._error, warmup=self._warm_up)
        self.redrawer.wake()

    # -- inputs -------------------------------------------------------------------
    def _warm_up(self) -> None:
        import bqplot  # noqa: F401 - with pandas, about a second: not on the init cell's time

    def pull(self, limit: int = 64 << 20) -> bool:
        """Read what the log gained (about ``limit`` bytes at most); whether more is waiting."""
        before = self.tail.offset
        items = self.tail.read(limit)
        if items:
            self.store.add(items)
            self.media.add(items)
        return self.tail.offset > before and self.tail.behind > 0

    def _cycle(self) -> bool:
        """One turn of the panel's thread; ``True`` while catching up with a log that stopped growing."""
        if self.run.finished and not self._finishing:
            return False  # finish() is writing the last records: keep out of its way until it hands over
        previous, offset = self.tail.size, self.tail.offset
        began = time.thread_time()
        more = self.pull(self._chunk)
        spent = time.thread_time() - began
        read = self.tail.offset - offset
        if read > 65536 and spent > 0:  # size the next read to about READ_SLICE of CPU
            self._chunk = int(min(max(read / spent * READ_SLICE, 256 << 10), 16 << 20))
        idle = self.tail.size == previous and not more  # nothing new: the run pauses (or ended)
        if more and (self._finishing or self.tail.size == previous):
            if time.monotonic() - self._drawn_at >= 1.0:
                self.draw(exact=False)
            return True
        self.draw(exact=idle)
        return False

    def set_status(self, message: str) -> None:
        """The run's warnings (any thread): shown at the next redraw."""
        self.status_line.event(message)
        self.redrawer.wake()

    def _on_control(self, change: Any) -> None:
        if self._finished:
            self.redraw()
        else:
            self.redrawer.wake()

    def _error(self, exc: Exception) -> None:
        self.run.notices.debug(f"panel redraw failed: {exc!r}")

    def view(self) -> View:
        return View(self.kind.value, float(self.amount.value), self.x_axis.value, bool(self.log_y.value))

    # -- drawing ------------------------------------------------------------------
    def redraw(self) -> None:
        """Read everything the log holds now and draw it (any thread)."""
        with self._lock:
            while self.pull():
                pass
            self.draw(final=self._finished)

    def draw(self, final: bool = False, exact: bool = True) -> None:
        """Redraw what changed. Unless ``exact`` (the log is idle) or ``final``, at most
        :data:`DRAW_SLICE` of CPU goes to the charts, the stalest first."""
        with self._lock:
            self._header()
            view = self.view()
            names = self.store.charted()
            for gone in [name for name in self.charts if name not in names]:
                self._remove_chart(gone)
            needle = self.filter.value.strip().lower() if len(names) > FILTER_FROM else ""
            due = []
            for name in names:
                chart = self.charts.get(name) or self._add_chart(name)
                visible = needle in name.lower()
                display = None if visible else "none"
                if chart.figure.layout.display != display:
                    chart.figure.layout.display = display
                section = self.sections[_prefix(name)][0]
                if visible and (section.selected_index is not None or final):
                    due.append(chart)  # hidden or folded: no work until it shows
            began = time.thread_time()
            for chart in sorted(due, key=lambda c: c.sent_at):
                got = self.store.snapshot(chart.name)
                if got is not None and chart.update(got[0], got[1], view, self.store, final=final, exact=exact) \
                        and not (final or exact) and time.thread_time() - began > DRAW_SLICE:
                    break  # the rest next time
            self._axis_menu()
            filter_display = None if len(names) > FILTER_FROM else "none"
            if self.filter.layout.display != filter_display:
                self.filter.layout.display = filter_display
            paused = "service stopped" if self.run.state == "service-stopped" else None
            if paused:
                self.status_line.set("service", "the tracker's service process stopped: system metrics are paused "
                                                "(logging goes on, safe on disk)")
            self.system.refresh(paused=paused)
            self.media.draw()
            self._summary()
            status = self.status_line.html()
            if self.status.value != status:
                self.status.value = status
            self._drawn_at = time.monotonic()
            self.ready.set()

    def _add_chart(self, name: str) -> Chart:
        import ipywidgets as widgets

        chart = Chart(name, color_of(name), self.start_time, self.utc_offset)
        self.charts[name] = chart
        prefix = _prefix(name)
        section = self.sections.get(prefix)
        if section is None:
            grid = widgets.GridBox([], layout=widgets.Layout(
                grid_template_columns=f"repeat(auto-fill, minmax({MIN_WIDTH}px, 1fr))", grid_gap="4px 8px",
                width="100%"))
            accordion = widgets.Accordion([grid], titles=(prefix + "/" if prefix else "metrics",), selected_index=0,
                                          layout=widgets.Layout(width="100%"))
            accordion.add_class("tracker-section")
            accordion.observe(self._on_control, names="selected_index")
            section = self.sections[prefix] = (accordion, grid)
            self.chart_box.children = tuple(s[0] for s in self.sections.values())
        section[1].children = (*section[1].children, chart.figure)
        return chart

    def _remove_chart(self, name: str) -> None:
        """A metric that became a step metric (or hidden) loses its chart."""
        chart = self.charts.pop(name)
        prefix = _prefix(name)
        accordion, grid = self.sections[prefix]
        grid.children = tuple(c for c in grid.children if c is not chart.figure)
        if not grid.children:
            del self.sections[prefix]
            self.chart_box.children = tuple(s[0] for s in self.sections.values())

    def _axis_menu(self) -> None:
        """Step, wall time, relative time, and every metric that never decreases."""
        rising = sorted(self.store.rising())
        current = self.x_axis.value
        options = list(AXES) + [(name, name) for name in rising]
        if current not in [value for _, value in options]:
            options.append((current, current))
        if [value for _, value in options] != [value for _, value in self.x_axis.options]:
            self.x_axis.options = options
            self.x_axis.value = current

    def _header(self) -> None:
        run = self.run
        info = run.info
        state = run.state
        end = info.get("finished_at") if state in TERMINAL_STATES else None
        elapsed = _elapsed((end or time.time()) - self.start_time)
        step = self.store.last_step
        sync = self._sync_status()
        text = (
            f"<b>{html.escape(str(run.name))}</b> · {html.escape(str(run.project))} · <b>{state}</b> · "
            f"step {'–' if step is None else step} · {elapsed} · {sync}"
            f"<span class='tracker-dim'> · {html.escape(run.id)}</span>"
        )
        if self.header.value != text:
            self.header.value = text

    def _sync_status(self) -> str:
        """Where the data goes: local only, or the server and how the upload goes."""
        if self.run.mode != "online":
            return "local only"
        from ..rundir import read_sync

        status = read_sync(self.run.path)
        state, message = status.get("status", "pending"), status.get("message", "")
        acked = (status.get("events") or {}).get("acked", 0)
        if state in ("stopped", "retrying", "not-synced") and message:
            self.status_line.set("sync", f"sync {state}: {message}")
        elif state in ("ok", "done"):
            self.status_line.clear("sync", "sync recovered: uploading again")
        if state in ("ok", "done"):
            return f"synced to server ({acked} records)"
        return f"sync {state}" + (f" ({acked} records)" if acked else "")

    def _summary(self) -> None:
        rows = self.store.summary_rows()
        if not rows:
            return
        cells = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{_fmt(value)}</td>"
            f"<td>{_fmt(lo) if math.isfinite(lo) else '–'}</td><td>{_fmt(hi) if math.isfinite(hi) else '–'}</td></tr>"
            for name, value, lo, hi in rows
        )
        text = ("<table><tr><th>metric</th><th>summary</th><th>min</th><th>max</th></tr>"
                f"{cells}</table>")
        if self.summary.value != text:
            self.summary.value = text

    # -- display ------------------------------------------------------------------
    def _bundle(self, text: str) -> dict[str, Any]:
        return {WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": self.root.model_id},
                "text/plain": text}

    def show(self) -> None:
        """The panel, then the place of its static image (filled when the run finishes)."""
        from IPython.display import display

        display(self._bundle(f"tracker: live panel of run {self.run.name} ({self.run.id})"), raw=True,
                display_id=self.display_id)
        display({"text/plain": ""}, raw=True, display_id=self.image_id)

    def finish(self, state: str, static_image: bool = True) -> None:
        """The run finished: the panel's thread draws the final state (and the static image).

        Returns at once. In a kernel, the running cell ends when the image is out
        (at most :data:`FINAL_WAIT` s later), so that a notebook saved then holds it.
        """
        self._finishing = True
        self._static = static_image
        self._state = state
        if not self.redrawer.thread.is_alive():  # stopped (tests) or gone: draw the end here
            self._final()
            return
        self.redrawer.finish(self._final)
        if static_image:
            _hold_cell_until(self.redrawer.done, FINAL_WAIT)

    def wait(self, timeout: float = FINAL_WAIT) -> bool:
        """Wait for the final drawing after :meth:`finish`; whether it is done."""
        return self.redrawer.done.wait(timeout)

    def _final(self) -> None:
        with self._lock:
            self._finished = True
            while self.pull():
                pass
            self.draw(final=True)
        if not self._static:
            return
        try:
            from IPython.display import update_display

            label = f"tracker: run {self.run.name} ({self.run.id}) · {self._state}"
            update_display(self._bundle(label), raw=True, display_id=self.display_id)
            update_display({"image/svg+xml": self.svg(), "text/plain": label + " (final charts)"}, raw=True,
                           display_id=self.image_id)
        except Exception as exc:  # noqa: BLE001
            self._error(exc)

    def svg(self) -> str:
        """The final charts as one SVG image."""
        with self._lock:
            metrics = [c for c in (chart.static() for chart in self.charts.values()) if c is not None]
            system = [c for c in (chart.static() for chart in self.system.charts.values()) if c is not None]
            images = self.media.static_images()
        title = f"{self.run.name} · {self.run.project} · {self._state} · step {self.store.last_step}"
        heading = "metrics" if len(metrics) <= STATIC_CHARTS else f"metrics (the first {STATIC_CHARTS} of {len(metrics)})"
        return render_svg(title, [(heading, metrics[:STATIC_CHARTS]), ("images", images), ("system", system)])


def _prefix(name: str) -> str:
    return name.split("/", 1)[0] if "/" in name else ""


def _hold_cell_until(event: threading.Event, timeout: float) -> None:
    """Make the running cell end only once ``event`` is set (or ``timeout`` passed)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:  # noqa: BLE001
        return
    if shell is None or getattr(shell, "kernel", None) is None:
        return

    def wait() -> None:
        try:
            shell.events.unregister("post_execute", wait)
        except ValueError:
            pass
        event.wait(timeout)

    shell.events.register("post_execute", wait)
