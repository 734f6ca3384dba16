import time

import pandas as pd
import pytest

import jupyter_tracker as tracker


def test_runs_newest_first_filters_and_lookup(tracker_env):
    a = tracker.init(project="p1", name="a")
    a.finish()
    time.sleep(1.1)  # run directories are named to the second
    b = tracker.init(project="p2", name="b")
    b.finish()
    api = tracker.Api()
    assert [r.name for r in api.runs()] == ["b", "a"]
    assert [r.name for r in api.runs(project="p1")] == ["a"]
    assert [r.name for r in api.runs(state="finished")] == ["b", "a"]
    assert api.run(a.id).name == "a" and api.projects() == ["p1", "p2"]
    with pytest.raises(KeyError, match="no run with id"):
        api.run("nope")


def test_history_keys_pandas_and_system(tracker_env):
    run = tracker.init()
    for i in range(5):
        row = {"loss": 1.0 / (i + 1)}
        if i % 2 == 0:
            row["val"] = float(i)
        run.log(row)
    run.finish()
    back = tracker.Api().run(run.id)
    assert [r["_step"] for r in back.history(keys=["val"])] == [0, 2, 4]
    assert [r["_step"] for r in back.history(keys="loss")] == [0, 1, 2, 3, 4]
    assert back.history(keys=["val", "missing"]) == []
    frame = back.history(pandas=True)
    assert isinstance(frame, pd.DataFrame) and list(frame["_step"]) == [0, 1, 2, 3, 4]
    assert frame["val"].isna().sum() == 2
    assert isinstance(back.system(pandas=True), pd.DataFrame)
    assert all(t > 0 for t in frame["_timestamp"])


def test_a_live_run_reads_as_far_as_it_got(tracker_env):
    run = tracker.init()
    run.log({"a": 1.0})
    run._writer.drain()
    back = tracker.Api().run(run.id)
    assert back.state == "running" and len(back.history()) == 1
    run.log({"a": 2.0})
    run._writer.drain()
    assert len(back.history()) == 2  # re-read when the log grows
    run.finish()


def test_a_damaged_log_reads_with_a_report(tracker_env):
    run = tracker.init()
    for i in range(10):
        run.log({"a": float(i)})
    run.finish()
    events = run.path / "events.log"
    data = events.read_bytes()
    events.write_bytes(data + b'[[999,"h",10,1.0,{"a":')  # torn tail
    back = tracker.Api().run(run.id)
    assert len(back.history()) == 10
    assert back.read_report.torn_tail and back.read_report.skipped == 1


def test_a_dead_process_reads_as_crashed_before_its_service_says_so(tracker_env):
    run = tracker.init()
    run.finish()
    import orjson

    info = orjson.loads((run.path / "run.json").read_bytes())
    info["state"] = "running"
    info["pid"] = 2**22 + 12345  # no such process
    (run.path / "run.json").write_bytes(orjson.dumps(info))
    assert tracker.Api().run(run.id).state == "crashed"
