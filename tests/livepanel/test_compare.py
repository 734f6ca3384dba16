"""The compare view's widgets over real run directories, with a recording comm (no frontend).

The runs are real (``tracker.init`` in this process, offline); the kernel tests
(tests/e2e/test_compare_kernel.py) run the view in a kernel with runs from other
processes, the browser test (tests/e2e/test_compare_lab.py) renders it.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from jupyter_tracker.livepanel.compare import CompareView, compare
from jupyter_tracker.numerics.bands import group_band
from jupyter_tracker.numerics.colors import colors_for

LRS = (0.1, 0.03, 0.01)


def sweep(project: str = "sweep", steps: int = 60) -> list[str]:
    ids = []
    for lr in LRS:
        for seed in range(3):
            with tracker.init(project=project, group=f"lr={lr}", mode="offline",
                              config={"lr": lr, "seed": seed, "batch": 64}) as run:
                run.define_metric("val/acc", summary="max")
                for step in range(steps + 7 * seed):
                    run.log({"train/loss": math.exp(-lr * step) + 0.01 * seed})
                    if step % 10 == 0:
                        run.log({"val/acc": 1 - math.exp(-lr * step)}, commit=False)
                ids.append(run.id)
    return ids


@pytest.fixture
def view(tracker_env, recording_comm):
    sweep()
    v = compare(project="sweep", live=False)
    yield v
    v.close()


def lines_of(chart, kind: str) -> list:
    return [key for (k, key) in chart.rows if k == kind]


def test_table_rows_and_diff_columns(view: CompareView):
    rows = view.table.text_rows()
    header = rows[0]
    assert header[:7] == ["name", "state", "group", "tags", "created", "duration", "steps"]
    assert "lr" in header and "seed" in header and "batch" not in header  # batch is 64 everywhere
    assert "val/acc (max)" in header and "train/loss (last)" in header
    assert len(rows) == 1 + 9
    states = {row[1] for row in rows[1:]}
    assert states == {"finished"}
    view.table.all_keys.value = True
    assert "batch" in view.table.text_rows()[0]


def test_sort_filter_and_selection_drive_the_charts(view: CompareView):
    view.table.sort("val/acc", descending=True)
    rows = view.table.text_rows()
    column = rows[0].index("val/acc (max)")
    values = [float(r[column]) for r in rows[1:]]
    assert values == sorted(values, reverse=True)
    view.table.filter.value = "lr=0.01"
    assert len(view.table.text_rows()) == 1 + 3
    view.table.filter.value = ""
    chart = view.charts["train/loss"]
    assert len(lines_of(chart, "raw")) == 9
    first = view.source.order_ids[0]
    view.table.checks[first].value = False  # untick: the charts follow
    assert len(lines_of(chart, "raw")) == 8
    assert chart.line("raw", first) is None and first not in chart.marks[("raw", "")].labels


def test_one_line_per_run_per_metric_in_the_runs_colours(view: CompareView):
    colors = colors_for(view.source.order_ids)
    for metric in ("train/loss", "val/acc"):
        chart = view.charts[metric]
        assert set(lines_of(chart, "raw")) == set(view.source.order_ids)
        mark = chart.marks[("raw", "")]  # all the raw lines in one mark: one message per redraw
        assert np.asarray(mark.y).shape[0] == 9 and mark.colors == [colors[i] for i in mark.labels]
        for run_id in view.source.order_ids:
            x, y = chart.line("raw", run_id)
            assert len(x) == len(y) > 0
        hover = chart.hover.names
        assert any(view.source.runs[i].name in hover[0] for i in view.source.order_ids)
    assert len(lines_of(view.charts["train/loss"], "smooth")) == 9  # 60+ points: smoothed bold over raw faint
    assert not lines_of(view.charts["val/acc"], "smooth")  # 6-8 points: raw only


def test_group_band_mean_within_min_max(view: CompareView):
    view.group_by.value = "config.lr"
    chart = view.charts["train/loss"]
    bands = {key: chart.line("band", key) for key in lines_of(chart, "band")}
    means = {key: chart.line("mean", key) for key in lines_of(chart, "mean")}
    assert len(bands) == 3 and set(bands) == set(means)
    assert all("(3 runs)" in key for key in bands)
    for key, (_, edges) in bands.items():
        lo, hi = edges
        mean = means[key][1]
        ok = np.isfinite(mean)
        assert ok.sum() > 50
        assert np.all(lo[ok] <= mean[ok] + 1e-12) and np.all(mean[ok] <= hi[ok] + 1e-12)
    assert "lr=0.1 (3 runs)" in view.legend.value and "min/max band" in view.legend.value
    # the band is numerics.bands over the group's smoothed lines
    group = [view.source.runs[i] for i in view.source.order_ids if view.source.runs[i].config["lr"] == 0.1]
    traces = [view.traces.get(d, "train/loss", view.view()) for d in group]
    expect = group_band([(t.x, t.smoothed) for t in traces])
    mean = means["lr=0.1 (3 runs)"][1]
    np.testing.assert_allclose(mean, expect.mean[: len(mean)], rtol=1e-6)
    view.band.value = "std"
    assert "± std band" in view.legend.value
    assert "<path" in view.svg() and 'fill-opacity="0.18"' in view.svg()  # the image holds the bands


def test_scatter_config_key_against_summary(view: CompareView):
    view.scatter_key.value = "lr"
    view.scatter_metric.value = "val/acc"
    assert sorted(set(np.asarray(view.scatter.points.x).tolist())) == sorted(LRS)
    assert len(view.scatter.points.names) == 9 and all("val/acc" in n for n in view.scatter.points.names)
    best = max(view.scatter.points.y)
    assert any(n.startswith(view.source.runs[i].name) for n in view.scatter.points.names for i in view.source.order_ids)
    assert best == max(d.summary["val/acc"] for d in view.source.runs.values())


def test_x_axis_menu_offers_time_and_rising_metrics(view: CompareView):
    values = [v for _, v in view.x_axis.options]
    assert values[:3] == ["step", "wall", "relative"]
    view.x_axis.value = "relative"
    assert view.charts["train/loss"].figure.axes[0].label.startswith("time")


def test_unknown_project_is_an_empty_view_that_says_so(tracker_env, recording_comm):
    v = compare(project="nope", live=False)
    assert v.source.order_ids == [] and not v.charts
    assert "no runs in project 'nope'" in v.status.value.replace("&#x27;", "'")
    assert "no runs to show" in v.legend.value


def test_filter_on_a_key_no_run_has_names_it(tracker_env, recording_comm):
    sweep(steps=12)
    v = compare(project="sweep", filters={"config.lr2": {"$gt": 1}}, live=False)
    assert v.source.order_ids == []
    assert "config key 'lr2'" in v.status.value.replace("&#x27;", "'")


def test_invalid_operator_raises_naming_it(tracker_env, recording_comm):
    with pytest.raises(ValueError, match=r"\$foo"):
        compare(project="sweep", filters={"config.lr": {"$foo": 1}}, live=False)
    with pytest.raises(ValueError, match="'iqr'"):
        compare(project="sweep", band="iqr", live=False)


def test_runs_given_by_id_and_object_with_filters(tracker_env, recording_comm):
    ids = sweep(steps=12)
    a = tracker.Api().run(ids[0])
    v = compare(runs=[a, ids[-1], ids[4]], filters={"config.lr": {"$lt": 0.05}}, live=False)
    assert set(v.source.order_ids) == {ids[-1], ids[4]}  # ids[0] has lr 0.1
    with pytest.raises(KeyError, match="zzzz"):
        compare(runs=["zzzz"], live=False)


def test_corrupt_log_shows_what_could_be_read_and_the_report(tracker_env, recording_comm):
    with tracker.init(project="bad", mode="offline") as run:
        for i in range(300):
            run.log({"loss": 1 / (i + 1)})
    events = run.path / rundir.EVENTS
    data = bytearray(events.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 40] = b"#" * 40  # damage a frame in the middle
    events.write_bytes(bytes(data))
    v = compare(project="bad", live=False)
    shown = v.source.runs[run.id]
    assert 0 < len(shown.columns["loss"]["value"]) < 300
    status = v.status.value.replace("&#x27;", "'")
    assert f"run {run.name} ({run.id})" in status and "corrupt" in status


def test_crashed_run_says_so(tracker_env, recording_comm):
    with tracker.init(project="dead", mode="offline") as run:
        run.log({"loss": 1.0})
    info = json.loads((run.path / rundir.RUN_JSON).read_text())
    info.update(state="running", pid=2**22 + 12345)  # a process that is not there
    info.pop("finished_at", None)
    (run.path / rundir.RUN_JSON).write_text(json.dumps(info))
    os.utime(run.path / rundir.RUN_JSON)
    v = compare(project="dead", live=False)
    assert v.source.runs[run.id].state == "crashed"
    assert "crashed at step 0" in v.status.value
    assert "crashed" in v.table.text_rows()[1][1]


def test_live_refresh_picks_up_new_points_and_new_runs(tracker_env, recording_comm):
    run = tracker.init(project="live", mode="offline")
    for i in range(30):
        run.log({"loss": 1 / (i + 1)})
    run._writer.drain()
    v = compare(project="live", live=False)
    assert len(v.charts["loss"].line("raw", run.id)[0]) == 30
    for i in range(30, 70):
        run.log({"loss": 1 / (i + 1)})
    run._writer.drain()
    assert v.source.refresh()
    v.draw()
    assert len(v.charts["loss"].line("raw", run.id)[0]) == 70
    assert "1 live" in v.header.value
    other = tracker.init(project="live", mode="offline", name="second")
    other.log({"loss": 0.5})
    other._writer.drain()
    assert v.source.refresh()
    v.draw()
    assert other.id in v.source.order_ids and v.charts["loss"].line("raw", other.id) is not None
    other.finish()
    run.finish()
    assert v.source.refresh()
    assert not v.source.refresh()  # nothing new: a cycle costs a stat per run


def test_outside_a_kernel_compare_explains_what_to_use(tracker_env):
    with pytest.raises(RuntimeError, match=r"Jupyter kernel.*tracker.Api\(\).runs\(\)"):
        tracker.compare(project="sweep")


def test_x_axis_menu_follows_metrics_that_stop_rising(tracker_env, recording_comm):
    run = tracker.init(project="axis", mode="offline")
    for i in range(10):
        run.log({"loss": 1 / (i + 1), "epoch": i // 3})
    run._writer.drain()
    v = compare(project="axis", live=False)
    assert "epoch" in [value for _, value in v.x_axis.options] and "loss" not in [x for _, x in v.x_axis.options]
    v.x_axis.value = "epoch"
    assert v.charts["loss"].figure.axes[0].label == "epoch"
    run.log({"loss": 0.01, "epoch": 0})  # epoch goes back: no longer an x axis
    run._writer.drain()
    assert v.source.refresh()
    v.draw()
    assert "epoch" not in [value for _, value in v.x_axis.options][3:] or v.x_axis.value == "epoch"
    assert v.source.rising() == []
    run.finish()
