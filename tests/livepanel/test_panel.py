"""The panel's widgets and messages, with a recording comm (no frontend, no kernel).

These check what the kernel side sends; the browser tests (tests/e2e/test_lab.py)
check that JupyterLab renders it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import orjson
import pytest

import jupyter_tracker as tracker
from jupyter_tracker.livepanel import Panel
from jupyter_tracker.livepanel.charts import POINTS


@pytest.fixture
def panel(tracker_env, recording_comm):
    run = tracker.init(project="panel", name="p1")
    p = Panel(run)
    run._panel = p
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
                           panel.system.box, panel.summary) for c in w._dom_classes}
    assert {"tracker-panel", "tracker-header", "tracker-status", "tracker-controls", "tracker-charts",
            "tracker-system", "tracker-summary"} <= classes


def test_one_chart_per_metric_grouped_by_prefix(panel):
    for i in range(10):
        panel.run.log({"train/loss": 1.0 / (i + 1), "train/acc": i / 10, "val/loss": 0.5, "lr": 0.1})
    sync(panel)
    assert set(panel.charts) == {"train/loss", "train/acc", "val/loss", "lr"}
    assert list(panel.groups) == ["train", "val", ""]
    for chart in panel.charts.values():
        assert "tracker-chart" in chart.figure._dom_classes
        assert chart.figure.title == chart.name


def test_one_message_per_mark_per_redraw(panel):
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
    # nothing new: nothing sent
    sync(panel)
    assert [len(comm_of(m).updates()) for m in marks] == after


def test_lines_are_decimated_and_end_at_the_last_step(panel):
    values = np.sin(np.arange(50_000) / 500.0)
    values[12_345] = 40.0  # a spike must survive decimation
    for i, v in enumerate(values):
        panel.run.log({"wave": float(v)})
    sync(panel)
    chart = panel.charts["wave"]
    assert len(chart.raw.x) <= POINTS + 4 and len(chart.smooth.x) <= POINTS + 4 + POINTS // 4
    assert chart.raw.x[-1] == 49_999 and chart.smooth.x[-1] == 49_999
    assert chart.raw.x[0] == 0
    assert np.nanmax(chart.raw.y) == 40.0
    assert np.nanmin(chart.raw.y) == pytest.approx(values.min())


def test_smoothing_is_tensorboard_ema_on_full_resolution(panel):
    rng = np.random.default_rng(1)
    values = rng.normal(size=3000)
    for v in values:
        panel.run.log({"noise": float(v)})
    sync(panel)
    from jupyter_tracker.numerics.smoothing import ema

    expected = ema(values, 0.6)
    chart = panel.charts["noise"]
    steps = np.asarray(chart.smooth.x, dtype=int)
    np.testing.assert_allclose(chart.smooth.y, expected[steps], rtol=1e-9)


def test_controls_change_smoothing_axis_and_scale(panel):
    for i in range(500):
        panel.run.log({"m": float(i % 50) + 1.0})
    sync(panel)
    chart = panel.charts["m"]
    raw_y = np.array(chart.raw.y)
    panel.kind.value = "none"
    panel.redraw()
    np.testing.assert_allclose(chart.smooth.y, chart.raw.y)
    panel.kind.value = "average"
    panel.amount.value = 0.1
    panel.redraw()
    assert not np.allclose(chart.smooth.y, raw_y)
    panel.log_y.value = True
    panel.redraw()
    assert type(chart.y_axis.scale).__name__ == "LogScale" and chart.raw.scales["y"] is chart.y_log
    panel.x_axis.value = "relative"
    panel.redraw()
    assert chart.x_axis.label == "seconds" and chart.raw.x[-1] < 60
    panel.x_axis.value = "wall"
    panel.redraw()
    assert np.asarray(chart.raw.x).dtype.kind == "M" and chart.raw.scales["x"] is chart.x_date


def test_step_metric_is_the_x_axis(panel):
    panel.run.define_metric("val/*", step_metric="epoch")
    for epoch in range(1, 6):
        for i in range(20):
            panel.run.log({"train/loss": 1.0})
        panel.run.log({"val/acc": epoch / 10, "epoch": epoch})
    sync(panel)
    chart = panel.charts["val/acc"]
    assert list(chart.raw.x) == [1, 2, 3, 4, 5] and chart.x_axis.label == "epoch"


def test_nan_makes_a_gap_and_summary_ignores_it(panel):
    for v in [1.0, 2.0, math.nan, 4.0, math.inf, 3.0]:
        panel.run.log({"g": v})
    sync(panel)
    y = np.asarray(panel.charts["g"].raw.y)
    assert np.isnan(y).sum() == 2 and np.nanmax(y) == 4.0
    assert "<td>g</td><td>3</td><td>1</td><td>4</td>" in panel.summary.value


def test_summary_table_and_manual_values(panel):
    for v in [3.0, 1.0, 2.0]:
        panel.run.log({"loss": v})
    panel.run.summary["best_acc"] = 0.97
    sync(panel)
    text = panel.summary.value
    assert "<td>loss</td><td>2</td><td>1</td><td>3</td>" in text and "best_acc" in text and "0.97" in text


def test_status_line_shows_the_runs_warnings(panel):
    panel.run._notices.sink = panel.set_status
    panel.run.log({"bad": "text", "ok": 1.0})
    sync(panel)
    assert "bad" in panel.status.value and "is a str, not a number" in panel.status.value


def test_system_strip_reads_the_services_latest_samples(panel):
    path = panel.run.path / "system-live.json"
    for seq, cpu in enumerate([10.0, 30.0, 20.0], 1):
        path.write_bytes(orjson.dumps({"seq": seq, "ts": time.time(), "sample": {
            "proc/cpu_percent": cpu, "proc/rss_mb": 100.0, "host/memory_percent": 50.0,
            "gpu/0/util_percent": 77.0, "gpu/0/memory_percent": 12.0}}))
        panel.redraw()
    strip = panel.system
    assert list(strip.sparks) == ["proc/cpu_percent", "proc/rss_mb", "host/memory_percent",
                                  "gpu/0/util_percent", "gpu/0/memory_percent"]
    assert list(strip.sparks["proc/cpu_percent"].line.y) == [10.0, 30.0, 20.0]
    assert "GPU 0 util: <b>77</b>" in strip.sparks["gpu/0/util_percent"].label.value


def test_header_shows_run_state_and_step(panel):
    for i in range(7):
        panel.run.log({"a": 1.0})
    sync(panel)
    text = panel.header.value
    assert "p1" in text and "panel" in text and "<b>running</b>" in text and "step 6" in text


def test_finish_freezes_and_adds_a_static_image(panel, monkeypatch):
    sent = []
    import IPython.display

    import jupyter_tracker.kernel.session

    monkeypatch.setattr(IPython.display, "update_display", lambda obj, **kw: sent.append((obj, kw)))
    monkeypatch.setattr(jupyter_tracker.kernel.session, "in_kernel", lambda: True)  # as in a kernel
    for i in range(300):
        panel.run.log({"train/loss": 1.0 / (i + 1), "val/x": float(i)})
    panel.run.finish()
    assert not panel.redrawer.thread.is_alive()
    (bundle, kwargs), = sent
    assert kwargs == {"raw": True, "display_id": panel.display_id}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.root.model_id
    svg = bundle["image/svg+xml"]
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
    run._panel = p
    p.redrawer.stop()
    for i in range(3500, 4000):
        run.log({"x": float(i)})
    run._writer.drain()
    p.redraw()
    series = p.store.series["x"]
    assert list(series.value.view()) == [float(i) for i in range(4000)]
    assert p.charts["x"].raw.x[-1] == 3999
    run.finish()
