"""The panel's media views (images, histograms, tables) with a recording comm."""

from __future__ import annotations

import numpy as np
import pytest

import jupyter_tracker as tracker
from jupyter_tracker.livepanel.media import HEAT_COLUMNS, heat_grid
from jupyter_tracker.livepanel.tables import PAGE_ROWS, sorted_rows

from .test_panel import panel, sync  # noqa: F401 - the same panel fixture


def _image(step):
    pixels = np.zeros((9, 13, 3), dtype=np.uint8)
    pixels[:, :, 0] = step * 50
    return pixels


def test_an_image_key_shows_the_png_on_disk_and_a_step_slider(panel):
    for step in range(3):
        panel.run.log({"loss": 1.0, "samples": tracker.Image(_image(step), caption=f"epoch {step}")})
    sync(panel)
    view = panel.media.views["samples"]
    assert "tracker-media" in view.box._dom_classes and panel.media.box.layout.display is None
    (image,) = view.images.children
    reference = panel.run.summary["samples"]
    assert image.format == "png" and image.value == (panel.run.path / "files" / reference["path"]).read_bytes()
    assert (image.width, image.height) == ("13", "9")  # its natural size
    assert "step 2" in view.caption.value and "epoch 2" in view.caption.value
    assert (view.slider.max, view.slider.value) == (2, 2)
    slider_updates = [m for m in view.slider.comm.updates() if "value" in m["state"] or "max" in m["state"]]
    assert all(len(m["state"]) == 1 for m in slider_updates)  # range and value in separate messages
    view.slider.value = 0  # back to the first step: the slider stays there as steps come
    assert "epoch 0" in view.caption.value
    first = (panel.run.path / "files").glob("media/images/samples_0_*.png")
    assert image.value == next(first).read_bytes()
    panel.run.log({"samples": tracker.Image(_image(3))})
    sync(panel)
    assert (view.slider.max, view.slider.value) == (3, 0)
    view.slider.value = 3
    panel.run.log({"samples": tracker.Image(_image(4))})
    sync(panel)
    assert view.slider.value == 4 and "step 4" in view.caption.value  # following the latest again


def test_the_static_image_of_a_finished_run_holds_the_last_images(panel):
    import base64

    panel.run.log({"loss": 1.0, "samples": tracker.Image(_image(1)), "grid": [tracker.Image(_image(2))]})
    panel.run.log({"loss": 0.5, "samples": tracker.Image(_image(3))})
    sync(panel)
    svg = panel.svg()
    assert "samples · step 1" in svg and "grid · step 0" in svg and svg.count("<image ") == 2
    png = (panel.run.path / "files" / panel.run.summary["samples"]["path"]).read_bytes()
    assert base64.b64encode(png).decode() in svg  # the PNG as it is on disk


def test_a_list_of_images_shows_side_by_side(panel):
    panel.run.log({"grid": [tracker.Image(_image(i)) for i in range(4)]})
    sync(panel)
    assert len(panel.media.views["grid"].images.children) == 4


def test_a_histogram_key_draws_a_heat_map_over_steps(panel):
    rng = np.random.default_rng(0)
    for step in range(5):
        panel.run.log({"weights": tracker.Histogram(rng.normal(step, 1.0, 500), num_bins=20)})
    sync(panel)
    view = panel.media.views["weights"]
    assert "tracker-histogram" in view.figure._dom_classes
    (heat,) = view.figure.marks
    assert heat.color.shape == (48, 5) and list(heat.x) == [0, 1, 2, 3, 4]
    assert np.allclose(heat.color.sum(axis=0), 1.0)  # each step's share of its values
    # the distribution moves up with the step: so does the row of its peak
    peaks = heat.color.argmax(axis=0)
    assert list(peaks) == sorted(peaks) and peaks[-1] > peaks[0]


def test_a_histogram_at_every_step_keeps_the_panel_memory_bounded(tracker_env, recording_comm):
    from jupyter_tracker.livepanel.media import _HistogramView

    view = _HistogramView("w")
    for step in range(10_000):
        view.add(step, {"values": [1], "bins": [0.0, 1.0]})
    assert len(view.steps) <= 4 * HEAT_COLUMNS + 1 and view.steps[0][0] == 0 and view.steps[-1][0] == 9_999
    kept = [s for s, _ in view.steps]
    assert kept == sorted(kept)
    view.draw()
    assert view.figure.title.endswith("10000 steps") and len(view.heat.x) <= HEAT_COLUMNS


def test_heat_grid_keeps_at_most_its_columns_the_last_included():
    refs = [(s, {"values": [1, 2], "bins": [0.0, 1.0, 2.0]}) for s in range(1000)]
    steps, centres, matrix = heat_grid(refs)
    assert len(steps) <= HEAT_COLUMNS and steps[0] == 0 and steps[-1] == 999 and matrix.shape[1] == len(steps)
    steps, centres, matrix = heat_grid([(3, {"values": [5], "bins": [2.0, 2.0 + 1e-12]})])
    assert matrix.sum() == pytest.approx(1.0)


def test_a_table_key_shows_the_latest_table_paged_and_sorted(panel):
    panel.run.log({"preds": tracker.Table(columns=["id", "score"], data=[[0, 0.5]])})
    data = [[i, float((i * 37) % 50)] for i in range(45)] + [[99, None]]
    panel.run.log({"preds": tracker.Table(columns=["id", "score"], data=data)})
    sync(panel)
    view = panel.media.views["preds"]
    assert "tracker-table" in view.box._dom_classes and "46 rows" in view.title.value
    assert view.table.value.count("<tr>") == PAGE_ROWS + 1 and "page 1 of 3" in view.where.value
    view.sort.value = 1
    view.descending.value = True
    assert view.table.value.index("<td>49</td>") < view.table.value.index("<td>48</td>")
    view.next.click()
    view.next.click()
    assert "page 3 of 3" in view.where.value and view.next.disabled
    assert "<td>99</td><td></td>" in view.table.value  # no value sorts last


def test_sorted_rows_mixes_numbers_text_and_none():
    rows = [[None], ["b"], [2], [1.5], ["a"], [float("nan")]]
    assert [r[0] for r in sorted_rows(rows, 0, False)][:4] == [1.5, 2, "a", "b"]
    assert sorted_rows(rows, None, False) is rows
