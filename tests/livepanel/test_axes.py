"""bqplot axes told everything: domain, tick positions and labels keyed as JavaScript prints numbers."""

from __future__ import annotations

import numpy as np

from jupyter_tracker.livepanel.axes import Frame, js_number
from jupyter_tracker.numerics.ticks import linear_axis


def test_js_number_is_javascripts_string_of_a_number():
    # what String(x) gives in JavaScript for each
    cases = {0.0: "0", 1.0: "1", 2.5: "2.5", -3.0: "-3", 0.1: "0.1", 0.3: "0.3",
             0.30000000000000004: "0.30000000000000004", 1e21: "1e+21", 1e20: "100000000000000000000",
             123456789.0: "123456789", 1e-6: "0.000001", 1e-7: "1e-7", 2.5e-5: "0.000025", 1.5e-10: "1.5e-10",
             5e299: "5e+299", 1234.5678: "1234.5678", float("nan"): "NaN", float("inf"): "Infinity"}
    for value, text in cases.items():
        assert js_number(value) == text, value
    assert js_number(-0.0) == "0"


def test_frame_sends_domain_ticks_and_labels(recording_comm):
    frame = Frame([], height=220, min_width=300)
    x = linear_axis(0, 3014, frame.plot_width, integer=True, margins=frame.x_margins)
    y = linear_axis(0.1, 0.1, frame.plot_height, vertical=True, pad_px=8, margins=frame.y_margins)
    frame.set_axes(x, y, x_label="step")
    assert (frame.x_scale.min, frame.x_scale.max) == (0.0, 3014.0)
    assert list(frame.x_axis.tick_values) == [0.0, 1000.0, 2000.0, 3000.0]
    assert frame.x_axis.tick_labels == {"0": "0", "1000": "1000", "2000": "2000", "3000": "3000"}
    assert list(frame.y_axis.tick_labels.values()) == ["0.090", "0.095", "0.100", "0.105", "0.110"]
    assert frame.x_axis.label == "step"
    assert np.all(np.diff(frame.y_axis.tick_values) > 0)
