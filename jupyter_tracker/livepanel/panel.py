"""The live panel: stock ipywidgets + bqplot, inline in the init cell.

Layout (every part carries a ``tracker-*`` CSS class)::

    VBox.tracker-panel
      HTML.tracker-header     run, project, state, step, elapsed, sync
      HTML.tracker-status     the tracker's own warnings
      HBox.tracker-controls   smoothing kind and strength, x axis, log scale
      VBox.tracker-charts     one group per prefix (train/, val/...), one chart per metric
      HBox.tracker-system     sparklines of the service's latest samples
      HTML.tracker-summary    last / min / max per metric, and manual summary values

A background thread redraws at most :data:`MAX_RATE` times a second, newest
state wins; the training thread never does any of it.
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from .charts import PALETTE, Chart, View
from .series import SeriesStore
from .snapshot import render_svg
from .system import SystemStrip

if TYPE_CHECKING:
    from ..kernel.run import Run

__all__ = ["Panel", "Redrawer", "MAX_RATE"]

#: Redraws per second, at most.
MAX_RATE = 5.0
#: The share of one core the panel may use: with many charts it redraws less often.
CPU_BUDGET = 0.05
_SMOOTHERS = (("EMA (TensorBoard)", "ema"), ("time-weighted EMA", "time-ema"), ("running average", "average"),
              ("Gaussian", "gaussian"), ("none", "none"))
_AXES = (("step", "step"), ("wall time", "wall"), ("relative time", "relative"))


class Redrawer:
    """A thread that calls ``redraw`` when woken, at most ``rate`` times a second.

    Wake-ups that come while a redraw runs collapse into one (the newest state
    wins); with nothing new it still redraws once a second (elapsed time).
    """

    def __init__(self, redraw: Any, rate: float = MAX_RATE, on_error: Any = None, warmup: Any = None) -> None:
        self._redraw = redraw
        self._warmup = warmup
        self._cost = 0.0
        self._period = 1.0 / rate
        self._on_error = on_error
        self._wake = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="tracker-panel", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        if self._warmup is not None:  # one-off work (reading a long log) outside the budget
            try:
                self._warmup()
            except Exception as exc:  # noqa: BLE001
                if self._on_error is not None:
                    self._on_error(exc)
        while not self._stop:
            started = time.monotonic()
            self._wake.wait(1.0)
            self._wake.clear()
            if self._stop:
                return
            began = time.thread_time()
            try:
                self._redraw()
            except Exception as exc:  # noqa: BLE001 - the panel must never break the run
                if self._on_error is not None:
                    self._on_error(exc)
            # at most MAX_RATE redraws a second, and no more than CPU_BUDGET of a core on
            # average (a smoothed cost, so that a one-off chart creation is not a long pause)
            self._cost = 0.7 * self._cost + 0.3 * (time.thread_time() - began)
            rest = min(max(self._period, self._cost / CPU_BUDGET), 2.0) - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop = True
        self._wake.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
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
        self.charts: dict[str, Chart] = {}
        self.groups: dict[str, Any] = {}
        self._lock = threading.RLock()  # one redraw at a time (thread, controls, finish)
        self._status = ""
        self._finished = False
        self.display_id = f"tracker-panel-{run.id}-{time.monotonic_ns():x}"
        self.start_time = float(run._info.get("created_at") or time.time())

        self.header = widgets.HTML()
        self.header.add_class("tracker-header")
        self.status = widgets.HTML()
        self.status.add_class("tracker-status")
        self.kind = widgets.Dropdown(options=_SMOOTHERS, value="ema", description="smoothing",
                                     layout=widgets.Layout(width="260px"))
        self.amount = widgets.FloatSlider(value=0.6, min=0.0, max=0.99, step=0.01, description="strength",
                                          readout_format=".2f", layout=widgets.Layout(width="260px"))
        self.x_axis = widgets.Dropdown(options=_AXES, value="step", description="x axis",
                                       layout=widgets.Layout(width="200px"))
        self.log_y = widgets.ToggleButton(value=False, description="log y", layout=widgets.Layout(width="70px"))
        for control in (self.kind, self.amount, self.x_axis, self.log_y):
            control.observe(self._on_control, names="value")
        self.controls = widgets.HBox([self.kind, self.amount, self.x_axis, self.log_y])
        self.controls.add_class("tracker-controls")
        self.chart_box = widgets.VBox([])
        self.chart_box.add_class("tracker-charts")
        self.system = SystemStrip(run.path)
        self.summary = widgets.HTML()
        self.summary.add_class("tracker-summary")
        self.root = widgets.VBox(
            [self.header, self.status, self.controls, self.chart_box, self.system.box, self.summary],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px"),
        )
        self.root.add_class("tracker-panel")

        # Data from the writer thread from now on; what the log holds already is read
        # on the panel's thread (a long run's log takes seconds), and the records
        # that arrive meanwhile wait in `_early` so that none is missed or doubled.
        writer = run._writer
        self._early: list[list] | None = []
        self._early_lock = threading.Lock()
        with writer._lock:
            self._backfill_upto = writer.seq  # every record up to here is in the file
            writer.listeners.append(self._on_items)
        self._header()
        # charts and sparklines (bqplot, and the pandas it imports) are built on the
        # panel's thread, so that init returns at once
        self.redrawer = Redrawer(self.redraw, on_error=self._error, warmup=self._warm_up)
        self.redrawer.wake()

    # -- inputs -------------------------------------------------------------------
    def _on_items(self, items: list[list]) -> None:
        with self._early_lock:
            if self._early is not None:
                self._early.extend(items)
                return
        self.store.on_items(items)
        self.redrawer.wake()

    def _warm_up(self) -> None:
        """On the panel's thread, before the first redraw: load bqplot, read the log so far."""
        import bqplot  # noqa: F401 - with pandas, about a second: not on the init cell's time

        self._catch_up()

    def _catch_up(self) -> None:
        """Read the events log up to where the writer was when the panel opened."""
        if self._early is None:
            return
        if self._backfill_upto:
            self.store.backfill(self.run.path / "events.log", upto=self._backfill_upto)
        with self._early_lock:
            early, self._early = self._early, None
        self.store.on_items([item for item in early if item[0] > self._backfill_upto])

    def set_status(self, message: str) -> None:
        """The run's warnings (any thread): shown at the next redraw."""
        self._status = message
        self.redrawer.wake()

    def _on_control(self, change: Any) -> None:
        if self._finished:
            self.redraw()
        else:
            self.redrawer.wake()

    def _error(self, exc: Exception) -> None:
        self.run._notices.debug(f"panel redraw failed: {exc!r}")

    def view(self) -> View:
        return View(self.kind.value, float(self.amount.value), self.x_axis.value, bool(self.log_y.value))

    # -- drawing ------------------------------------------------------------------
    def redraw(self) -> None:
        self._catch_up()
        with self._lock:
            self._header()
            view = self.view()
            for name in self.store.names():
                got = self.store.snapshot(name)
                if got is None:
                    continue
                series, n = got
                chart = self.charts.get(name) or self._add_chart(name)
                chart.update(series, n, view)
            state = self.run.state
            self.system.refresh(paused="service stopped" if state == "service-stopped" else None)
            self._summary()

    def _add_chart(self, name: str) -> Chart:
        import ipywidgets as widgets

        chart = Chart(name, PALETTE[len(self.charts) % len(PALETTE)], self.start_time)
        self.charts[name] = chart
        prefix = name.split("/", 1)[0] if "/" in name else ""
        group = self.groups.get(prefix)
        if group is None:
            grid = widgets.GridBox([], layout=widgets.Layout(grid_template_columns="repeat(3, minmax(240px, 1fr))",
                                                             grid_gap="4px"))
            title = widgets.HTML(f"<b>{html.escape(prefix + '/') if prefix else 'metrics'}</b>")
            group = self.groups[prefix] = (widgets.VBox([title, grid]), grid)
            self.chart_box.children = tuple(g[0] for g in self.groups.values())
        group[1].children = (*group[1].children, chart.figure)
        return chart

    def _header(self) -> None:
        run = self.run
        info = run._info
        state = run.state
        end = info.get("finished_at") if state in ("finished", "failed", "crashed") else None
        elapsed = _elapsed((end or time.time()) - self.start_time)
        step = self.store.last_step
        sync = self._sync_status()
        text = (
            f"<b>{html.escape(str(run.name))}</b> · {html.escape(str(run.project))} · <b>{state}</b> · "
            f"step {'–' if step is None else step} · {elapsed} · {sync}"
            f"<span style='color:#888'> · {html.escape(run.id)}</span>"
        )
        if self.header.value != text:
            self.header.value = text
        status = f"<span style='color:#a60'>{html.escape(self._status)}</span>" if self._status else ""
        if self.status.value != status:
            self.status.value = status

    def _sync_status(self) -> str:
        """Where the data goes: local only, or the server and how the upload goes."""
        if self.run.mode != "online":
            return "local only"
        from ..rundir import read_sync

        status = read_sync(self.run.path)
        state, message = status.get("status", "pending"), status.get("message", "")
        acked = (status.get("events") or {}).get("acked", 0)
        if state in ("stopped", "retrying", "not-synced") and message:
            self._status = f"sync {state}: {message}"
        if state in ("ok", "done"):
            return f"synced to server ({acked} records)"
        return f"sync {state}" + (f" ({acked} records)" if acked else "")

    def _summary(self) -> None:
        rows = self.store.summary_rows()
        manual = dict(self.run._summary_state.overrides)
        if not rows and not manual:
            return
        cells = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{_fmt(last)}</td><td>{_fmt(lo) if math.isfinite(lo) else '–'}</td>"
            f"<td>{_fmt(hi) if math.isfinite(hi) else '–'}</td></tr>"
            for name, last, lo, hi in rows
        )
        extra = "".join(f"<tr><td>{html.escape(k)}</td><td colspan=3>{_fmt(v)}</td></tr>" for k, v in manual.items())
        text = (
            "<table style='font-size:12px'><tr><th align=left>metric</th><th>last</th><th>min</th><th>max</th></tr>"
            f"{cells}{extra}</table>"
        )
        if self.summary.value != text:
            self.summary.value = text

    # -- display ------------------------------------------------------------------
    def show(self) -> None:
        from IPython.display import display

        display(self.root, display_id=self.display_id)

    def finish(self, state: str, static_image: bool = True) -> None:
        """Final redraw, stop the thread, and (in a kernel) put a static image beside the widget view."""
        self.redrawer.stop()
        with self._lock:
            self._finished = True
            self.redraw()
        if not static_image:
            return
        try:
            from IPython.display import update_display

            bundle = {
                "application/vnd.jupyter.widget-view+json": {
                    "version_major": 2, "version_minor": 0, "model_id": self.root.model_id,
                },
                "image/svg+xml": self.svg(),
                "text/plain": f"tracker: run {self.run.name} ({self.run.id}) · {state}",
            }
            update_display(bundle, raw=True, display_id=self.display_id)
        except Exception as exc:  # noqa: BLE001
            self._error(exc)

    def svg(self) -> str:
        charts = []
        for name, chart in self.charts.items():
            points = chart.points()
            if "raw" in points:
                color = chart.raw.colors[0] if chart.raw.colors else "#1f77b4"
                charts.append((name, color, points["raw"], points.get("smooth", points["raw"])))
        title = f"{self.run.name} · {self.run.project} · {self.run.state}"
        return render_svg(title, [(n, c, _plain(r), _plain(s)) for n, c, r, s in charts])


def _plain(xy: tuple[Any, Any]) -> tuple[Any, Any]:
    """Dates (wall-time axis) as seconds, for the static image."""
    import numpy as np

    x, y = xy
    if getattr(x, "dtype", None) is not None and np.issubdtype(x.dtype, np.datetime64):
        x = x.astype("datetime64[ms]").astype(np.float64) / 1000.0
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
