"""A group's mean line and band: the shared vectors (also read by the lab extension's vitest)
and the properties a reader relies on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from jupyter_tracker.numerics.bands import BAND_KINDS, aligned, band_edges, group_band

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "group_bands.json").read_text())["bands"]


def _num(values: list) -> np.ndarray:
    return np.array([{"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v) for v in values], dtype=float)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["case"])
def test_shared_vectors(vector):
    band = group_band([(_num(x), _num(y)) for x, y in vector["lines"]])
    expect = vector["expect"]
    assert band.runs == expect["runs"]
    assert band.count.tolist() == expect["count"]
    for name in ("x", "mean", "lo", "hi", "std", "sem"):
        np.testing.assert_allclose(getattr(band, name), _num(expect[name]), rtol=1e-12, err_msg=name)
    for kind in ("std", "sem"):
        lo, hi = band_edges(band, kind)
        np.testing.assert_allclose(lo, _num(expect[f"{kind}_edges"][0]), rtol=1e-12)
        np.testing.assert_allclose(hi, _num(expect[f"{kind}_edges"][1]), rtol=1e-12)


def test_worked_example_by_hand():
    """Run a logs x 0, 2, 4; run b logs x 0, 1, 2: at x=1 a still reads 1, at x=4 only a is left."""
    band = group_band([([0, 2, 4], [1, 3, 5]), ([0, 1, 2], [3, 3, 3])])
    assert band.x.tolist() == [0, 1, 2, 4]
    assert band.mean.tolist() == [2, 2, 3, 5]
    assert band.lo.tolist() == [1, 1, 3, 5] and band.hi.tolist() == [3, 3, 3, 5]
    assert band.count.tolist() == [2, 2, 2, 1]


def test_mean_within_min_max_and_std_edges_around_the_mean():
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(7):
        n = int(rng.integers(5, 300))
        x = np.sort(rng.choice(1000, size=n, replace=False)).astype(float)
        y = rng.normal(size=n).cumsum()
        y[rng.random(n) < 0.05] = np.nan
        lines.append((x, y))
    band = group_band(lines)
    ok = band.count > 0
    assert np.all(band.lo[ok] <= band.mean[ok] + 1e-12) and np.all(band.mean[ok] <= band.hi[ok] + 1e-12)
    assert np.all(np.isnan(band.mean[~ok]))
    lo, hi = band_edges(band, "sem")
    assert np.all(lo[ok] <= band.mean[ok]) and np.all(band.mean[ok] <= hi[ok])
    xs, table = aligned(lines)
    np.testing.assert_array_equal(xs, band.x)
    np.testing.assert_allclose(np.nanmean(table[:, ok], axis=0), band.mean[ok])


def test_bad_band_kind_is_named():
    band = group_band([([0], [1])])
    with pytest.raises(ValueError, match="'iqr'"):
        band_edges(band, "iqr")
    assert BAND_KINDS == ("minmax", "std", "sem")


def test_lines_of_unequal_length_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        group_band([([0, 1], [1])])
