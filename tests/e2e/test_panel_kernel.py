"""The panel seen from a real kernel (nbclient, widget state saved in the notebook).

These are kernel tests: they check what the kernel sends and saves, and would
pass with the widget JavaScript disabled. tests/e2e/test_lab.py checks what a
browser renders.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

import jupyter_tracker as tracker

from .kernels import execute, new_notebook, outputs

pytestmark = pytest.mark.kernel

STEPS = 20_000
LOOP = (
    f"for i in range({STEPS}):\n"
    "    tracker.log({'train/loss': 1 / (i + 1), 'train/acc': i / %d, 'val/metric': (i %% 97) / 97})" % STEPS
)


def widget_state(nb) -> dict[str, dict]:
    return nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def array(model: dict, name: str) -> np.ndarray:
    """A bqplot array trait from saved widget state (its bytes are in the buffers)."""
    value = model["state"][name]
    for buffer in model.get("buffers", []):
        if buffer["path"] == [name, "value"]:
            raw = base64.b64decode(buffer["data"])
            return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"])
    return np.asarray(value.get("value", value) if isinstance(value, dict) else value)


def test_saved_widget_state_holds_one_figure_per_metric(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", "%tracker init --project panelk", LOOP, "%tracker finish")
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    assert all(not cell for i, cell in enumerate(cells) if i != 1), cells  # only the init cell
    init, image = cells[1]  # the panel, then its static image (for renderers without widgets)
    assert "application/vnd.jupyter.widget-view+json" in init["data"]
    assert image["data"]["image/svg+xml"].startswith("<svg") and "train/loss" in image["data"]["image/svg+xml"]
    assert "application/vnd.jupyter.widget-view+json" not in image["data"]
    state = widget_state(nb)
    figures = {m["state"]["title"].split("   ")[0]: m for m in state.values() if m["model_name"] == "FigureModel"
               and "tracker-chart" in m["state"].get("_dom_classes", [])}
    assert set(figures) == {"train/loss", "train/acc", "val/metric"}
    lines = {mid: m for mid, m in state.items() if m["model_name"] == "LinesModel"}
    for title, figure in figures.items():
        marks = [ref.removeprefix("IPY_MODEL_") for ref in figure["state"]["marks"]]
        kinds = [state[mark]["model_name"] for mark in marks]
        assert kinds == ["LinesModel", "LinesModel", "ScatterModel"]  # raw, smoothed, hover points
        hover = state[marks[2]]["state"]["names"]  # the tooltips: step, value, smoothed value
        assert 100 <= len(hover) <= 200 and all(re.fullmatch(r"step \d+ · value \S+ · smoothed \S+", n) for n in hover)
        for mark in marks[:2]:
            x, y = array(lines[mark], "x"), array(lines[mark], "y")
            assert 2 <= len(x) <= 2_600 and len(x) == len(y), (title, len(x))
            assert x[-1] == STEPS - 1 and x[0] == 0
    panels = [m for m in state.values() if "tracker-panel" in m["state"].get("_dom_classes", [])]
    assert len(panels) == 1
    run = tracker.Api().runs(project="panelk")[0]
    assert len(run.history(samples=None)) == STEPS


def test_rerunning_init_finishes_the_run_and_keeps_one_live_panel(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", "%tracker init --project again\ntracker.log({'a': 1.0})",
                      "%tracker init --project again\ntracker.log({'a': 2.0})", "%tracker finish")
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    for index in (1, 2):
        panel, image = cells[index]
        assert "image/svg+xml" in image["data"]  # each panel froze with its image
    assert not cells[3]
    runs = tracker.Api().runs(project="again")
    assert [r.state for r in runs] == ["finished", "finished"]


def test_silent_mode_shows_the_panel_only_on_request(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", "%tracker init --project quiet", "tracker.log({'a': 1.0})",
                      "tracker.panel()", "%tracker finish")
    execute(nb, cwd=tmp_path, env={"TRACKER_SILENT": "true"})
    cells = outputs(nb)
    assert [bool(c) for c in cells] == [False, False, False, True, False]
    assert "application/vnd.jupyter.widget-view+json" in cells[3][0]["data"]
    assert "image/svg+xml" in cells[3][1]["data"]  # the panel shown on request froze with its image too
