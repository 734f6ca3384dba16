"""The LightGBM callback and log_summary() with real training, in a script and in a kernel."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker

from .frameworks import framework_log, panel_charts, run, shows_panel, steps

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["script", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_training_and_summary_are_recorded(mode, tmp_path, tracker_env):
    out = run(mode, "lightgbm_train.py", tmp_path)
    own = framework_log(tmp_path, "lightgbm_train.py")
    recorded = own["recorded"]
    (run_,) = tracker.Api().runs(project="lgb")
    assert run_.state == "finished"  # log_summary() finished the run the callback started
    assert run_.config["objective"] == "binary" and run_.config["num_leaves"] == 4
    assert run_.config["metric"] == ["binary_logloss", "auc"]

    rows = run_.history()
    assert steps(rows) == list(range(len(rows)))
    rounds = len(recorded["valid"]["auc"])
    assert [r["iteration"] for r in rows] == list(range(1, rounds + 1))
    for data in ("train", "valid"):
        for metric in ("binary_logloss", "auc"):
            assert [r[f"{data}/{metric}"] for r in rows] == pytest.approx(recorded[data][metric]), (data, metric)

    summary = run_.summary
    assert summary["best_iteration"] == own["best_iteration"] < rounds  # early stopping happened
    for data, scores in own["best_score"].items():
        for metric, value in scores.items():
            assert summary[f"best_score/{data}/{metric}"] == pytest.approx(value)
    assert summary["valid/auc"] == pytest.approx(max(recorded["valid"]["auc"]))
    assert summary["valid/binary_logloss"] == pytest.approx(min(recorded["valid"]["binary_logloss"]))
    best_row = rows[own["best_iteration"] - 1]  # iterations count from 1, like best_iteration
    assert best_row["valid/auc"] == pytest.approx(own["best_score"]["valid"]["auc"])

    importance = run_.media("feature_importance", pandas=True)  # log_summary's table, read back
    assert list(importance.columns) == ["feature", "split", "gain"]
    assert sorted(importance["feature"]) == [f"Column_{i}" for i in range(5)]
    assert importance["feature"].iloc[0] == "Column_0"  # the feature y depends on most
    assert list(importance["gain"]) == sorted(importance["gain"], reverse=True)

    if mode == "kernel":
        assert shows_panel(out)
        assert {"valid/auc", "train/binary_logloss"} <= panel_charts(out)
