"""The panel's widgets and messages, with a recording comm (no frontend, no kernel).

These check what the kernel side sends; the browser tests (tests/e2e/test_lab.py)
check that JupyterLab renders it.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

import jupyter_tracker as tracker
from jupyter_tracker.livepanel import Panel
from jupyter_tracker.livepanel.charts import POINTS
from jupyter_tracker.numerics.colors import color_of


@pytest.fixture
def panel(tracker_env, recording_comm):
    run = tracker.init(project="panel", name="p1")
    p = Panel(run)
    run.companions.panel = p
    p.redrawer.stop()  # the tests drive redraws themselves
    yield p
    if run.state == "running":
        run.finish()


def sync(panel: Panel) -> None:
    panel.run._writer.drain()
    panel.redraw()


def comm_of(widget):
    return widget.comm


def test_css_classes_on_every_part(panel):
    classes = {c for w in (panel.root, panel.header, panel.status, panel.controls, panel.chart_box,
                           panel.system.box, panel.summary, panel.filter) for c in w._dom_classes}
    assert {"tracker-panel", panel.panel_class, "tracker-header", "tracker-status", "tracker-controls",
            "tracker-charts", "tracker-system", "tracker-summary", "tracker-filter"} <= classes


def test_one_chart_per_metric_in_sections_by_prefix(panel):
    for i in range(10):
        panel.run.log({"train/loss": 1.0 / (i + 1), "train/acc": i / 10, "val/loss": 0.5, "lr": 0.1})
    sync(panel)
    assert set(panel.charts) == {"train/loss", "train/acc", "val/loss", "lr"}
    assert list(panel.sections) == ["train", "val", ""]
    assert [s[0].titles for s in panel.sections.values()] == [("train/",), ("val/",), ("metrics",)]
    for chart in panel.charts.values():
        assert "tracker-chart" in chart.figure._dom_classes
        assert chart.figure.title.startswith(chart.name)
        assert chart.color == color_of(chart.name)  # the same colour in every run


def test_the_panel_reads_the_log_itself_and_the_writer_feeds_it_nothing(panel):
    assert panel.run.writer.subscribers == ()
    for i in range(100):
        panel.run.log({"a": float(i)})
    panel.run._writer.drain()
    assert not panel.store.rows  # nothing pushed to the panel: it reads at its own pace
    panel.redraw()
    assert panel.store.rows == 100 and panel.tail.offset > 0


def test_one_message_per_mark_per_redraw_and_nothing_when_nothing_changed(panel):
    for i in range(100):
        panel.run.log({"a": float(i), "b": float(-i)})
    sync(panel)
    marks = [m for chart in panel.charts.values() for m in (chart.raw, chart.smooth)]
    before = [len(comm_of(m).updates()) for m in marks]
    for i in range(100, 200):
        panel.run.log({"a": float(i), "b": float(-i)})
    sync(panel)
    after = [len(comm_of(m).updates()) for m in marks]
    assert [b - a for a, b in zip(before, after)] == [1] * len(marks)
    update = comm_of(panel.charts["a"].raw).updates()[-1]
    assert set(update["state"]) == {"x", "y"}  # x and y travel together, as binary buffers
    # nothing new: nothing sent by any widget of the charts
    widgets = [w for c in panel.charts.values() for w in (c.raw, c.smooth, c.hover, c.figure, c.frame.x_axis,
                                                          c.frame.y_axis, c.frame.x_scale, c.frame.y_scale)]
    counts = [len(comm_of(w).updates()) for w in widgets]
    sync(panel)
    assert [len(comm_of(w).updates()) for w in widgets] == counts


def test_while_the_run_logs_invisible_changes_wait_and_an_idle_log_is_drawn_exactly(panel):
    for i in range(20_000):
        panel.run.log({"a": float(i % 100)})
    sync(panel)
    chart = panel.charts["a"]
    sends = len(comm_of(chart.raw).updates())
    for i in range(20_000, 20_010):  # 10 new points in 20,000: under half a pixel
        panel.run.log({"a": float(i % 100)})
    panel.run._writer.drain()
    panel.pull()
    panel.draw(exact=False)  # a redraw while the run logs
    assert len(comm_of(chart.raw).updates()) == sends and chart.drawn == 20_000
    assert "last 9" in chart.figure.title  # the last value is always shown
    panel.run.log({"a": 1000.0})  # a new extreme widens the range: drawn at once
    panel.run._writer.drain()
    panel.pull()
    panel.draw(exact=False)
    assert chart.drawn == 20_011 and chart.frame.y_scale.max > 1000
    panel.run.log({"a": 5.0})
    sync(panel)  # the log is idle: everything is drawn
    assert chart.drawn == 20_012


def test_a_redraw_while_logging_spends_a_slice_and_the_stalest_charts_go_first(panel, monkeypatch):
    import jupyter_tracker.livepanel.panel as panel_module

    for i in range(50):
        panel.run.log({f"m{k:03d}": float(i + k) for k in range(100)})
    sync(panel)
    assert all(c.drawn == 50 for c in panel.charts.values())
    monkeypatch.setattr(panel_module, "DRAW_SLICE", 0.0)  # one chart per redraw
    for i in range(50, 100):
        panel.run.log({f"m{k:03d}": float(i + k) for k in range(100)})
    panel.run._writer.drain()
    panel.pull()
    updated = []
    for _ in range(3):
        panel.draw(exact=False)
        updated.append(sorted(name for name, c in panel.charts.items() if c.drawn == 100))
    assert [len(u) for u in updated] == [1, 2, 3] and updated[0][0] in updated[2]


def test_lines_are_decimated_and_end_at_the_last_step(panel):
    values = np.sin(np.arange(50_000) / 500.0)
    values[12_345] = 40.0  # a spike must survive decimation
    for v in values:
        panel.run.log({"wave": float(v)})
    sync(panel)
    chart = panel.charts["wave"]
    assert len(chart.raw.x) <= POINTS + 4 and len(chart.smooth.x) <= POINTS + 4 + POINTS // 4
    assert chart.raw.x[-1] == 49_999 and chart.smooth.x[-1] == 49_999
    assert chart.raw.x[0] == 0
    assert np.nanmax(chart.raw.y) == 40.0
    assert np.nanmin(chart.raw.y) == pytest.approx(values.min())


def test_axes_cover_every_line_with_round_ticks(panel):
    rng = np.random.default_rng(3)
    for i in range(3000):
        panel.run.log({"train/loss": 2.0 * math.exp(-i / 800) + abs(rng.normal(0, 0.05))})
    sync(panel)
    chart = panel.charts["train/loss"]
    x_axis, y_axis = chart.frame.x_axis, chart.frame.y_axis
    xs, ys = chart.frame.x_scale, chart.frame.y_scale
    assert (xs.min, xs.max) == (0.0, 2999.0)  # the x domain is the data: no negative step
    for line in (chart.raw, chart.smooth):
        y = np.asarray(line.y)
        assert ys.min <= np.nanmin(y) and np.nanmax(y) <= ys.max
    assert all(t >= 0 for t in x_axis.tick_values) and all(t >= 0 for t in y_axis.tick_values)
    labels = [x_axis.tick_labels[k] for k in x_axis.tick_labels]
    assert labels == ["0", "1000", "2000"]
    assert len(set(y_axis.tick_labels.values())) == len(y_axis.tick_values) >= 3
    assert x_axis.tick_format and y_axis.tick_format  # never left for bqplot to guess (.undefinedg)
    assert chart.figure.padding_y == 0 and not xs.allow_padding  # marks and axes map the same way


def test_smoothing_is_tensorboard_ema_on_full_resolution(panel):
    rng = np.random.default_rng(1)
    values = rng.normal(size=3000)
    for v in values:
        panel.run.log({"noise": float(v)})
    sync(panel)
    from jupyter_tracker.numerics.smoothing import ema

    expected = ema(values, 0.6)
    chart = panel.charts["noise"]
    x, y = chart.sent["smooth"]  # computed in float64 on every point...
    np.testing.assert_allclose(y, expected[x.astype(int)], rtol=1e-9)
    assert chart.smooth.y.dtype == np.float32  # ...and sent in float32: half the bytes, 7 digits
    np.testing.assert_allclose(chart.smooth.y, expected[np.asarray(chart.smooth.x, dtype=int)], rtol=1e-6)
    assert chart.smooth.x.dtype == np.float32  # steps below 2**24 are exact in float32


def test_a_short_series_is_drawn_raw_with_markers_and_shows_its_last_value(panel):
    for epoch, acc in enumerate([0.75, 0.8, 0.86, 0.9, 0.958], 1):
        panel.run.log({"val/acc": acc})
    sync(panel)
    chart = panel.charts["val/acc"]
    assert list(chart.raw.y) == [0.75, 0.8, 0.86, 0.9, 0.958]
    assert chart.raw.marker == "circle" and chart.raw.opacities == [1.0]
    assert len(chart.smooth.x) == 0  # no smoothed line that ends at 0.90 while the last value is 0.958
    assert "last 0.958" in chart.figure.title
    panel.kind.value = "ema"  # asked for: smoothed even when short
    panel.redraw()
    assert len(chart.smooth.x) == 5 and chart.raw.opacities == [0.3] and chart.raw.marker is None


def test_controls_change_smoothing_axis_and_scale(panel):
    for i in range(500):
        panel.run.log({"m": float(i % 50) + 1.0})
    sync(panel)
    chart = panel.charts["m"]
    raw_y = np.array(chart.raw.y)
    panel.kind.value = "average"
    panel.amount.value = 0.1
    panel.redraw()
    assert not np.allclose(chart.smooth.y, raw_y[: len(chart.smooth.y)])
    panel.kind.value = "none"
    panel.redraw()
    assert len(chart.smooth.x) == 0 and chart.raw.opacities == [1.0]
    panel.log_y.value = True
    panel.redraw()
    assert type(chart.frame.y_axis.scale).__name__ == "LogScale" and chart.raw.scales["y"] is chart.frame.y_log
    panel.x_axis.value = "relative"
    panel.redraw()
    assert chart.frame.x_axis.label.startswith("time (") and chart.raw.x[-1] < 60
    panel.x_axis.value = "wall"
    panel.redraw()
    assert chart.frame.x_axis.label == "wall time" and chart.raw.x[-1] == pytest.approx(time.time(), abs=60)
    assert all(":" in label for label in chart.frame.x_axis.tick_labels.values())


def test_log_scale_says_how_many_values_it_cannot_draw(panel):
    for v in [-1.0, 0.0, 0.5, 5.0, 50.0]:
        panel.run.log({"g": v})
    panel.log_y.value = True
    sync(panel)
    chart = panel.charts["g"]
    assert "2 values \u2264 0 not drawn" in chart.figure.title
    assert np.isnan(np.asarray(chart.raw.y)[:2]).all()


def test_step_metric_is_the_x_axis_and_gets_no_chart(panel):
    panel.run.define_metric("val/*", step_metric="epoch")
    for epoch in range(1, 6):
        for i in range(20):
            panel.run.log({"train/loss": 1.0})
        panel.run.log({"val/acc": epoch / 10, "epoch": epoch})
    sync(panel)
    chart = panel.charts["val/acc"]
    assert list(chart.raw.x) == [1, 2, 3, 4, 5] and chart.frame.x_axis.label == "epoch"
    assert list(chart.frame.x_axis.tick_labels.values()) == ["1", "2", "3", "4", "5"]
    assert "epoch" not in panel.charts  # a step metric is an axis, not a metric
    assert "epoch" in [v for _, v in panel.x_axis.options]  # ...and can be every chart's x axis
    assert "epoch" in panel.summary.value


def test_a_metric_that_becomes_a_step_metric_loses_its_chart(panel):
    for epoch in range(1, 4):
        panel.run.log({"acc": epoch / 10, "epoch": epoch})
    sync(panel)
    assert "epoch" in panel.charts
    panel.run.define_metric("acc", step_metric="epoch")
    sync(panel)
    assert "epoch" not in panel.charts and "acc" in panel.charts


def test_x_axis_menu_offers_metrics_that_never_decrease(panel):
    for i in range(30):
        panel.run.log({"loss": 1.0 / (i + 1), "tokens": 512.0 * i, "lr": 0.1, "noise": float((-1) ** i)})
    sync(panel)
    values = [v for _, v in panel.x_axis.options]
    assert values[:3] == ["step", "wall", "relative"] and "tokens" in values
    assert "loss" not in values and "lr" not in values and "noise" not in values  # decreasing or constant
    panel.x_axis.value = "tokens"
    panel.redraw()
    chart = panel.charts["loss"]
    assert chart.frame.x_axis.label == "tokens" and chart.raw.x[-1] == 512.0 * 29


def test_nan_makes_a_gap_and_summary_ignores_it(panel):
    for v in [1.0, 2.0, math.nan, 4.0, math.inf, 3.0]:
        panel.run.log({"g": v})
    sync(panel)
    y = np.asarray(panel.charts["g"].raw.y)
    assert np.isnan(y).sum() == 2 and np.nanmax(y) == 4.0
    assert "<td>g</td><td>3</td><td>1</td><td>4</td>" in panel.summary.value


def test_summary_follows_the_runs_rules_and_manual_values(panel):
    panel.run.define_metric("acc", summary="max")
    for v in [3.0, 1.0, 2.0]:
        panel.run.log({"loss": v, "acc": v / 4})
    panel.run.summary["best_acc"] = 0.97
    sync(panel)
    text = panel.summary.value
    assert "<td>loss</td><td>2</td><td>1</td><td>3</td>" in text
    assert "<td>acc</td><td>0.75</td>" in text  # the max, as define_metric says
    assert "best_acc" in text and "0.97" in text


def test_status_line_keeps_the_history_and_clears_conditions(panel):
    panel.run.notices.sink = panel.set_status
    panel.run.log({"bad": "text", "ok": 1.0})
    panel.run.log({"worse": object(), "ok": 2.0})
    sync(panel)
    text = panel.status.value
    assert "worse" in text.split("</summary>")[0]  # the last message is on the line
    assert "bad" in text and "2 messages" in text  # the earlier one is one click away
    panel.status_line.set("sync", "sync retrying: server down")
    panel.redraw()
    assert "server down" in panel.status.value.split("</summary>")[0]
    panel.status_line.clear("sync", "sync recovered")
    panel.redraw()
    head = panel.status.value.split("</summary>")[0]
    assert "server down" not in head and "sync recovered" in panel.status.value


def test_filter_box_appears_with_many_metrics_and_hides_charts(panel):
    for i in range(5):
        panel.run.log({f"m{k:02d}": float(i * k) for k in range(15)})
    sync(panel)
    assert panel.filter.layout.display is None  # shown: more than 12 metrics
    panel.filter.value = "m1"
    panel.redraw()
    shown = [name for name, chart in panel.charts.items() if chart.figure.layout.display != "none"]
    assert shown == ["m10", "m11", "m12", "m13", "m14"]


def test_a_folded_section_is_not_redrawn(panel):
    for i in range(10):
        panel.run.log({"train/a": float(i), "val/b": float(i)})
    sync(panel)
    panel.sections["train"][0].selected_index = None
    before = len(comm_of(panel.charts["train/a"].raw).updates())
    for i in range(10, 20):
        panel.run.log({"train/a": float(i), "val/b": float(i)})
    sync(panel)
    assert len(comm_of(panel.charts["train/a"].raw).updates()) == before
    assert panel.charts["val/b"].drawn == 20


def test_header_shows_run_state_and_step(panel):
    for i in range(7):
        panel.run.log({"a": 1.0})
    sync(panel)
    text = panel.header.value
    assert "p1" in text and "panel" in text and "<b>running</b>" in text and "step 6" in text


def test_finish_returns_at_once_then_the_thread_draws_the_final_state_and_image(tracker_env, recording_comm,
                                                                                monkeypatch):
    import IPython.display

    import jupyter_tracker.kernel.session

    sent = []
    monkeypatch.setattr(IPython.display, "update_display", lambda obj, **kw: sent.append((obj, kw)))
    monkeypatch.setattr(jupyter_tracker.kernel.session, "in_kernel", lambda: True)  # as in a kernel
    run = tracker.init(project="panel", name="fin")
    panel = Panel(run)
    run.companions.panel = panel
    panel.ready.wait(30)
    gate = threading.Event()
    original = panel._final

    def slow_final():
        gate.wait(10)
        original()

    panel._final = slow_final
    for i in range(300):
        run.log({"train/loss": 1.0 / (i + 1), "val/x": float(i)})
    started = time.monotonic()
    run.finish()
    assert time.monotonic() - started < 2.0 and not sent  # finish() did not wait for the panel
    gate.set()
    assert panel.wait(30)
    assert not panel.redrawer.thread.is_alive()
    (widget, kw1), (image, kw2) = sent
    assert kw1 == {"raw": True, "display_id": panel.display_id}
    assert kw2 == {"raw": True, "display_id": panel.image_id}
    assert widget["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.root.model_id
    assert "finished" in widget["text/plain"]
    svg = image["image/svg+xml"]
    assert svg.startswith("<svg") and "train/loss" in svg and "val/x" in svg and svg.count("<path") >= 4
    assert "<b>finished</b>" in panel.header.value
    assert panel.charts["train/loss"].raw.x[-1] == 299


def test_without_a_kernel_panel_explains_what_is_needed(tracker_env):
    run = tracker.init()
    with pytest.raises(RuntimeError, match="needs a Jupyter kernel"):
        tracker.panel()
    run.finish()


def test_a_panel_opened_late_reads_the_log_without_missing_or_doubling(tracker_env, recording_comm):
    run = tracker.init(project="late")
    for i in range(3000):
        run.log({"x": float(i)})
    run._writer.drain()
    for i in range(3000, 3500):  # still queued when the panel opens
        run.log({"x": float(i)})
    p = Panel(run)
    run.companions.panel = p
    p.redrawer.stop()
    for i in range(3500, 4000):
        run.log({"x": float(i)})
    run._writer.drain()
    p.redraw()
    series = p.store.series["x"]
    assert list(series.value.view()) == [float(i) for i in range(4000)]
    assert list(series.step.view()) == [float(i) for i in range(4000)]
    assert p.charts["x"].raw.x[-1] == 3999
    run.finish()


def test_the_panels_own_thread_keeps_up_while_the_run_logs(tracker_env, recording_comm):
    run = tracker.init(project="live")
    p = Panel(run)
    run.companions.panel = p
    for i in range(200):
        run.log({"x": float(i)})
        time.sleep(0.005)
    deadline = time.monotonic() + 20
    while (p.store.rows < 200 or "x" not in p.charts or p.charts["x"].drawn < 200) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.store.rows == 200 and p.charts["x"].drawn == 200
    run.finish()
    assert p.wait(30)


def test_sync_trouble_shows_until_the_upload_recovers(panel):
    from jupyter_tracker import rundir

    panel.run.info["mode"] = "online"  # as with a tracking server configured
    rundir.write_sync(panel.run.path, {"status": "retrying", "message": "connection refused",
                                       "events": {"acked": 10}})
    panel.redraw()
    head = panel.status.value.split("</summary>")[0]
    assert "sync retrying: connection refused" in head and "sync retrying (10 records)" in panel.header.value
    rundir.write_sync(panel.run.path, {"status": "ok", "events": {"acked": 50}})
    panel.redraw()
    head = panel.status.value.split("</summary>")[0]
    assert "connection refused" not in head and "no problem now" in head  # cleared...
    assert "connection refused" in panel.status.value  # ...and kept in the history
    assert "synced to server (50 records)" in panel.header.value


def test_the_static_image_keeps_a_notebook_small(panel):
    for i in range(200):
        panel.run.log({f"m{k:02d}": float((i * k) % 17) for k in range(40)})
    sync(panel)
    svg = panel.svg()
    assert "the first 30 of 40" in svg and svg.count(">m") >= 30 and ">m35" not in svg
    assert len(svg) < 30 * 15_000


def test_an_alert_is_on_the_status_line(panel):
    panel.run._notices.sink = panel.set_status
    panel.run.alert("loss diverged", "nan at step 3", level="ERROR")
    sync(panel)
    head = panel.status.value.split("</summary>")[0]
    assert "alert (ERROR): loss diverged: nan at step 3" in head
