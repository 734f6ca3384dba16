"""Images of compared runs side by side (recording comm, real runs read through the Api)."""

from __future__ import annotations

import numpy as np

import jupyter_tracker as tracker
from jupyter_tracker.livepanel.comparemedia import CompareImages, image_keys


def _pixels(value):
    return np.full((5, 7, 3), value, dtype=np.uint8)


def test_the_images_of_each_run_at_the_chosen_step(tracker_env, recording_comm):
    a = tracker.init(project="cmp", name="a")
    for step in (0, 2, 4):
        a.log({"samples": tracker.Image(_pixels(step * 10), caption=f"a{step}"), "x": 1.0}, step=step)
    a.finish()
    b = tracker.init(project="cmp", name="b")
    for step in (0, 3):
        b.log({"samples": tracker.Image(_pixels(100 + step)), "other": tracker.Image(_pixels(1))}, step=step)
    b.finish()
    runs = [tracker.Api().run(a.id), tracker.Api().run(b.id)]
    assert image_keys([r.summary for r in runs]) == ["other", "samples"]
    view = CompareImages()
    view.draw([(runs[0], "a", "#ff0000"), (runs[1], "b", "#0000ff")])
    assert "tracker-compare-media" in view.box._dom_classes and view.box.layout.display is None
    assert view.key.value == "other"  # the first key, until another is picked
    view.key.value = "samples"
    assert view.slider.max == 3 and view.slider.value == 3  # steps 0, 2, 3, 4: the latest
    first, second = view.row.children
    assert "step 4" in view.step_label.value
    image_a = first.children[1].children[0]
    assert image_a.value == (runs[0].path / "files" / runs[0].summary["samples"]["path"]).read_bytes()
    assert "(step 3)" in second.children[0].value  # b has nothing at 4: its last before it
    view.slider.value = 1  # step 2
    first, second = view.row.children
    assert "step 2" in view.step_label.value and "a2" in first.children[2].value
    assert "(step 0)" in second.children[0].value
    before = view.row.children
    view.draw([(runs[0], "a", "#ff0000"), (runs[1], "b", "#0000ff")])
    assert view.row.children == before  # nothing changed: nothing rebuilt
    view.draw([(runs[0], "a", "#ff0000")])  # b unticked
    assert len(view.row.children) == 1
