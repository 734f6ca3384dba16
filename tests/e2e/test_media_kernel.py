"""Media in a real kernel (nbclient, widget state saved): the panel's image and histogram views."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import jupyter_tracker as tracker

from .kernels import execute, new_notebook, outputs

pytestmark = pytest.mark.kernel

LOOP = """
import numpy as np
rng = np.random.default_rng(0)
for step in range(6):
    pixels = np.zeros((24, 32, 3), dtype=np.uint8)
    pixels[:, :, 1] = 40 * step
    tracker.log({"train/loss": 1 / (step + 1),
                 "samples": tracker.Image(pixels, caption=f"epoch {step}"),
                 "weights": tracker.Histogram(rng.normal(step, 1, 1000), num_bins=32),
                 "preds": tracker.Table(columns=["id", "p"], data=[[i, i / 10] for i in range(30)])})
"""


def test_saved_widget_state_holds_the_image_histogram_and_table_views(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", "%tracker init --project mediak", LOOP, "%tracker finish")
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    assert all(not cell for i, cell in enumerate(cells) if i != 1), cells  # nothing printed elsewhere
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    by_class = {}
    for model_id, model in state.items():
        for css in model["state"].get("_dom_classes", []):
            by_class.setdefault(css, []).append(model)
    (media,) = by_class["tracker-media"]
    images = [m for m in state.values() if m["model_name"] == "ImageModel"
              and "tracker-media-image" in m["state"].get("_dom_classes", [])]
    assert len(images) == 1 and images[0]["state"]["format"] == "png"
    png = base64.b64decode(next(b["data"] for b in images[0]["buffers"] if b["path"] == ["value"]))
    run = tracker.Api().runs(project="mediak")[0]
    assert png == (run.path / "files" / run.summary["samples"]["path"]).read_bytes()  # the last step's file
    assert np.array_equal(np.asarray(run.media("samples"))[:, :, 1], np.full((24, 32), 200))
    (histogram,) = by_class["tracker-histogram"]
    assert histogram["model_name"] == "FigureModel" and histogram["state"]["title"].startswith("weights")
    marks = [state[ref.removeprefix("IPY_MODEL_")]["model_name"] for ref in histogram["state"]["marks"]]
    assert marks == ["HeatMapModel"]
    (table,) = by_class["tracker-table"]
    assert table["model_name"] == "VBoxModel"


def test_compare_shows_the_runs_images_side_by_side(tmp_path, tracker_env):
    sweep = (
        "import numpy as np\n"
        "for lr in (0.1, 0.2):\n"
        "    run = tracker.init(project='cmpimg', config={'lr': lr})\n"
        "    for step in range(3):\n"
        "        pixels = np.full((6, 9, 3), int(lr * 1000) % 256, dtype=np.uint8)\n"
        "        run.log({'loss': lr / (step + 1), 'samples': tracker.Image(pixels, caption=f'lr {lr}')})\n"
        "    run.finish()"
    )
    nb = new_notebook("%load_ext tracker\n%env TRACKER_SILENT true", sweep,
                      "tracker.compare(project='cmpimg', live=False)")
    execute(nb, cwd=tmp_path)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (media,) = [m for m in state.values() if "tracker-compare-media" in m["state"].get("_dom_classes", [])]
    assert media["state"]["layout"] and media["model_name"] == "VBoxModel"
    images = [m for m in state.values() if m["model_name"] == "ImageModel"
              and "tracker-media-image" in m["state"].get("_dom_classes", [])]
    runs = tracker.Api().runs(project="cmpimg")
    files = {(r.path / "files" / r.summary["samples"]["path"]).read_bytes() for r in runs}
    shown = {base64.b64decode(next(b["data"] for b in m["buffers"] if b["path"] == ["value"])) for m in images}
    assert len(images) == 2 and shown == files  # each run's image at the last step, side by side
