"""init()'s wandb keywords, tracker.Settings and the TRACKER_*/WANDB_* variables, on real runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from jupyter_tracker.kernel import session


def debug_log(run) -> str:
    return (run.path / "logs" / "debug.log").read_text()


def test_entity_is_kept_and_read_back(tracker_env):
    run = tracker.init(project="p", entity="team-a")
    assert run.entity == "team-a"
    run.finish()
    assert rundir.read_info(run.path)["entity"] == "team-a"
    resumed = tracker.init(id=run.id, resume="allow")
    assert resumed.entity == "team-a"  # kept across a resume
    resumed.finish()


def test_without_entity_it_is_the_login_name(tracker_env):
    import getpass

    run = tracker.init()
    assert run.entity == getpass.getuser()
    assert "entity" not in rundir.read_info(run.path)


@pytest.mark.parametrize("reinit", [None, True, False, "default", "finish_previous"])
def test_reinit_finishing_the_previous_run(tracker_env, reinit):
    first = tracker.init(name="first")
    second = tracker.init(name="second", reinit=reinit)
    assert first.state == "finished" and second.state == "running"
    assert tracker.run is second


def test_reinit_return_previous_gives_the_live_run_back(tracker_env):
    first = tracker.init(name="first", config={"a": 1})
    again = tracker.init(name="other", config={"a": 2}, reinit="return_previous")
    assert again is first and first.state == "running" and first.name == "first"
    first.finish()
    fresh = tracker.init(name="fresh", reinit="return_previous")  # nothing live: a new run
    assert fresh is not first and fresh.name == "fresh"


def test_reinit_create_new_leaves_the_previous_running(tracker_env):
    first = tracker.init(name="first")
    second = tracker.init(name="second", reinit="create_new")
    assert first.state == "running" and tracker.run is second
    first.log({"a": 1.0})
    second.log({"b": 2.0})
    second.finish()
    assert tracker.run is None and first.state == "running"
    session._finish_at_exit()  # what atexit does: the one left running is finished too
    assert first.state == "finished"
    assert tracker.Api().run(first.id).history(keys=["a"])[0]["a"] == 1.0


def test_create_new_runs_are_finished_when_the_script_ends(tracker_env, tmp_path):
    script = (
        "import tracker\n"
        "a = tracker.init(name='a'); a.log({'x': 1})\n"
        "b = tracker.init(name='b', reinit='create_new'); b.log({'y': 2})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, timeout=120)
    states = {r.name: r.state for r in tracker.Api().runs()}
    assert states == {"a": "finished", "b": "finished"}


def test_a_bad_reinit_is_named(tracker_env):
    with pytest.raises(ValueError, match="reinit='sometimes'"):
        tracker.init(reinit="sometimes")


def test_settings_fields_act_or_are_noted_once(tracker_env):
    settings = tracker.Settings(start_method="thread", _disable_stats=True, console="off", mode="offline",
                                run_name="from-settings", project="sp")
    run = tracker.init(settings=settings)
    assert run.name == "from-settings" and run.project == "sp" and run.mode == "offline"
    text = debug_log(run)
    for field in ("start_method='thread'", "_disable_stats=True", "console='off'"):
        assert text.count(field) == 1, field
    assert "accepted and has no effect" in text


def test_an_init_argument_wins_over_the_settings_field(tracker_env):
    run = tracker.init(name="arg", settings={"run_name": "setting"})
    assert run.name == "arg"


def test_settings_silent_makes_the_process_silent(tracker_env, monkeypatch, capfd):
    monkeypatch.setenv("TRACKER_SILENT", "")  # unset for tracker, and restored after the test
    run = tracker.init(settings=tracker.Settings(silent=True))
    run.alert("a", "b")
    run.finish()
    assert os.environ["TRACKER_SILENT"] == "true"
    assert capfd.readouterr() == ("", "")


def test_an_unknown_settings_field_is_named(tracker_env):
    with pytest.raises(TypeError, match="Settings\\(colour=...\\)"):
        tracker.Settings(colour="red")
    with pytest.raises(TypeError, match="tracker.Settings or a dict"):
        tracker.init(settings=42)


def test_settings_update_and_read(tracker_env):
    settings = tracker.Settings(mode="offline")
    settings.update(silent=False, console="wrap")
    assert settings.mode == "offline" and settings.console == "wrap" and settings.start_method is None
    with pytest.raises(TypeError, match="colour"):
        settings.update(colour=1)


@pytest.mark.parametrize("save_code, disabled_env, captured", [
    (None, None, True), (False, None, False), (True, "true", True), (None, "true", False),
])
def test_save_code(tracker_env, monkeypatch, save_code, disabled_env, captured):
    if disabled_env:
        monkeypatch.setenv("TRACKER_DISABLE_CODE", disabled_env)
    run = tracker.init(save_code=save_code)
    run.finish()
    assert ("program" in rundir.read_info(run.path)) is captured


def test_settings_disable_code_turns_capture_off(tracker_env):
    run = tracker.init(settings={"disable_code": True})
    run.finish()
    assert "program" not in rundir.read_info(run.path)


def test_config_include_and_exclude_keys(tracker_env):
    config = {"lr": 0.1, "batch": 32, "secret": "x"}
    run = tracker.init(config=config, config_exclude_keys=["secret"])
    assert dict(run.config) == {"lr": 0.1, "batch": 32}
    run = tracker.init(config=config, config_include_keys=["lr"])
    assert dict(run.config) == {"lr": 0.1}
    with pytest.raises(ValueError, match="not both"):
        tracker.init(config=config, config_include_keys=["lr"], config_exclude_keys=["batch"])
    with pytest.raises(TypeError, match="config_exclude_keys"):
        tracker.init(config=config, config_exclude_keys="secret")


def test_allow_val_change_lets_config_values_change_later(tracker_env):
    run = tracker.init(config={"lr": 0.1})
    with pytest.raises(ValueError, match="allow_val_change"):
        run.config.lr = 0.2
    run = tracker.init(config={"lr": 0.1}, allow_val_change=True)
    run.config.lr = 0.2
    run.finish()
    assert tracker.Api().run(run.id).config["lr"] == 0.2


@pytest.mark.parametrize("keyword, value", [
    ("anonymous", "allow"), ("magic", True), ("monitor_gym", True), ("force", False),
])
def test_meaningless_keywords_are_noted_in_debug_log(tracker_env, keyword, value):
    run = tracker.init(**{keyword: value})
    assert debug_log(run).count(f"init({keyword}={value!r}) is accepted and has no effect here") == 1


@pytest.mark.parametrize("keyword", ["sync_tensorboard", "tensorboard"])
def test_sync_tensorboard_says_how_to_import_instead(tracker_env, keyword, capfd):
    run = tracker.init(**{keyword: True})
    said = capfd.readouterr().err
    assert "tracker import tensorboard LOGDIR" in said
    assert "tracker import tensorboard LOGDIR" in debug_log(run)


@pytest.mark.parametrize("keyword", ["fork_from", "resume_from"])
def test_fork_from_and_resume_from_are_not_supported(tracker_env, keyword):
    with pytest.raises(NotImplementedError, match=f"init\\({keyword}=...\\).*docs/wandb.md"):
        tracker.init(**{keyword: "abc12345?_step=10"})
    assert tracker.run is None


def test_environment_variables_fill_init(tracker_env, monkeypatch):
    monkeypatch.setenv("TRACKER_RUN_ID", "envrun1")
    monkeypatch.setenv("TRACKER_NAME", "env-name")
    monkeypatch.setenv("TRACKER_RUN_GROUP", "g")
    monkeypatch.setenv("TRACKER_JOB_TYPE", "train")
    monkeypatch.setenv("TRACKER_TAGS", "a, b")
    monkeypatch.setenv("TRACKER_NOTES", "from the job script")
    monkeypatch.setenv("TRACKER_ENTITY", "lab")
    monkeypatch.setenv("TRACKER_PROJECT", "envp")
    run = tracker.init()
    assert (run.id, run.name, run.group, run.job_type, run.tags, run.notes, run.entity, run.project) == (
        "envrun1", "env-name", "g", "train", ["a", "b"], "from the job script", "lab", "envp")
    run = tracker.init(id="other", name="given", tags=["x"])  # arguments win over the environment
    assert (run.id, run.name, run.tags) == ("other", "given", ["x"])


def test_wandb_variables_are_fallbacks(tracker_env, monkeypatch):
    monkeypatch.setenv("WANDB_NAME", "wandb-name")
    monkeypatch.setenv("WANDB_PROJECT", "wp")
    monkeypatch.setenv("TRACKER_RUN_GROUP", "tracker-group")
    monkeypatch.setenv("WANDB_RUN_GROUP", "wandb-group")
    run = tracker.init()
    assert (run.name, run.project, run.group) == ("wandb-name", "wp", "tracker-group")


def test_wandb_run_id_then_resume_allow_is_one_run(tracker_env, monkeypatch):
    """The issue's cluster case: the same job script twice, the second with WANDB_RESUME=allow."""
    monkeypatch.setenv("WANDB_RUN_ID", "myrun1")
    run = tracker.init()
    run.log({"loss": 1.0})
    run.finish()
    monkeypatch.setenv("WANDB_RESUME", "allow")
    again = tracker.init()
    again.log({"loss": 0.5})
    again.finish()
    runs = tracker.Api().runs()
    assert [r.id for r in runs] == ["myrun1"]
    assert [row["loss"] for row in runs[0].history(keys=["loss"])] == [1.0, 0.5]


