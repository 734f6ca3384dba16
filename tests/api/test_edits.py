"""Changing a finished run read back: its summary and config, locally (new records in its log)
and on a real server (the next batch of its events), as wandb's Api does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records
from tests.server.conftest import backend, databases, server, spawn_module  # noqa: F401 - fixtures


def _finished_run(**init):
    run = tracker.init(project="edits", config={"lr": 0.1}, **init)
    for i in range(3):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish()
    return run


def test_local_summary_and_config_updates_append_records(tracker_env):
    run = _finished_run(mode="offline")
    before = (run.path / "events.log").read_bytes()
    read = tracker.Api().run(f"someone/edits/{run.id}")
    read.summary.update({"best": 0.25})
    read.config.update(note="tuned")
    read.summary["loss"] = 7.0
    del read.summary["best"]
    assert read.summary == {"loss": 7.0}  # pending until update()
    assert tracker.Api().run(run.id).summary == {"loss": 1 / 3, "best": 0.25}  # written by update()
    read.update()
    after = (run.path / "events.log").read_bytes()
    assert after.startswith(before)  # appended, never rewritten
    kinds = [r[1] for r in records.read_log(run.path / "events.log")]
    assert kinds[-3:] == ["s", "c", "s"]
    out = subprocess.run([sys.executable, "-c", f"import tracker; r = tracker.Api().run({run.id!r}); "
                          "print(r.summary, r.config)"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "{'loss': 7.0} {'lr': 0.1, 'note': 'tuned'}"
    assert tracker.Api().runs(project="edits", filters={"config.note": "tuned"})[0].id == run.id


def test_usage_errors_and_a_live_run(tracker_env):
    run = tracker.init(project="edits")
    run.log({"loss": 1.0})
    read = tracker.Api().run(run.id)
    with pytest.raises(RuntimeError, match=f"run {run.id} is being recorded by process {os.getpid()}"):
        read.summary.update({"x": 1})
    run.finish()
    read = tracker.Api().run(run.id)
    with pytest.raises(TypeError, match="config keys cannot be removed"):
        del read.config["x"]
    with pytest.raises(ValueError, match="empty metric key"):
        read.summary[""] = 1
    with pytest.raises(TypeError, match="takes a dict"):
        read.summary.update([1, 2])


@pytest.mark.server
def test_a_server_run_takes_the_change_as_its_next_records(server, monkeypatch):  # noqa: F811
    host = f"http://127.0.0.1:{server.port}"
    monkeypatch.setenv("TRACKER_HOST", host)
    monkeypatch.setenv("TRACKER_API_KEY", server.token)
    run = _finished_run(mode="offline")
    assert subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", str(run.path)],
                          capture_output=True, timeout=120).returncode == 0
    api = tracker.Api(host=host, api_key=server.token)
    read = api.run(f"e/edits/{run.id}")
    hwm = read.acknowledged["events"]
    read.summary.update({"best": 0.5})
    read.config["note"] = "server"
    read.update()
    again = api.run(run.id)
    assert again.summary == {"loss": 1 / 3, "best": 0.5} and again.config == {"lr": 0.1, "note": "server"}
    assert again.acknowledged["events"] == hwm + 2
