"""The panel's series: read from the events log at the panel's pace, one column per metric."""

from __future__ import annotations

import math

import numpy as np

from jupyter_tracker import records
from jupyter_tracker.livepanel.series import LogTail, SeriesStore


def write(path, items, seq=0):
    out: list[bytes] = []
    last = records.encode_items([list(i) for i in items], seq, out)
    with open(path, "ab") as handle:
        handle.write(b"".join(out))
    return last


def test_log_tail_reads_each_record_once(tmp_path):
    path = tmp_path / "events.log"
    tail = LogTail(path)
    assert tail.read() == [] and tail.behind == 0  # no file yet
    seq = write(path, [[0, "h", i, 1.0, {"x": float(i)}] for i in range(10)])
    assert [r[0] for r in tail.read()] == list(range(1, 11))
    assert tail.read() == []
    with open(path, "ab") as handle:
        handle.write(b'[[11,"h",10,1.0,{"x":10.0}]]')  # no checksum, no newline yet: still being written
    assert tail.read() == [] and tail.behind > 0
    with open(path, "ab") as handle:
        handle.write(b"\n")  # the writer died there; the next one closes the torn line first
    write(path, [[0, "h", 11, 1.0, {"x": 11.0}]], seq)
    got = tail.read()
    assert [r[0] for r in got] == [11] and tail.corrupt == 1 and tail.behind == 0


def test_store_keeps_one_column_per_metric_in_row_order():
    store = SeriesStore()
    store.add([[1, "h", 0, 10.0, {"a": 1.0, "b": 2.0}], [2, "h", 1, 11.0, {"a": 3.0, "b": 4.0}],
               [3, "c", 11.5, {"lr": 0.1}],
               [4, "h", 2, 12.0, {"a": 5.0}], [5, "h", 3, 13.0, {"b": math.nan, "c": 2**70}]])
    a, b, c = store.series["a"], store.series["b"], store.series["c"]
    assert list(a.value.view()) == [1.0, 3.0, 5.0] and list(a.seq.view()) == [1.0, 2.0, 4.0]
    assert list(b.step.view()) == [0.0, 1.0, 3.0] and math.isnan(b.last) and b.maximum == 4.0
    assert c.value.view()[0] == float(2**70)
    assert store.rows == 4 and store.last_step == 3 and store.first_time == 10.0


def test_step_metric_x_is_its_value_at_that_row():
    store = SeriesStore()
    store.add([[1, "m", 0.0, {"name": "val/*", "step_metric": "epoch"}]])
    store.add([[2, "h", 0, 1.0, {"val/acc": 0.5}],  # before the first epoch: no x
               [3, "h", 1, 1.0, {"epoch": 1.0}],
               [4, "h", 2, 1.0, {"val/acc": 0.6}],  # epoch logged in an earlier row
               [5, "h", 3, 1.0, {"val/acc": 0.7, "epoch": 2.0}]])  # in the same row
    acc = store.series["val/acc"]
    x = store.x_from(acc, "epoch", 0, len(acc))
    assert math.isnan(x[0]) and list(x[1:]) == [1.0, 2.0]
    assert store.step_metric_of("val/acc") == "epoch" and store.step_metric_of("train/loss") is None
    assert store.charted() == ["val/acc"]


def test_hidden_metrics_and_the_trackers_own_keys_get_no_chart():
    store = SeriesStore()
    store.add([[1, "m", 0.0, {"name": "debug/*", "hidden": True}],
               [2, "h", 0, 1.0, {"debug/x": 1.0, "loss": 1.0, "_step": 0.0}]])
    assert store.charted() == ["loss"]


def test_rising_metrics_are_x_axis_candidates():
    store = SeriesStore()
    rows = [{"tokens": 10.0 * i, "loss": 1.0 / (i + 1), "flat": 1.0, "gappy": float(i) if i % 2 else math.nan}
            for i in range(10)]
    store.add([[i + 1, "h", i, 1.0, row] for i, row in enumerate(rows)])
    assert sorted(store.rising()) == ["gappy", "tokens"]
    store.add([[20, "h", 20, 1.0, {"tokens": 5.0}]])  # it went back
    assert store.rising() == ["gappy"]


def test_summary_rows_follow_summary_rules():
    store = SeriesStore()
    store.add([[1, "m", 0.0, {"name": "acc", "summary": "max"}],
               [2, "h", 0, 1.0, {"acc": 0.5, "loss": 2.0}], [3, "h", 1, 1.0, {"acc": 0.4, "loss": 1.0}],
               [4, "s", 1.0, {"set": {"note": "x"}}]])
    rows = {name: (value, lo, hi) for name, value, lo, hi in store.summary_rows()}
    assert rows["acc"] == (0.5, 0.4, 0.5) and rows["loss"] == (1.0, 1.0, 2.0)
    assert rows["note"][0] == "x" and np.isnan(rows["note"][1])


def test_metrics_logged_together_share_their_rows_until_they_part():
    store = SeriesStore()
    store.add([[i + 1, "h", i, float(i), {"a": float(i), "b": -float(i), "c": 0.0}] for i in range(100)])
    a, b, c = (store.series[k] for k in "abc")
    assert a.rows is b.rows is c.rows and a.rows.members == {"a", "b", "c"}  # one copy of seq/step/time
    store.add([[101, "h", 100, 100.0, {"a": 1.0, "b": 2.0}]])  # c not logged: a and b move on together
    assert a.rows is b.rows and c.rows is not a.rows
    assert len(a.step.view()) == len(a) == 101 and len(c.step.view()) == len(c) == 100
    store.add([[102, "h", 101, 101.0, {"a": 1.0}], [103, "h", 102, 102.0, {"b": 2.0, "c": 3.0}]])
    assert [len(store.series[k]) for k in "abc"] == [102, 102, 101]
    assert list(a.seq.view()[-2:]) == [101.0, 102.0] and list(b.seq.view()[-2:]) == [101.0, 103.0]
    assert list(c.seq.view()[-2:]) == [100.0, 103.0]
    for series in store.series.values():
        assert len(series.seq.view()) == len(series.step.view()) == len(series.time.view()) == len(series)
