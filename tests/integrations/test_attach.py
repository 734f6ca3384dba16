"""The run a callback records into (integrations/attach.py), with real runs and no framework."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker.integrations.attach import Attachment


def defines(run) -> None:
    run.define_metric("train/*", step_metric="train/step")


def test_a_run_started_by_the_user_is_used_and_left_open(tracker_env):
    run = tracker.init(project="mine", config={"lr": 0.1})
    attach = Attachment("cb", {"project": "ignored"}, "default", defines)
    assert attach.start({"lr": 0.2, "layers": 2}) is run and not attach.started
    assert run.config.as_dict() == {"lr": 0.2, "layers": 2}  # the framework's config goes in (as wandb does)
    attach.start()
    attach.log({"train/loss": 1.0})
    attach.finish()
    assert run.state == "running" and tracker.current() is run
    run.finish()
    (read,) = tracker.Api().runs()
    assert read.project == "mine" and read.metrics == [
        {"name": "train/*", "step_metric": "train/step", "summary": None, "hidden": False}]  # set up once


def test_a_run_it_starts_is_finished_and_resumed_when_used_again(tracker_env):
    attach = Attachment("cb", {"name": "n", "config": {"lr": 0.1}}, "default-project", defines)
    run = attach.start({"lr": 0.5, "batch": 8}, project=None, name="framework-name")
    assert attach.started and run.project == "default-project" and run.name == "n"
    assert run.config.as_dict() == {"lr": 0.1, "batch": 8}  # the user's config= wins
    attach.log({"train/loss": 1.0})
    attach.finish()
    assert run.state == "finished" and tracker.current() is None
    attach.log({"eval/loss": 0.5})  # e.g. trainer.evaluate() after train(): the same run, resumed
    assert attach.run.id == run.id and attach.run.state == "running"
    attach.finish()
    (read,) = tracker.Api().runs()
    assert read.state == "finished" and read.info["resumes"] == 1
    assert [r.get("train/loss", r.get("eval/loss")) for r in read.history()] == [1.0, 0.5]
    assert len(read.metrics) == 1


def test_the_project_comes_from_the_framework_then_the_environment(tracker_env, monkeypatch):
    assert Attachment("cb", {}, "default").start(project="from-framework").project == "from-framework"
    tracker.finish()
    monkeypatch.setenv("TRACKER_PROJECT", "from-env")
    assert Attachment("cb", {}, "default").start().project == "from-env"
    tracker.finish()
    assert Attachment("cb", {"project": "given"}, "default").start(project="from-framework").project == "given"


def test_usage_errors_raise_before_training(tracker_env):
    with pytest.raises(TypeError, match="tracker.init\\(\\) has no argument 'projct'"):
        Attachment("MyCallback", {"projct": "x"})
    with pytest.raises(TypeError, match="project"):
        Attachment("cb", {"project": 3}).start()
    with pytest.raises(ValueError, match="mode"):
        Attachment("cb", {"mode": "sometimes"}).start()


def test_a_tracker_that_cannot_write_never_stops_training(tracker_env, monkeypatch, caplog):
    blocker = tracker_env.parent / "not-a-folder"
    blocker.write_text("a file where the run folder should be")
    monkeypatch.setenv("TRACKER_DIR", str(blocker))
    attach = Attachment("MyCallback", {}, "p")
    with caplog.at_level(logging.DEBUG, logger="jupyter_tracker.integrations"):
        assert attach.start({"lr": 1}) is None
        attach.log({"loss": 1.0})  # nothing to record into: nothing happens, nothing raises
        attach.summarize({"best": 1.0})
        attach.finish()
    (record,) = caplog.records  # said once
    assert record.levelno == logging.WARNING
    assert "MyCallback: cannot start a run" in record.getMessage() and "training goes on" in record.getMessage()


def test_silent_mode_keeps_that_message_out_of_every_output(tracker_env, monkeypatch, caplog, capfd):
    blocker = tracker_env.parent / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("TRACKER_DIR", str(blocker))
    monkeypatch.setenv("TRACKER_SILENT", "true")
    with caplog.at_level(logging.DEBUG, logger="jupyter_tracker.integrations"):
        assert Attachment("cb").start() is None
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert capfd.readouterr() == ("", "")


def test_refused_keys_are_named_and_the_others_logged(tracker_env, capfd):
    attach = Attachment("MyCallback", {"project": "p"})
    run = attach.start()
    attach.log({"_runtime": 3.0, "loss": 1.0})  # a reserved key, as some frameworks would send
    attach.log({"_runtime": 4.0, "loss": 2.0})
    attach.add_config(run, {"small": 1, "huge": "x" * (2 << 20)})
    attach.finish()
    err = capfd.readouterr().err
    assert err.count("MyCallback: log() refused '_runtime'") == 1  # once per kind
    assert "config keys not recorded: 'huge'" in err
    (read,) = tracker.Api().runs()
    assert [r["loss"] for r in read.history()] == [1.0, 2.0]
    assert read.config == {"small": 1}


def test_a_run_finished_under_the_callback_is_reported_not_raised(tracker_env, caplog):
    attach = Attachment("MyCallback", {"project": "p"})
    run = attach.start()
    run.finish()
    with caplog.at_level(logging.DEBUG, logger="jupyter_tracker.integrations"):
        attach.call("log", run.log, {"loss": 1.0})  # a call on the finished run itself
        attach.call("log", run.log, {"loss": 2.0})
    # once, through logging: the finished run's own channel is closed
    (record,) = caplog.records
    assert "MyCallback: log failed (ValueError: log() called after run" in record.getMessage()


def test_copies_carry_the_settings_not_the_run(tracker_env):
    attach = Attachment("cb", {"project": "p", "config": {"a": [1]}}, "d", defines)
    run = attach.start()
    clone = copy.deepcopy(attach)  # scikit-learn's clone() does this to callbacks
    assert clone.run is None and not clone.started and clone.init_kwargs == attach.init_kwargs
    assert attach.run is run
    attach.finish()
    second = clone.start()
    assert second.id != run.id and Path(second.dir).is_dir()


def test_the_project_falls_back_to_wandb_project(tracker_env, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb")
    assert Attachment("cb", {}, "fw").start().project == "from-wandb"
