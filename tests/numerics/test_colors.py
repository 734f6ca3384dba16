"""Stable colours: the shared test vectors, and the palette's promises."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from jupyter_tracker.numerics import colors

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "chart_rules.json").read_text())["colors"]


def test_vectors():
    assert list(colors.PALETTE) == VECTORS["palette"]
    for case in VECTORS["names"]:
        assert colors.fnv1a32(case["name"]) == case["hash"], case
        assert colors.color_of(case["name"]) == case["color"], case
    for case in VECTORS["sets"]:
        assert colors.colors_for(case["names"]) == case["colors"]


def test_fnv1a_reference_values():
    # published FNV-1a 32-bit values
    assert colors.fnv1a32("") == 0x811C9DC5
    assert colors.fnv1a32("a") == 0xE40C292C
    assert colors.fnv1a32("foobar") == 0xBF9CF968


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_every_colour_reads_on_light_and_dark_backgrounds():
    for color in colors.PALETTE:
        assert _contrast(color, "#ffffff") >= 3.0, color
        assert _contrast(color, "#212121") >= 3.0, color  # JupyterLab Dark's plot background
        assert _contrast(color, "#111111") >= 3.0, color


def test_same_name_same_colour_and_sets_get_distinct_colours():
    assert colors.color_of("train/loss") == colors.color_of("train/loss")
    assert len(set(colors.PALETTE)) == len(colors.PALETTE) == 8
    names = [f"run-{i}" for i in range(8)]
    assert len(set(colors.colors_for(names).values())) == 8
    # a name keeps its own colour when it is free in the set
    for a, b in itertools.combinations(["train/loss", "val/acc", "lr"], 2):
        picked = colors.colors_for([a, b])
        if colors.color_index(a) != colors.color_index(b):
            assert picked == {a: colors.color_of(a), b: colors.color_of(b)}
