"""System metrics as charts: the service's live samples, and its window means for the time before."""

from __future__ import annotations

import time

import numpy as np
import orjson

from jupyter_tracker import records
from jupyter_tracker.livepanel.system import SystemCharts, chart_specs


def live(path, seq, ts, sample):
    (path / "system-live.json").write_bytes(orjson.dumps({"seq": seq, "ts": ts, "sample": sample}))


def test_charts_per_quantity_with_units_and_time_on_x(tmp_path, recording_comm):
    start = time.time() - 100
    # the service wrote two window means before the panel opened
    out: list[bytes] = []
    records.encode_items([[0, "sys", start + 30, {"proc/cpu_percent": 50.0, "proc/rss_mb": 100.0, "_samples": 15.0}],
                          [0, "sys", start + 60, {"proc/cpu_percent": 70.0, "proc/rss_mb": 110.0}]], 0, out)
    (tmp_path / "system.log").write_bytes(b"".join(out))
    charts = SystemCharts(tmp_path, start)
    sample = {"proc/cpu_percent": 10.0, "proc/rss_mb": 120.0, "host/cpu_percent": 30.0, "host/memory_percent": 40.0,
              "disk/read_mb_s": 1.0, "disk/write_mb_s": 2.0, "net/recv_mb_s": 0.5, "net/sent_mb_s": 0.25,
              "gpu/0/util_percent": 77.0, "gpu/0/memory_percent": 12.0}
    live(tmp_path, 1, start + 90, sample)
    assert charts.refresh()
    live(tmp_path, 2, start + 92, {**sample, "proc/cpu_percent": 30.0})
    assert charts.refresh()
    assert not charts.refresh()  # nothing new
    assert list(charts.charts) == ["kernel CPU", "kernel RSS", "host CPU", "host memory", "disk", "network", "GPU 0"]
    cpu = charts.charts["kernel CPU"]
    assert "tracker-system-chart" in cpu.figure._dom_classes
    assert list(cpu.marks[0].y) == [50.0, 70.0, 10.0, 30.0]  # history, then the live samples
    assert list(cpu.marks[0].x) == [30.0, 60.0, 90.0, 92.0]  # the run's time
    assert cpu.figure.title == "kernel CPU (%)   30"
    assert cpu.frame.x_axis.label == "time (s)" and cpu.frame.y_scale.min < 0 <= cpu.frame.y_scale.max
    assert "0" in cpu.frame.y_axis.tick_labels.values()  # from 0
    disk = charts.charts["disk"]
    assert [m.labels for m in disk.marks] == [["read 1"], ["write 2"]]
    gpu = charts.charts["GPU 0"]
    # not sampled before: no point there (a NaN point is a NaN transform in the browser: a console error)
    np.testing.assert_array_equal(gpu.marks[0].y, [77.0, 77.0])
    np.testing.assert_array_equal(gpu.marks[0].x, [90.0, 92.0])
    # a sample without a CPU figure (taken too soon after the last): no point, the title keeps the last one
    live(tmp_path, 3, start + 92.05, {k: v for k, v in sample.items() if k != "proc/cpu_percent"})
    assert charts.refresh()
    assert list(cpu.marks[0].y) == [50.0, 70.0, 10.0, 30.0] and cpu.figure.title == "kernel CPU (%)   30"
    assert cpu.static().lines and charts.note.value == ""


def test_paused_note_and_gpus_in_order(tmp_path, recording_comm):
    keys = {"gpu/10/util_percent", "gpu/2/util_percent", "gpu/2/memory_percent", "proc/cpu_percent"}
    assert [title for title, _, _ in chart_specs(keys)] == ["kernel CPU", "GPU 2", "GPU 10"]
    charts = SystemCharts(tmp_path, time.time())
    live(tmp_path, 1, time.time(), {"proc/cpu_percent": 1.0})
    charts.refresh(paused="service stopped")
    assert "paused (service stopped)" in charts.note.value
