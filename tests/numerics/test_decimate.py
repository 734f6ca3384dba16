"""Decimation: min/max buckets, LTTB and the incremental min/max index."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_tracker.numerics.decimate import MinMaxIndex, lttb, minmax

NAN, INF = float("nan"), float("inf")


def walk(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=n))


# ---------------------------------------------------------------- references


def loop_buckets(ys, size, gaps=True):
    """Per bucket of ``size``: first index of the min and max finite value, first non-finite."""
    keep = set()
    for start in range(0, len(ys), size):
        chunk = [(float(v), i) for i, v in enumerate(ys[start : start + size], start)]
        finite = [(v, i) for v, i in chunk if math.isfinite(v)]
        if finite:
            keep.add(min(finite)[1])  # ties: the smaller index
            keep.add(min(finite, key=lambda p: (-p[0], p[1]))[1])
        holes = [i for v, i in chunk if not math.isfinite(v)]
        if holes and gaps:
            keep.add(holes[0])
    return keep


def loop_minmax(ys, n):
    """The kept indices: n/2 buckets; fewer, larger ones if the gap markers overflow n.

    (Only for n = 4 can that still be too many: the gap marker is then dropped.)
    """
    total = len(ys)
    buckets = (n - 2) // 2
    for attempt in range(3):
        size = -(-total // buckets)
        keep = loop_buckets(ys, size) | {0, total - 1}
        if len(keep) <= n:
            return keep
        gaps = len({i // size for i, v in enumerate(ys) if not math.isfinite(v)})
        buckets = max(1, (n - 2 - gaps) // 2 if attempt == 0 else (n - 2) // 3)
    return loop_buckets(ys, size, gaps=False) | {0, total - 1}


def loop_lttb(xs, ys, n):
    """Steinarsson's LTTB, written out point by point."""
    total = len(xs)
    every = (total - 2) / (n - 2)
    edges = [int(i * every) + 1 for i in range(n - 1)]
    edges[-1] = total - 1
    a = 0
    keep = [0]
    for i in range(n - 2):
        lo, hi = edges[i], edges[i + 1]
        if i + 1 < n - 2:
            nlo, nhi = edges[i + 1], edges[i + 2]
            cx = sum(xs[nlo:nhi]) / (nhi - nlo)
            cy = sum(ys[nlo:nhi]) / (nhi - nlo)
        else:
            cx, cy = xs[-1], ys[-1]
        best, best_area = lo, -1.0
        for j in range(lo, hi):
            area = abs((xs[a] - cx) * (ys[j] - ys[a]) - (xs[a] - xs[j]) * (cy - ys[a]))
            if area > best_area:
                best, best_area = j, area
        keep.append(best)
        a = best
    keep.append(total - 1)
    return keep


# ---------------------------------------------------------------------- minmax


def test_minmax_short_input_is_returned_as_copies():
    xs = np.arange(5.0)
    ys = np.array([1.0, NAN, INF, -2.0, 3.0])
    xo, yo = minmax(xs, ys, 5)
    np.testing.assert_array_equal(xo, xs)
    np.testing.assert_array_equal(yo, ys)
    assert xo is not xs and yo is not ys
    xo, yo = minmax([1, 2], [3, 4], 4)
    assert xo.dtype == yo.dtype == np.float64


@pytest.mark.parametrize("n", [4, 5, 6, 11, 100, 2000])
@pytest.mark.parametrize("total", [7, 101, 999, 5003])
def test_minmax_keeps_ends_and_global_extremes_within_n(n, total):
    ys = walk(total, total + n)
    xs = np.arange(total) * 0.5
    xo, yo = minmax(xs, ys, n)
    assert len(xo) == len(yo) == total if total <= n else len(xo) == len(yo) <= n
    assert xo[0] == xs[0] and xo[-1] == xs[-1]
    assert yo.max() == ys.max() and yo.min() == ys.min()
    assert (np.diff(xo) > 0).all()  # original order, no duplicates


