"""The XGBoost callback with real training (native and scikit-learn interfaces), in a script and in a
kernel, and in silent mode."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker

from .frameworks import framework_log, panel_charts, run, run_in_kernel, run_script, shows_panel, steps, tracker_lines
from tests.e2e.kernels import outputs

pytestmark = pytest.mark.integration


def check_runs(tmp_path) -> None:
    own = framework_log(tmp_path, "xgboost_train.py")
    evals = own["evals_result"]
    (run_,) = tracker.Api().runs(project="xgb")
    assert run_.state == "finished"
    learner = run_.config["learner"]  # the booster's save_config()
    assert learner["objective"]["name"] == "binary:logistic"
    assert learner["gradient_booster"]["tree_train_param"]["max_depth"] == "2"

    rows = run_.history()
    assert steps(rows) == list(range(len(rows)))
    rounds = len(evals["valid"]["auc"])
    assert [r["iteration"] for r in rows] == list(range(rounds))
    for data in ("train", "valid"):
        for metric in ("logloss", "auc"):
            assert [r[f"{data}/{metric}"] for r in rows] == pytest.approx(evals[data][metric]), (data, metric)

    summary = run_.summary
    assert summary["best_iteration"] == own["best_iteration"] < rounds - 1  # early stopping happened
    assert summary["best_score"] == pytest.approx(own["best_score"])
    assert summary["valid/logloss"] == pytest.approx(min(evals["valid"]["logloss"]))  # a min summary
    assert summary["valid/auc"] == pytest.approx(max(evals["valid"]["auc"]))  # a max summary
    specs = {m["name"]: m for m in run_.metrics}
    assert specs["valid/auc"]["summary"] == "max" and specs["train/logloss"]["summary"] == "min"
    assert specs["valid/auc"]["step_metric"] == "iteration"

    (sk,) = tracker.Api().runs(project="xgb-sk")  # XGBClassifier(callbacks=[...]), then clone()
    assert sk.state == "finished" and sk.name == "sklearn"
    assert [r["iteration"] for r in sk.history()] == [0, 1, 2, 3]
    assert "validation_0/logloss" in sk.summary


@pytest.mark.parametrize("mode", ["script", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_training_is_recorded(mode, tmp_path, tracker_env):
    out = run(mode, "xgboost_train.py", tmp_path)
    check_runs(tmp_path)
    if mode == "kernel":
        assert shows_panel(out)
        assert {"valid/auc", "train/logloss"} <= panel_charts(out)
    else:
        assert len(tracker_lines(out.stderr)) == 2  # one banner line per run, nothing else


@pytest.mark.kernel
def test_silent_mode_leaves_the_cell_empty(tmp_path, tracker_env):
    nb = run_in_kernel("xgboost_train.py", tmp_path, env={"TRACKER_SILENT": "true"})
    assert outputs(nb) == [[]]
    check_runs(tmp_path)


def test_silent_script_prints_nothing_of_ours(tmp_path, tracker_env):
    proc = run_script("xgboost_train.py", tmp_path, env={"TRACKER_SILENT": "true"})
    assert not tracker_lines(proc.stderr) and not proc.stdout
    check_runs(tmp_path)
