"""The Lightning logger with a real Trainer (fit + test of a tiny module), in a script and in a kernel,
for lightning.pytorch and the older pytorch_lightning package."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker as tracker

from .frameworks import framework_log, panel_charts, run, shows_panel, steps

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("flavour, mode", [
    ("lightning", "script"),
    pytest.param("lightning", "kernel", marks=pytest.mark.kernel),
    ("pytorch_lightning", "script"),
])
def test_fit_and_test_are_one_run(flavour, mode, tmp_path, tracker_env):
    out = run(mode, "lightning_train.py", tmp_path, env={"FLAVOUR": flavour})
    own = framework_log(tmp_path, "lightning_train.py")
    (run_,) = tracker.Api().runs(project="pl")
    assert run_.state == "finished" and run_.id == own["version"]
    assert run_.info.get("resumes") == 1  # test() after fit() resumed the run finalize() had finished
    assert run_.config == {"data": "synthetic", "lr": 0.05, "hidden": 8}  # save_hyperparameters() + init config
    checkpoints = tmp_path / "pl_out" / "pl" / run_.id / "checkpoints"  # <default_root_dir>/<project>/<run id>
    assert tmp_path / own["checkpoint_dir"] == checkpoints and list(checkpoints.glob("*.ckpt"))

    rows = run_.history()
    assert steps(rows) == list(range(len(rows)))
    step_rows = [r for r in rows if "train_loss_step" in r]
    assert [r["trainer/global_step"] for r in step_rows] == list(range(12))  # 3 epochs x 4 batches
    assert [r["epoch"] for r in step_rows] == [0] * 4 + [1] * 4 + [2] * 4
    assert [r["trainer/global_step"] for r in rows if "val_loss" in r] == [3, 7, 11]
    assert len([r for r in rows if "train_loss_epoch" in r]) == 3
    assert [r["trainer/global_step"] for r in rows if "test_loss" in r] == [12]

    summary = run_.summary
    for key in ("val_loss", "train_loss_epoch", "train_loss_step"):
        assert summary[key] == pytest.approx(own["fit"][key], rel=1e-6), key
    assert summary["test_loss"] == pytest.approx(own["test"]["test_loss"], rel=1e-6)
    step_metrics = {m["name"]: m["step_metric"] for m in run_.metrics}
    assert all(step_metrics[k] == "trainer/global_step" for k in ("val_loss", "train_loss_step", "test_loss", "epoch"))
    assert Path(run_.dir).is_dir()

    if mode == "kernel":
        assert shows_panel(out)
        assert {"train_loss_step", "val_loss"} <= panel_charts(out)


def test_checkpoints_become_model_artifact_versions(tmp_path, tracker_env):
    """log_checkpoints=True with a real Trainer: each checkpoint Lightning saved is a version of
    ``model-<run id>``, and the latest downloads to the bytes of the checkpoint on disk."""
    run(mode="script", name="lightning_train.py", cwd=tmp_path, env={"LOG_CHECKPOINTS": "1"})
    (run_,) = tracker.Api().runs(project="pl")
    from jupyter_tracker.api.artifact_store import versions

    found = versions(tracker_env, "pl", f"model-{run_.id}")
    assert len(found) == 3 and all(v.type == "model" and v.files == 1 for v in found)  # one per epoch
    assert found[-1].aliases == ["latest"]
    (checkpoint,) = (tmp_path / "pl_out" / "pl" / run_.id / "checkpoints").glob("*.ckpt")
    with tracker.init(project="pl") as reader:
        art = reader.use_artifact(f"model-{run_.id}:latest")
        (name,) = art.files()
        assert name == checkpoint.name
        assert (Path(art.download(tmp_path / "got")) / name).read_bytes() == checkpoint.read_bytes()
