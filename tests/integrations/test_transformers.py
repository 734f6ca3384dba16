"""The Transformers callback with a real Trainer (a tiny random BERT), in a script and in a kernel."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker

from .frameworks import framework_log, panel_charts, run, shows_panel, steps

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["script", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_trainer_run_is_recorded(mode, tmp_path, tracker_env):
    out = run(mode, "transformers_train.py", tmp_path)
    log_history = framework_log(tmp_path, "transformers_train.py")["log_history"]
    (run_,) = tracker.Api().runs(project="hf")
    assert run_.state == "finished" and run_.name == "tiny" and run_.tags == ["tiny"]
    assert run_.info.get("resumes") == 1  # evaluate() after train() went into the same run

    config = run_.config
    assert config["learning_rate"] == 1e-3 and config["max_steps"] == 6  # TrainingArguments
    assert config["hidden_size"] == 16 and config["vocab_size"] == 64  # the model's config
    assert config["model/num_parameters"] > 0

    rows = run_.history()
    assert steps(rows) == list(range(len(rows)))
    train = [r for r in rows if "train/loss" in r]
    assert [r["train/global_step"] for r in train] == [1, 2, 3, 4, 5, 6]
    expected_losses = [h["loss"] for h in log_history if "loss" in h]
    assert [r["train/loss"] for r in train] == pytest.approx(expected_losses)
    evals = [r for r in rows if "eval/loss" in r]
    assert [r["train/global_step"] for r in evals] == [3, 6, 6]  # two during training, one after
    assert {"eval/runtime", "eval/samples_per_second"} <= set(evals[0])
    assert not any(key in row for row in rows for key in ("train/train_runtime", "train/train_loss", "train_loss"))

    summary = run_.summary
    final = next(h for h in log_history if "train_runtime" in h)
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"):
        assert summary[key] == pytest.approx(final[key]), key
    assert summary["train/global_step"] == 6
    assert summary["eval/loss"] == pytest.approx(evals[-1]["eval/loss"])
    step_metrics = {m["name"]: m["step_metric"] for m in run_.metrics}
    assert step_metrics["train/*"] == step_metrics["eval/*"] == "train/global_step"

    (reported,) = tracker.Api().runs(project="hf-report")  # report_to="tracker"
    assert reported.state == "finished"
    assert [r["train/global_step"] for r in reported.history(keys=["train/loss", "train/global_step"])] == [1, 2]
    assert reported.config["project"] == "hf-report"

    if mode == "kernel":
        assert shows_panel(out)
        assert {"train/loss", "eval/loss"} <= panel_charts(out)


def test_checkpoints_become_model_artifact_versions(tmp_path, tracker_env):
    """TrackerCallback(log_checkpoints=True) with a real Trainer saving every 3 steps: each
    checkpoint folder is a version of ``model-<run id>``, aliased by its step."""
    import hashlib

    from jupyter_tracker.api.artifact_store import versions

    run(mode="script", name="transformers_train.py", cwd=tmp_path, env={"LOG_CHECKPOINTS": "1"})
    (run_,) = tracker.Api().runs(project="hf")
    found = versions(tracker_env, "hf", f"model-{run_.id}")
    assert [(v.version, v.aliases) for v in found] == [("v0", ["step_3"]), ("v1", ["latest", "step_6"])]
    assert [v.metadata for v in found] == [{"global_step": 3}, {"global_step": 6}]
    on_disk = tmp_path / "hf_out" / "checkpoint-6"
    with tracker.init(project="hf") as reader:
        art = reader.use_artifact(f"model-{run_.id}:step_6")
        assert art.files() == sorted(p.relative_to(on_disk).as_posix() for p in on_disk.rglob("*") if p.is_file())
        got = tmp_path / "got"
        art.download(got)
        for name in art.files():
            assert hashlib.sha256((got / name).read_bytes()).digest() == hashlib.sha256(
                (on_disk / name).read_bytes()).digest(), name
