"""notebooks/huggingface.ipynb in a real kernel: the panel in the training cell, the run read back."""

from __future__ import annotations

import nbformat
import pytest

import jupyter_tracker as tracker
from tests.e2e.kernels import NOTEBOOKS, execute, outputs, text_of

from .frameworks import ENV, panel_charts

pytestmark = [pytest.mark.integration, pytest.mark.kernel]


def test_the_huggingface_notebook_shows_the_panel_and_records_the_run(tmp_path, tracker_env):
    nb = nbformat.read(NOTEBOOKS / "huggingface.ipynb", as_version=4)
    # (WANDB_MODE makes transformers print a line at import: this test wants the cells as a user sees them)
    execute(nb, cwd=tmp_path, env={k: v for k, v in ENV.items() if not k.startswith("WANDB")}, timeout=240)
    cells = outputs(nb)
    setup, data, train, evaluate, read = cells
    assert not setup and not data  # nothing printed by the tracker outside the training cells
    views = [i for i, o in enumerate(train) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # the panel, then its static image for renderers without widgets
    assert "image/svg+xml" in train[views[0] + 1]["data"]
    assert {"train/loss", "eval/loss", "train/learning_rate"} <= panel_charts(nb)
    run = tracker.Api().runs(project="huggingface")[0]
    assert run.state == "finished" and run.name == "tiny-bert" and run.info["resumes"] == 1
    assert [r["train/global_step"] for r in run.history(keys=["train/global_step", "eval/loss"])] == [10, 20, 30, 40, 40]
    assert len(run.history(keys=["train/loss"])) == 20
    shown = "".join(text_of(o) for o in read)
    assert "tiny-bert finished" in shown and "train_loss" in shown and "(40," in shown