def test_bad_environment_values_name_the_variable(tracker_env, monkeypatch):
    monkeypatch.setenv("WANDB_RUN_ID", "no spaces allowed")
    with pytest.raises(ValueError, match="WANDB_RUN_ID"):
        tracker.init()
    monkeypatch.setenv("WANDB_RUN_ID", "fine")
    monkeypatch.setenv("TRACKER_RESUME", "perhaps")
    with pytest.raises(ValueError, match="TRACKER_RESUME='perhaps'"):
        tracker.init()
    monkeypatch.setenv("TRACKER_RESUME", "must")
    monkeypatch.delenv("WANDB_RUN_ID")
    with pytest.raises(ValueError, match="resume='must'"):
        tracker.init()


def test_wandb_mode_and_dir_are_fallbacks(tracker_env, monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKER_DIR")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "scratch"))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert tracker.init().mode == "disabled"
    monkeypatch.setenv("TRACKER_MODE", "offline")
    run = tracker.init()
    assert run.mode == "offline"
    assert run.path.parent == tmp_path / "scratch" / "tracker"


def test_resume_auto_means_allow(tracker_env):
    run = tracker.init(id="auto1", resume="auto")
    run.log({"a": 1})
    run.finish()
    again = tracker.init(id="auto1", resume="auto")
    assert again.resumed and again.step == 1
