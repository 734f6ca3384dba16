"""The module surface: ``tracker.run`` is the current run, ``dir(tracker)`` the public API only."""

from __future__ import annotations

import importlib
import subprocess
import sys

import jupyter_tracker as tracker


def test_tracker_run_is_the_current_run(tracker_env):
    assert tracker.run is None
    run = tracker.init()
    assert tracker.run is run is tracker.current()
    tracker.run.finish()
    assert tracker.run is None


def test_nothing_shadows_tracker_run():
    assert importlib.util.find_spec("jupyter_tracker.run") is None
    assert "run" not in vars(tracker)  # computed on access, as wandb.run


def test_wandb_run_finish_in_a_script(tracker_env, tmp_path):
    script = "import tracker as wandb\nwandb.init(project='p')\nprint(wandb.run.name)\nwandb.run.finish()\nprint(wandb.run)\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    name, after = out.stdout.split()
    assert after == "None" and tracker.Api().runs()[0].name == name


def test_dir_shows_the_public_api_only():
    names = dir(tracker)
    assert names == sorted(tracker.__all__)
    for private in ("Any", "annotations", "kernel", "settings", "_active", "_Unbound"):
        assert private not in names
    for public in ("init", "log", "run", "Settings", "alert", "login", "Api", "config", "summary"):
        assert public in names
    for name in tracker.__all__:
        assert hasattr(tracker, name), name
