"""The Keras 3 callback with a real fit (torch backend), in a script and in a kernel."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker

from .frameworks import framework_log, panel_charts, run, shows_panel, steps

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["script", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_fit_is_recorded_per_epoch_and_every_other_batch(mode, tmp_path, tracker_env):
    out = run(mode, "keras_train.py", tmp_path)
    own = framework_log(tmp_path, "keras_train.py")
    assert own["backend"] == "torch"
    (run_,) = tracker.Api().runs(project="keras")
    assert run_.state == "finished"
    config = run_.config
    assert config["seed"] == 0 and config["epochs"] == 3 and config["steps_per_epoch"] == 3
    assert config["optimizer"]["name"] == "sgd" and config["optimizer"]["learning_rate"] == pytest.approx(0.01)
    assert config["model/num_parameters"] == 4 * 8 + 8 + 8 + 1

    rows = run_.history()
    assert steps(rows) == list(range(len(rows)))
    epochs = [r for r in rows if "epoch/epoch" in r]
    assert [r["epoch/epoch"] for r in epochs] == [0, 1, 2]
    for name in ("loss", "mae", "val_loss", "val_mae"):
        assert [r[f"epoch/{name}"] for r in epochs] == pytest.approx(own["history"][name]), name
    assert all(r["epoch/learning_rate"] == pytest.approx(0.01) for r in epochs)
    # 3 epochs x 3 batches = steps 0..8, every other one logged
    assert [r["batch/batch_step"] for r in rows if "batch/batch_step" in r] == [0, 2, 4, 6, 8]

    summary = run_.summary
    assert summary["epoch/val_loss"] == pytest.approx(own["history"]["val_loss"][-1])
    assert summary["epoch/epoch"] == 2
    step_metrics = {m["name"]: m["step_metric"] for m in run_.metrics}
    assert step_metrics["epoch/*"] == "epoch/epoch" and step_metrics["batch/*"] == "batch/batch_step"

    if mode == "kernel":
        assert shows_panel(out)
        assert {"epoch/loss", "epoch/val_loss", "batch/loss"} <= panel_charts(out)