def test_minmax_equals_per_bucket_loop():
    ys = walk(10_007, 1)
    ys[[3, 4]] = ys[5]  # ties
    xs = np.arange(ys.size, dtype=float)
    n = 300
    xo, _ = minmax(xs, ys, n)
    size = -(-ys.size // ((n - 2) // 2))
    expected = loop_buckets(list(ys), size) | {0, ys.size - 1}
    assert set(xo.astype(int)) == expected


def test_minmax_nan_gap_is_kept_and_inf_is_a_gap_not_an_extreme():
    ys = walk(10_000, 2)
    ys[4000:4100] = NAN  # a gap
    ys[7000] = INF
    ys[8000] = -INF
    ys[9000:9500] = INF  # buckets with nothing finite
    xs = np.arange(ys.size, dtype=float)
    xo, yo = minmax(xs, ys, 200)
    assert len(xo) <= 200
    finite = np.isfinite(ys)
    assert np.nanmax(yo) == ys[finite].max() and np.nanmin(yo) == ys[finite].min()
    assert not np.isinf(yo).any()  # non-finite values come out as NaN
    gap_x = xo[np.isnan(yo)]
    assert ((gap_x >= 4000) & (gap_x < 4100)).any()
    assert 7000 in gap_x and 8000 in gap_x
    assert ((gap_x >= 9000) & (gap_x < 9500)).any()
    assert set(xo.astype(int)) == loop_minmax(list(ys), 200)


def test_minmax_many_gaps_still_fit_in_n():
    ys = walk(20_000, 3)
    ys[::150] = NAN  # a gap in most buckets
    xo, yo = minmax(np.arange(ys.size), ys, 100)
    assert len(xo) <= 100
    assert set(xo.astype(int)) == loop_minmax(list(ys), 100)
    assert np.isnan(yo).any()
    assert np.nanmax(yo) == np.nanmax(ys) and np.nanmin(yo) == np.nanmin(ys)
    xo, yo = minmax(np.arange(ys.size), ys, 4)
    assert len(xo) <= 4 and xo[0] == 0 and xo[-1] == ys.size - 1


def test_minmax_all_nan_series_keeps_a_gap_per_bucket():
    ys = np.full(1000, NAN)
    xo, yo = minmax(np.arange(1000), ys, 50)
    assert 2 <= len(xo) <= 50 and np.isnan(yo).all()


@pytest.mark.parametrize("bad", [3, 0, -1, 2.5, 2000.0, "10", None, True])
def test_minmax_rejects_bad_n_naming_it(bad):
    with pytest.raises(ValueError, match="n must"):
        minmax([0, 1], [1, 2], bad)


def test_minmax_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        minmax([0, 1, 2], [1, 2], 10)


def test_minmax_million_points():
    ys = walk(1_000_000, 4)
    ys[123_456] = NAN
    xo, yo = minmax(np.arange(ys.size, dtype=float), ys, 2000)
    assert len(xo) <= 2000
    assert np.nanmax(yo) == np.nanmax(ys) and np.nanmin(yo) == np.nanmin(ys)
    assert np.isnan(yo).sum() == 1


# ------------------------------------------------------------------------ lttb


@pytest.mark.parametrize(("total", "n"), [(1000, 100), (1001, 3), (500, 499), (3333, 64)])
def test_lttb_matches_loop_reference(total, n):
    rng = np.random.default_rng(total)
    xs = np.sort(rng.uniform(0, 100, size=total))
    ys = walk(total, total)
    xo, yo = lttb(xs, ys, n)
    keep = loop_lttb(list(xs), list(ys), n)
    np.testing.assert_array_equal(xo, xs[keep])
    np.testing.assert_array_equal(yo, ys[keep])
    assert len(xo) == n and xo[0] == xs[0] and xo[-1] == xs[-1]


def test_lttb_drops_non_finite_points_and_returns_short_input_as_is():
    xs = np.arange(10.0)
    ys = np.array([1.0, NAN, 3.0, INF, 5.0, 6.0, -INF, 8.0, 9.0, 10.0])
    xo, yo = lttb(xs, ys, 20)
    np.testing.assert_array_equal(xo, xs[np.isfinite(ys)])
    assert np.isfinite(yo).all()
    xo, yo = lttb(xs, ys, 4)
    assert len(xo) == 4 and np.isfinite(yo).all() and xo[0] == 0 and xo[-1] == 9
    xo, yo = lttb([0, 1, NAN], [1, 2, 3], 3)
    np.testing.assert_array_equal(xo, [0.0, 1.0])
    assert lttb([], [], 10)[0].size == 0


@pytest.mark.parametrize("bad", [2, 0, 2.5, "5", None, False])
def test_lttb_rejects_bad_n_naming_it(bad):
    with pytest.raises(ValueError, match="n must"):
        lttb([0, 1], [1, 2], bad)


def test_lttb_million_points():
    ys = walk(1_000_000, 5)
    xs = np.arange(ys.size, dtype=float)
    xo, yo = lttb(xs, ys, 2000)
    assert len(xo) == 2000 and (np.diff(xo) > 0).all()
    assert xo[0] == 0 and xo[-1] == ys.size - 1
    np.testing.assert_array_equal(yo, ys[xo.astype(int)])


# ---------------------------------------------------------------- MinMaxIndex


def feed(idx, ys, rng, most=3000):
    start = 0
    while start < ys.size:
        stop = min(ys.size, start + int(rng.integers(1, most)))
        idx.extend(ys[:stop], start)
        start = stop


def with_gaps(n, seed):
    rng = np.random.default_rng(seed)
    ys = walk(n, seed)
    ys[rng.integers(0, n, 40)] = NAN
    ys[rng.integers(0, n, 5)] = INF
    ys[n // 2 : n // 2 + 300] = NAN
    return ys


@pytest.mark.parametrize("target", [4, 7, 100, 2000])
def test_index_fed_in_pieces_equals_one_shot_and_the_bucket_loop(target):
    ys = with_gaps(50_000, target)
    pieces = MinMaxIndex(target)
    feed(pieces, ys, np.random.default_rng(target))
    once = MinMaxIndex(target)
    once.extend(ys, 0)
    got = pieces.indices()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, once.indices())
    assert pieces.bucket_size == once.bucket_size
    size = pieces.bucket_size
    assert -(-ys.size // size) <= target // 2 < -(-ys.size // (size // 2)) or size == 1
    assert set(got.tolist()) == loop_buckets(list(ys), size) | {0, ys.size - 1}
    assert got[0] == 0 and got[-1] == ys.size - 1
    gap_buckets = len({i // size for i in np.flatnonzero(~np.isfinite(ys))})
    assert len(got) <= target + 2 + gap_buckets
    finite = np.isfinite(ys)
    assert ys[got][np.isfinite(ys[got])].max() == ys[finite].max()
    assert ys[got][np.isfinite(ys[got])].min() == ys[finite].min()
    assert pieces.scanned == ys.size  # every point read exactly once


def test_index_without_gaps_stays_within_target_plus_two():
    ys = walk(100_003, 8)
    idx = MinMaxIndex(1000)
    feed(idx, ys, np.random.default_rng(8), most=10_000)
    assert len(idx.indices()) <= 1002
    assert idx.buckets <= 500 and len(idx) == ys.size


def test_index_extend_reads_only_the_new_points():
    rng = np.random.default_rng(9)
    for history in (10_000, 1_000_000):
        ys = walk(history + 1000, history)
        idx = MinMaxIndex(2000)
        idx.extend(ys[:history], 0)
        before = idx.scanned
        buckets_before = idx.buckets
        # the old part is garbage: it must not be looked at
        spoiled = ys.copy()
        spoiled[:history] = rng.normal(size=history) * 1e300
        idx.extend(spoiled, history)
        assert idx.scanned - before == 1000  # O(new points), whatever the history
        assert idx.buckets <= 1000 and idx.buckets - buckets_before <= 1000 // idx.bucket_size + 1
        fresh = MinMaxIndex(2000)
        fresh.extend(ys, 0)
        np.testing.assert_array_equal(idx.indices(), fresh.indices())


def test_index_single_points_one_at_a_time():
    ys = with_gaps(2000, 10)
    idx = MinMaxIndex(50)
    for i in range(ys.size):
        idx.extend(ys[: i + 1], i)
        if i in (0, 1, 2, 99, 1000):
            got = idx.indices()
            assert got[0] == 0 and got[-1] == i
    once = MinMaxIndex(50)
    once.extend(ys, 0)
    np.testing.assert_array_equal(idx.indices(), once.indices())
    assert idx.scanned == ys.size


def test_index_rewritten_tail_shrink_reset_and_skipped_start():
    ys = walk(30_000, 11)
    idx = MinMaxIndex(100)
    idx.extend(ys, 0)
    changed = ys.copy()
    changed[20_000:] += 1000.0  # the tail was recomputed
    idx.extend(changed, 20_000)
    once = MinMaxIndex(100)
    once.extend(changed, 0)
    np.testing.assert_array_equal(idx.indices(), once.indices())
    idx.extend(changed[:10_000], 10_000)  # shorter than before: start over
    once.reset()
    once.extend(changed[:10_000], 0)
    np.testing.assert_array_equal(idx.indices(), once.indices())
    idx.extend(changed[:12_000], 50_000)  # a start past the end: take what is new
    once.extend(changed[:12_000], 10_000)
    np.testing.assert_array_equal(idx.indices(), once.indices())
    idx.reset()
    assert idx.indices().size == 0 and len(idx) == 0 and idx.bucket_size == 1 and idx.scanned == 0
    idx.extend([5.0], 0)
    np.testing.assert_array_equal(idx.indices(), [0])
    idx.extend([5.0, NAN, INF], 1)
    np.testing.assert_array_equal(idx.indices(), [0, 1, 2])


@pytest.mark.parametrize("bad", [3, 0, 2.5, "100", None, True])
def test_index_rejects_bad_target_naming_it(bad):
    with pytest.raises(ValueError, match="target"):
        MinMaxIndex(bad)


def test_index_rejects_bad_start_and_shape():
    idx = MinMaxIndex(10)
    with pytest.raises(ValueError, match="start"):
        idx.extend([1.0, 2.0], -1)
    with pytest.raises(ValueError, match="start"):
        idx.extend([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match="y_all"):
        idx.extend(np.ones((2, 2)), 0)
