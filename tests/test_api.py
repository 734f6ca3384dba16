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


def sweep(project: str = "sweep") -> list:
    """3 learning rates x 2 seeds, each a finished run with config, groups, tags and two metrics."""
    runs = []
    for lr in (0.1, 0.03, 0.01):
        for seed in range(2):
            run = tracker.init(project=project, group=f"lr={lr}", config={"lr": lr, "seed": seed, "opt": {"name": "adam"}},
                               tags=["sweep", f"seed{seed}"], job_type="train" if seed == 0 else "eval")
            tracker.define_metric("val/acc", summary="max")
            for step in range(20):
                run.log({"train/loss": 1.0 / (step + 1) + lr, "val/acc": lr * 10 - abs(step - 10) / 100 + seed / 1000})
            run.finish()
            runs.append(run)
    return runs


def test_runs_filters_order_and_notes(tracker_env):
    made = sweep()
    api = tracker.Api()
    by_lr = {r.id: r.config["lr"] for r in made}
    small = api.runs("sweep", filters={"config.lr": {"$lt": 0.05}})
    assert sorted(by_lr[r.id] for r in small) == [0.01, 0.01, 0.03, 0.03] and small.notes == []
    best = api.runs("me/sweep", order="-summary_metrics.val/acc")  # wandb's entity/project path
    values = [r.summary["val/acc"] for r in best]
    assert values == sorted(values, reverse=True) and len(best) == 6
    assert [r.id for r in api.runs(project="sweep", order="+summary.val/acc")] == [r.id for r in reversed(best)]
    assert {r.config["seed"] for r in api.runs(group="lr=0.1")} == {0, 1}
    assert len(api.runs(tags=["sweep", "seed1"])) == 3
    assert len(api.runs(filters={"$or": [{"job_type": "eval"}, {"config.opt.name": "sgd"}]})) == 3
    assert len(api.runs(state=["finished", "crashed"])) == 6
    assert [r.name for r in api.runs(filters={"display_name": made[0].name})] == [made[0].name]
    nothing = api.runs("sweep", filters={"config.lr2": {"$gt": 0}})
    assert list(nothing) == [] and nothing.notes == ["no run of project 'sweep' has config key 'lr2'"]
    unknown = api.runs("nope")
    assert list(unknown) == [] and "no runs in project 'nope'" in unknown.notes[0]
    with pytest.raises(ValueError, match="invalid operator '\\$lessthan'"):
        api.runs(filters={"config.lr": {"$lessthan": 1}})
    with pytest.raises(ValueError, match="two projects"):
        api.runs("a/sweep", project="other")
    groups = api.runs("sweep").group_by("lr")
    assert sorted(groups) == [0.01, 0.03, 0.1] and all(len(g) == 2 for g in groups.values())
    assert api.run(f"me/sweep/{made[0].id}").id == made[0].id


def test_columns_history_samples_and_scan(tracker_env):
    import numpy as np

    run = tracker.init()
    for i in range(5000):
        row = {"loss": float(np.sin(i / 100)), "step_int": i}
        if i % 10 == 0:
            row["val"] = float(i)
        if i == 2500:
            row["loss"] = float("inf")
        run.log(row)
    run.finish()
    back = tracker.Api().run(run.id)
    columns = back.columns()
    assert list(columns) == ["loss", "step_int", "val"]
    assert set(columns["loss"]) == {"step", "timestamp", "value"}
    assert columns["loss"]["step"].dtype == np.int64 and len(columns["loss"]["value"]) == 5000
    assert columns["val"]["step"].tolist() == list(range(0, 5000, 10))
    few = back.columns(["loss", "missing"], samples=100, min_step=1000, max_step=3999)
    assert len(few["loss"]["value"]) <= 100 and few["missing"]["value"].size == 0
    assert few["loss"]["step"][0] == 1000 and few["loss"]["step"][-1] == 3999 and np.isinf(few["loss"]["value"]).any()
    rows = back.history(keys=["val"], samples=50)
    assert 2 <= len(rows) <= 50 and all(set(r) == {"_step", "_timestamp", "val"} for r in rows)
    seventh = back.history(keys=["step_int"], samples=None)[7]
    assert set(seventh) == {"_step", "_timestamp", "step_int"} and seventh["_step"] == 7
    assert seventh["step_int"] == 7 and type(seventh["step_int"]) is int  # logged as integers, read as integers
    scanned = list(back.scan_history(keys=["val"], page_size=64, min_step=100, max_step=199))
    assert [r["_step"] for r in scanned] == list(range(100, 200, 10))
    assert len(list(back.scan_history())) == 5000


