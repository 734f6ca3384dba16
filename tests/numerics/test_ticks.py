"""Ticks and ranges: the shared test vectors, and the rules checked on many ranges.

``tests/data/chart_rules.json`` holds inputs and expected axes; the JupyterLab
extension's TypeScript port reads the same file, so both sides follow one rule.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from jupyter_tracker.numerics import ticks

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "chart_rules.json").read_text())
MARGINS = (44.0, 18.0)


def decode(value):
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def call(case: dict) -> ticks.Axis:
    args = {k: (tuple(v) if k == "margins" else decode(v)) for k, v in case["args"].items()}
    return getattr(ticks, case["function"])(**args)


def number(label: str) -> Decimal:
    """A label read back as the exact decimal it states (2.5k, 1e-5, −3)."""
    text = label.replace("\u2212", "-")
    suffix = {"k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
    if text and text[-1] in suffix:
        return Decimal(text[:-1]).scaleb(suffix[text[-1]])
    return Decimal(text)


def is_round_step(step: Decimal) -> bool:
    """1, 2, 2.5 or 5 times a power of ten."""
    digits = step.normalize().as_tuple().digits
    return digits in ((1,), (2,), (2, 5), (5,))


@pytest.mark.parametrize("case", VECTORS["ticks"], ids=[c["case"] for c in VECTORS["ticks"]])
def test_vectors(case):
    axis = call(case)
    expect = case["expect"]
    assert axis.labels == tuple(expect["labels"])
    assert axis.note == expect["note"] and axis.unit == expect["unit"]
    assert axis.ticks == pytest.approx(expect["ticks"], rel=1e-12, abs=1e-300)
    assert (axis.lo, axis.hi) == pytest.approx((expect["lo"], expect["hi"]), rel=1e-12, abs=1e-300)


def check_linear(axis: ticks.Axis, lo: float, hi: float, integer: bool = False) -> None:
    """What every linear axis promises about the range [lo, hi] it was asked for."""
    assert axis.lo <= lo and axis.hi >= hi, (axis, lo, hi)
    values = [number(label) for label in axis.labels]
    assert len(set(axis.labels)) == len(axis.labels), axis.labels
    assert values == sorted(values) and len(set(values)) == len(values), axis.labels
    for value, tick in zip(values, axis.ticks):
        assert float(value) == pytest.approx(tick, rel=1e-12, abs=1e-300), (value, tick)  # label = value at the tick
        assert axis.lo <= tick <= axis.hi
    steps = {b - a for a, b in zip(values, values[1:])}
    assert len(steps) <= 1, axis.labels  # evenly spaced
    if steps:
        step = steps.pop()
        assert is_round_step(step), (step, axis.labels)
        if integer:
            assert step == step.to_integral_value()
    if lo >= 0:
        assert all(t >= 0 for t in axis.ticks), axis.labels


RANGES = [(0, 1), (0, 3014), (1, 5), (0.0213, 2.15), (-0.174, 2.15), (-7, -3), (0.1, 0.1), (0, 0), (-2, -2),
          (1e-9, 3e-9), (1e6, 1e6 + 3), (-1e12, 5e12), (1e-300, 1e-299), (123456, 123789), (0.999, 1.001),
          (-1e300, 1e300), (3.14159, 3.14160), (0, 2**40), (-0.5, 0.5), (5e-5, 5e-4)]


@pytest.mark.parametrize("lo,hi", RANGES)
@pytest.mark.parametrize("vertical", [False, True])
def test_linear_axes_are_round_exact_and_cover_the_range(lo, hi, vertical):
    length = 154.0 if vertical else 238.0
    axis = ticks.linear_axis(lo, hi, length, vertical=vertical, pad_px=8.0 if vertical else 0.0,
                             margins=(4.0, 6.0) if vertical else MARGINS)
    check_linear(axis, lo, hi)
    assert len(axis.ticks) >= (2 if vertical else 1), axis


@pytest.mark.parametrize("lo,hi", [(0, 7), (0, 3014), (1, 5), (0, 49_999), (5, 5), (0, 2**52), (1000, 1003)])
def test_integer_axes_get_integer_steps(lo, hi):
    axis = ticks.linear_axis(lo, hi, 238.0, integer=True, margins=MARGINS)
    check_linear(axis, lo, hi, integer=True)
    assert all(float(t).is_integer() for t in axis.ticks)


def test_a_constant_series_is_centred():
    for value in (0.1, -2.0, 1e-7, 42.0, 0.0):
        axis = ticks.linear_axis(value, value, 154.0, vertical=True, pad_px=8.0, margins=(4.0, 6.0))
        assert (axis.lo + axis.hi) / 2 == pytest.approx(value, abs=1e-12)
        assert axis.hi > axis.lo
        check_linear(axis, value, value)
    # integer constant (a single epoch): one tick, on the value
    assert ticks.linear_axis(5, 5, 238.0, integer=True, margins=MARGINS).labels == ("4", "5", "6")


def test_a_positive_series_never_gets_a_negative_tick():
    for lo, hi in [(0.0, 2.0), (0.0213, 2.15), (0, 0), (1e-9, 1e-3)]:
        axis = ticks.linear_axis(lo, hi, 154.0, vertical=True, pad_px=20.0)
        assert axis.lo < 0  # the padding reaches below zero...
        assert all(t >= 0 for t in axis.ticks), axis.labels  # ...the ticks never do


def test_padding_is_in_pixels():
    axis = ticks.linear_axis(0.0, 1.0, 100.0, vertical=True, pad_px=10.0)
    # 10 px of 100 at both ends: the data spans the 80 px between
    assert (0.0 - axis.lo) / (axis.hi - axis.lo) * 100 == pytest.approx(10.0)
    assert (axis.hi - 1.0) / (axis.hi - axis.lo) * 100 == pytest.approx(10.0)


def test_horizontal_labels_do_not_touch_and_stay_inside_the_chart():
    for lo, hi in [(0, 1_234_567), (0.000123, 0.000987), (1e9, 1e9 + 7), (-1e15, 1e15), (0, 3014)]:
        axis = ticks.linear_axis(lo, hi, 238.0, margins=MARGINS)
        scale = 238.0 / (axis.hi - axis.lo)
        boxes = [((t - axis.lo) * scale - ticks.label_px(s) / 2, (t - axis.lo) * scale + ticks.label_px(s) / 2)
                 for t, s in zip(axis.ticks, axis.labels)]
        for (_, right), (left, _) in zip(boxes, boxes[1:]):
            assert left - right >= ticks.GAP_PX - 1e-9, axis.labels
        assert all(a >= -MARGINS[0] - 0.5 and b <= 238.0 + MARGINS[1] + 0.5 for a, b in boxes)


def test_nan_and_inf_are_ignored():
    axis = ticks.axis_for([[1.0, math.nan, math.inf, 2.0], [-math.inf, 1.5]], 154.0, vertical=True)
    assert axis.lo <= 1.0 and 2.0 <= axis.hi < 3.0
    assert ticks.axis_for([[math.nan]], 154.0).note == "no finite value"
    assert ticks.finite_range([math.nan, math.inf]) is None


def test_log_axes():
    axis = ticks.axis_for([[-1.0, 0.0, 0.002, 5.0, 800.0]], 154.0, vertical=True, scale="log", pad_px=8.0,
                          margins=(4.0, 6.0))
    assert axis.note == "2 values \u2264 0 not drawn (log scale)"
    assert all(t > 0 for t in axis.ticks) and axis.lo < 0.002 and axis.hi > 800
    exps = [math.log10(t) for t in axis.ticks]
    assert all(abs(e - round(e)) < 1e-12 for e in exps)  # powers of ten
    assert ticks.axis_for([[-1.0, 0.0]], 154.0, vertical=True, scale="log").note.startswith("no value > 0")


def test_labels_are_exact_decimals():
    assert ticks.format_ticks([1, 2, 3], -1) == ["0.1", "0.2", "0.3"]
    assert ticks.format_ticks([0, 25, 50], -2) == ["0.00", "0.25", "0.50"]
    assert ticks.format_ticks([0, 25, 50, 75, 100], 4) == ["0", "250k", "500k", "750k", "1M"]
    assert ticks.format_ticks([-3, 0, 3], -6) == ["\u22123e-6", "0", "3e-6"]
    assert ticks.format_ticks([1234567], 0) == ["1.234567M"]


@pytest.mark.parametrize("span", [1e-12, 0.3, 1.0, 7.0, 123.0, 1e9])
def test_nice_steps_are_round(span):
    steps = [ticks._value(m, e) for m, e in (ticks.nice_step(span, count) for count in (2, 3, 5, 8))]
    for step in steps:
        assert is_round_step(Decimal(repr(step)))
    assert steps == sorted(steps, reverse=True)


def test_clock_ticks_fall_on_round_times():
    axis = ticks.clock_axis(1_700_000_123.0, 1_700_000_123.0 + 3600, 238.0, utc_offset=3600, margins=MARGINS)
    assert all(re.fullmatch(r"\d\d:\d\d", label) for label in axis.labels)
    assert all((t + 3600) % 900 == 0 for t in axis.ticks)  # quarter hours in UTC+1
    assert len(axis.ticks) >= 3


def test_vectors_cover_the_tick_functions():
    functions = {case["function"] for case in VECTORS["ticks"]}
    assert functions == {"linear_axis", "log_axis", "duration_axis", "clock_axis", "axis_for"}


def test_every_vector_keeps_its_promises():
    for case in VECTORS["ticks"]:
        if case["function"] != "linear_axis":
            continue
        args = case["args"]
        axis = call(case)
        check_linear(axis, args["lo"], args["hi"], integer=args.get("integer", False))
        assert np.all(np.diff(axis.ticks) > 0)
