"""Min/max downsampling keeps spikes, gaps and both ends within the point budget."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_tracker.numerics.decimate import minmax
from jupyter_tracker.server.downsample import extremes_every, minmax_indices


@pytest.mark.parametrize("size", [0, 1, 2, 3, 10, 999, 1000, 1001, 12_345, 100_000])
@pytest.mark.parametrize("n", [1, 4, 5, 100, 1000])
def test_budget_ends_and_extremes(size: int, n: int) -> None:
    rng = np.random.default_rng(size + n)
    values = rng.normal(size=size)
    if size > 10:
        values[size // 3] = 50.0
        values[size // 2] = -50.0
    picked = minmax_indices(values, n)
    assert len(picked) <= max(n, 4)
    assert np.all(np.diff(picked) > 0)
    if size <= max(n, 4):
        assert picked.tolist() == list(range(size))
        return
    assert picked[0] == 0 and picked[-1] == size - 1
    assert values[picked].max() == values.max()
    assert values[picked].min() == values.min()


def test_same_points_as_the_live_panel() -> None:
    rng = np.random.default_rng(1)
    steps = np.cumsum(rng.integers(1, 4, size=50_000))
    values = rng.normal(size=50_000)
    values[10_000:20_000:997] = np.nan
    values[30_001] = np.inf
    picked = minmax_indices(values, 500)
    x_out, _ = minmax(steps, values, 500)
    assert steps[picked].tolist() == x_out.astype(np.int64).tolist()
    assert values[picked][np.isinf(values[picked])].tolist() == [np.inf]  # kept as it is, not as NaN


def test_sketch_keeps_each_buckets_min_max_and_first_gap() -> None:
    values = np.array([0, 5, 1, 2, 9, 3, 4, 8, 6, 7], dtype=float)
    # buckets of 4 inner points: [5 1 2 9] [3 4 8 6]; then [7] is the last point
    assert extremes_every(values, 4).tolist() == [0, 2, 4, 5, 7, 9]
    gaps = np.array([0, np.nan, 3, np.inf, -2, np.nan, np.nan, np.nan, np.nan, 1], dtype=float)
    picked = extremes_every(gaps, 4).tolist()
    assert picked == [0, 1, 2, 4, 5, 9]  # bucket 1: first gap, max 3, min -2; bucket 2: only its first gap