def test_runs_columns_builds_cold_caches_in_parallel_and_reads_them(tracker_env):
    import numpy as np

    made = []
    for seed in range(3):
        run = tracker.init(project="cmp", config={"seed": seed})
        for i in range(3000):
            run.log({"loss": float(i * (seed + 1)), "acc": i % 7})
        run.finish()
        made.append(run)
    assert not any((run.path / "cache").exists() for run in made)
    found = tracker.Api().runs("cmp")
    data = found.columns(["loss", "acc"], samples=100)
    assert all((run.path / "cache" / "columns.json").exists() for run in made)  # built by the worker processes
    assert set(data) == {run.id for run in made}
    for run in found:
        again = tracker.Api().run(run.id).columns(["loss", "acc"], samples=100)
        for key in ("loss", "acc"):
            np.testing.assert_array_equal(data[run.id][key]["value"], again[key]["value"])
            np.testing.assert_array_equal(data[run.id][key]["step"], again[key]["step"])


def test_a_finished_run_lists_from_its_summary_file_until_its_log_grows(tracker_env):
    """A finished run's summary, config and steps come from summary.json (no replay, no
    read cache built); an append to the log after it (a resume) makes the log the truth again."""
    run = tracker.init(id="fin1", config={"lr": 0.1, "opt": {"name": "adam"}, "bad": float("nan")})
    tracker.define_metric("acc", summary="max")
    for i in range(5):
        run.log({"loss": 1.0 / (i + 1), "acc": [0.5, 0.9, 0.7, 0.6, 0.8][i], "inf": float("inf")})
    run.summary["note"] = "kept"
    run.finish()
    back = tracker.Api().run("fin1")
    assert back.brief() == {"steps": 5, "summary": back.summary}
    assert back.summary["acc"] == 0.9 and back.summary["note"] == "kept" and back.summary["inf"] == float("inf")
    assert back.config["opt"] == {"name": "adam"} and back.config["bad"] != back.config["bad"]  # NaN kept
    assert not (run.path / "cache").exists()  # answered without building the read cache
    replayed = tracker.Api().run("fin1")
    replayed._final_read, replayed._final_data = True, None  # the replay path, for comparison
    assert replayed.brief()["steps"] == 5 and replayed.summary.keys() == back.summary.keys()
    assert replayed.config.keys() == back.config.keys()

    again = tracker.init(id="fin1", resume="must")
    again.log({"loss": 0.01, "acc": 0.95})
    again._writer.drain()
    live = tracker.Api().run("fin1")
    assert live.state == "running" and live.brief()["steps"] == 6 and live.summary["acc"] == 0.95
    again.finish()
    assert tracker.Api().run("fin1").brief()["steps"] == 6


def test_a_summary_file_that_no_longer_matches_the_log_is_not_believed(tracker_env):
    from jupyter_tracker import records, rundir

    run = tracker.init(id="fin2")
    run.log({"a": 1.0})
    run.finish()
    assert rundir.read_final(run.path) is not None
    # a record appended after finish (as a summary update on a finished run does)
    seq = tracker.Api().run("fin2")._snapshot().last_seq
    records.append_records(run.path / "events.log", [[0, "s", time.time(), {"set": {"a": 7.0}}]], seq=seq)
    assert rundir.read_final(run.path) is None
    assert tracker.Api().run("fin2").summary["a"] == 7.0


def test_history_reads_500_samples_by_default_as_wandb_does(tracker_env):
    run = tracker.init(project="samples")
    for i in range(5000):
        run.log({"loss": float(i % 97)})
    run.finish()
    back = tracker.Api().run(run.id)
    rows = back.history()
    assert 2 <= len(rows) <= 500 and rows[0]["_step"] == 0 and rows[-1]["_step"] == 4999
    assert max(r["loss"] for r in rows) == 96.0  # min/max decimation keeps the extremes
    assert len(back.history(samples=None)) == len(list(back.scan_history())) == 5000
