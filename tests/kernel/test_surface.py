"""wandb's Run surface beyond metrics: url, entity, alert, mark_preempting, log_code; log() and save() alone."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records, rundir


def alert_records(run) -> list[dict]:
    out = []
    for line in (run.path / "events.log").read_bytes().splitlines():
        for record in records.decode_line(line):
            if record[1] == records.ALERT:
                out.append(record[3])
    return out


def test_log_without_data_commits_the_step(tracker_env):
    run = tracker.init()
    tracker.log({"a": 1.0}, commit=False)
    tracker.log({"b": 2.0}, commit=False)
    tracker.log()
    tracker.log({"a": 3.0})
    run.log()
    assert run.step == 3
    run.finish()
    rows = tracker.Api().run(run.id).history()
    assert [(r["_step"], r.get("a"), r.get("b")) for r in rows] == [(0, 1.0, 2.0), (1, 3.0, None)]


def test_save_without_arguments_is_a_no_op_returning_true(tracker_env):
    run = tracker.init()
    assert run.save() is True and tracker.save() is True
    assert not (run.path / "files").exists() or not any((run.path / "files").iterdir())


def test_url_offline_is_the_run_directory(tracker_env):
    run = tracker.init()
    assert run.url == run.path.resolve().as_uri() and run.url.startswith("file://")


def test_url_online_is_the_servers_address_of_the_run(tracker_env, monkeypatch):
    monkeypatch.setenv("TRACKER_HOST", "http://127.0.0.1:9/")
    monkeypatch.setenv("TRACKER_API_KEY", "t")
    run = tracker.init(mode="online")
    assert run.url == f"http://127.0.0.1:9/api/v1/runs/{run.id}"


def test_alert_is_recorded_and_shown_in_the_status_line(tracker_env):
    run = tracker.init()
    shown = []
    run._notices.sink = shown.append  # where the live panel's status line listens
    run.alert("loss diverged", "loss is nan at step 3", level=tracker.AlertLevel.ERROR)
    tracker.alert("slow", "an epoch took 2 h", "warning")
    run.finish()
    assert alert_records(run) == [
        {"title": "loss diverged", "text": "loss is nan at step 3", "level": "ERROR"},
        {"title": "slow", "text": "an epoch took 2 h", "level": "WARN"},
    ]
    assert shown == ["alert (ERROR): loss diverged: loss is nan at step 3", "alert (WARN): slow: an epoch took 2 h"]


def test_alert_in_a_script_is_one_line_on_stderr(tracker_env, capfd):
    run = tracker.init()
    capfd.readouterr()
    run.alert("done", "accuracy 0.9")
    assert capfd.readouterr().err == "tracker: alert (INFO): done: accuracy 0.9\n"


@pytest.mark.parametrize("args, error, match", [
    ((1, "t"), TypeError, "alert\\(title=...\\) must be a string"),
    (("t", None), TypeError, "alert\\(text=...\\) must be a string"),
    (("t", "x", "LOUD"), ValueError, "alert\\(level='LOUD'\\): use one of INFO, WARN, ERROR"),
    (("t" * 2000, "x"), ValueError, "alert\\(title=...\\)"),
])
def test_bad_alerts_are_named(tracker_env, args, error, match):
    run = tracker.init()
    with pytest.raises(error, match=match):
        run.alert(*args)
    run.finish()
    assert alert_records(run) == []


def test_alert_without_a_run_says_so(tracker_env):
    with pytest.raises(RuntimeError, match="tracker.alert\\(\\): no active run"):
        tracker.alert("a", "b")


def test_mark_preempting_is_kept_in_run_json(tracker_env):
    run = tracker.init()
    tracker.mark_preempting()
    assert rundir.read_info(run.path)["preempting"] is True


def test_log_code_copies_the_sources(tracker_env, tmp_path):
    src = tmp_path / "project"
    (src / "pkg").mkdir(parents=True)
    (src / "train.py").write_text("print(1)\n")
    (src / "pkg" / "model.py").write_text("x = 1\n")
    (src / "notes.txt").write_text("not code\n")
    (src / ".git").mkdir()
    (src / ".git" / "hook.py").write_text("hidden\n")
    (src / "venv").mkdir()
    (src / "venv" / "lib.py").write_text("a venv\n")
    run = tracker.init()
    saved = run.log_code(str(src))
    assert saved == ["code/train.py", "code/pkg/model.py"]
    assert (run.path / "files" / "code" / "pkg" / "model.py").read_text() == "x = 1\n"
    only = run.log_code(str(src), include_fn=lambda path, root: path.endswith(".txt"))
    assert only == ["code/notes.txt"]
    none = tracker.log_code(str(src), exclude_fn=lambda path, root: True)
    assert none == []
    run.finish()
    saved_files = [r[3]["path"] for line in (run.path / "events.log").read_bytes().splitlines()
                   for r in records.decode_line(line) if r[1] == records.FILE]
    assert saved_files == ["code/train.py", "code/pkg/model.py", "code/notes.txt"]  # recorded: synced as files
    with pytest.raises(ValueError, match="not a folder"):
        tracker.init().log_code(str(src / "nope"))


def test_a_disabled_run_has_the_same_surface(tracker_env):
    run = tracker.init(mode="disabled", entity="e")
    assert run.save() is True and run.url is None and run.entity == "e"
    run.alert("a", "b")
    run.mark_preempting()
    assert run.log_code() == []
    with pytest.raises(ValueError, match="level"):
        run.alert("a", "b", level="LOUD")


def test_define_metric_accepts_wandbs_goal(tracker_env):
    run = tracker.init()
    tracker.define_metric("val/loss", summary="min", goal="minimize", step_sync=True, overwrite=False)
    with pytest.raises(ValueError, match="goal='lowest'"):
        run.define_metric("val/loss", goal="lowest")
    run.log({"val/loss": 2.0})
    run.log({"val/loss": 1.0})
    run.log({"val/loss": 3.0})
    assert run.summary["val/loss"] == 1.0


def test_get_url_is_url(tracker_env):
    run = tracker.init()
    assert run.get_url() == run.url and not run.resumed


def test_the_api_reads_a_run_from_its_path(tracker_env):
    run = tracker.init(id="job-12")  # an id with a dash: found from run.json, not the folder's name
    run.log({"a": 1.0})
    run.finish()
    assert tracker.Api().run(run.path).id == "job-12"
    assert tracker.Api().run(f"{run.entity}/{run.project}/{run.id}").id == "job-12"


def test_log_a_matplotlib_figure_or_pyplot_itself(tracker_env):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = tracker.init()
    figure, axes = plt.subplots(figsize=(2, 2), dpi=50)
    axes.plot([1, 2])
    run.log({"figure": figure})
    plt.figure(figsize=(3, 2), dpi=50)
    plt.plot([3, 1])
    tracker.log({"current": plt, "loss": 0.5})  # wandb's log({"chart": plt}): the current figure
    run.finish()
    plt.close("all")
    back = tracker.Api().run(run.id)
    assert back.media("figure").size == (100, 100)
    assert back.media("current").size == (150, 100)
    assert back.history(keys=["loss"])[0]["loss"] == 0.5
