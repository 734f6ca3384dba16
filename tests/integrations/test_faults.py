"""A tracker that cannot record never stops training: every framework, for real, in one process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .frameworks import SCRIPTS, TIMEOUT, env_for, framework_log, tracker_lines

pytestmark = pytest.mark.integration

SCRIPTS_AND_OWNERS = {
    "transformers_train.py": "TrackerCallback (transformers)",
    "lightning_train.py": "TrackerLogger (lightning)",
    "keras_train.py": "MetricsLogger (keras)",
    "xgboost_train.py": "TrackerCallback (xgboost)",
    "lightgbm_train.py": "tracker_callback (lightgbm)",
}
EVERY_SCRIPT = "import runpy, sys\nfor path in sys.argv[1:]:\n    runpy.run_path(path, run_name='__main__')\n"


def test_no_framework_stops_when_the_tracker_cannot_write(tmp_path, tracker_env):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run folders should go")
    env = {**os.environ, **env_for({"TRACKER_DIR": str(blocker)})}
    paths = [str(SCRIPTS / name) for name in SCRIPTS_AND_OWNERS]
    proc = subprocess.run([sys.executable, "-c", EVERY_SCRIPT, *paths], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT * 2)
    assert proc.returncode == 0, proc.stderr[-4000:]
    said = "\n".join(tracker_lines(proc.stderr))
    for owner in SCRIPTS_AND_OWNERS.values():
        assert f"tracker: {owner}: cannot start a run (FileExistsError" in said, owner
        twice = owner.endswith(("(transformers)", "(xgboost)"))  # these scripts train twice
        assert said.count(f"{owner}: cannot start") == (2 if twice else 1), said  # once per callback
    # training went to the end: each framework's own record of it is complete
    assert len(framework_log(tmp_path, "keras_train.py")["history"]["loss"]) == 3
    assert framework_log(tmp_path, "xgboost_train.py")["best_iteration"] > 0
    assert framework_log(tmp_path, "lightgbm_train.py")["best_iteration"] > 0
    assert "test_loss" in framework_log(tmp_path, "lightning_train.py")["test"]
    assert any("train_runtime" in h for h in framework_log(tmp_path, "transformers_train.py")["log_history"])
