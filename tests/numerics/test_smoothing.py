"""Smoothing functions against straightforward Python-loop and brute-force references."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from jupyter_tracker.numerics.smoothing import (
    SMOOTHING_KINDS,
    ema,
    gaussian,
    running_average,
    smooth,
    time_weighted_ema,
)

NAN, INF = float("nan"), float("inf")


# ---------------------------------------------------------------- references


def tensorboard_ema(values, weight):
    """TensorBoard's scalar-dashboard smoothing, as its front end writes it."""
    ys = [float(v) for v in values]
    if weight == 0:
        return np.array(ys)
    is_constant = all(v == ys[0] for v in ys)  # NaN != NaN: a series with NaN never is
    last, n, out = 0.0, 0, []
    for v in ys:
        if is_constant or not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight**n))
    return np.array(out, dtype=np.float64)


def loop_time_ema(xs, ys, weight, unit=None):
    xs = [float(v) for v in xs]
    ys = [float(v) for v in ys]
    ok = [math.isfinite(a) and math.isfinite(b) for a, b in zip(xs, ys)]
    fx = [a for a, k in zip(xs, ok) if k]
    fy = [b for b, k in zip(ys, ok) if k]
    if weight == 0 or not fy or min(fy) == max(fy):
        return np.array(ys)
    if unit is None:
        gaps = [b - a for a, b in zip(fx, fx[1:]) if b - a > 0]
        unit = float(np.median(gaps)) if gaps else 1.0
    s = d = 0.0
    prev = None
    out = []
    for a, b, k in zip(xs, ys, ok):
        if not k:
            out.append(b)
            continue
        decay = weight if prev is None else weight ** (max(a - prev, 0.0) / unit)
        s = s * decay + (1 - weight) * b
        d = d * decay + (1 - weight)
        prev = a
        out.append(s / d)
    return np.array(out)


def loop_running_average(ys, window):
    recent: deque[float] = deque(maxlen=window)
    out = []
    for v in map(float, ys):
        if not math.isfinite(v):
            out.append(v)
            continue
        recent.append(v)
        out.append(math.fsum(recent) / len(recent))
    return np.array(out)


def brute_gaussian(xs, ys, sigma):
    """Every pair within 3 sigma, by the formula (rows in chunks, columns in a band)."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    out = ys.copy()
    if sigma <= 0:
        return out
    ok = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    order = ok[np.argsort(xs[ok], kind="stable")]
    fx, fy = xs[order], ys[order]
    reach = 3 * sigma
    res = np.empty(fx.size)
    for lo in range(0, fx.size, 256):
        rows = fx[lo : lo + 256]
        # a superset of the columns within reach; the mask below decides
        a = np.searchsorted(fx, rows[0] - 2 * reach, "left")
        b = np.searchsorted(fx, rows[-1] + 2 * reach, "right")
        d = fx[None, a:b] - rows[:, None]
        w = np.exp(-0.5 * (d / sigma) ** 2) * (np.abs(d) <= reach)
        res[lo : lo + 256] = (w * fy[a:b]).sum(axis=1) / w.sum(axis=1)
    out[order] = res
    return out


def assert_same(actual, expected, rtol=1e-9, atol=0.0):
    """Equal within tolerance where finite; identical (incl. NaN, ±inf) elsewhere."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.dtype == np.float64
    assert actual.shape == expected.shape
    fin = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(actual), fin)
    np.testing.assert_array_equal(actual[~fin], expected[~fin])
    np.testing.assert_allclose(actual[fin], expected[fin], rtol=rtol, atol=atol)


def walk(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=n)) + 5.0


FIXED = {
    "empty": [],
    "one": [3.5],
    "one-nan": [NAN],
    "two": [1.0, 2.0],
    "ramp": list(range(20)),
    "nan-inf": [1.0, NAN, 2.0, INF, 3.0, -INF, 4.0, NAN, NAN, 10.0],
    "leading-nan": [NAN, NAN, 5.0, 6.0, -1.0],
    "all-nan": [NAN, NAN, NAN],
    "all-inf": [INF, -INF, INF],
    "constant": [2.5] * 12,
    "constant-with-gaps": [2.5, NAN, 2.5, INF, 2.5],
    "spike": [0.0] * 10 + [1e6] + [0.0] * 10,
    "negative": [-3.0, -1.0, -4.0, -1.0, -5.0, -9.0, -2.0],
    "huge": [1e300, -1e300, 5e299, 1e-300, 0.0, 1e300],
    "tiny": [1e-300, 3e-300, 2e-300, 5e-310],
}
WEIGHTS = [0.0, 1e-200, 0.01, 0.3, 0.6, 0.9, 0.99, 0.999]


# ----------------------------------------------------------------------- ema


@pytest.mark.parametrize("name", sorted(FIXED))
def test_ema_matches_tensorboard_loop_on_fixed_vectors(name):
    ys = FIXED[name]
    for weight in WEIGHTS:
        assert_same(ema(ys, weight), tensorboard_ema(ys, weight))


@pytest.mark.parametrize("weight", [0.01, 0.6, 0.95, 0.999])
def test_ema_matches_tensorboard_loop_on_100k_random_points(weight):
    rng = np.random.default_rng(1)
    ys = walk(100_000, 1) + rng.normal(size=100_000)
    ys[rng.integers(0, ys.size, 500)] = NAN
    ys[rng.integers(0, ys.size, 50)] = INF
    ys[rng.integers(0, ys.size, 50)] = -INF
    assert_same(ema(ys, weight), tensorboard_ema(ys, weight))


def test_ema_values_after_a_gap_ignore_it():
    ys = np.array([1.0, 5.0, NAN, INF, 2.0, -INF, 7.0])
    out = ema(ys, 0.6)
    np.testing.assert_array_equal(out[[2, 3, 5]], ys[[2, 3, 5]])
    dense = ema(ys[np.isfinite(ys)], 0.6)
    np.testing.assert_allclose(out[np.isfinite(ys)], dense, rtol=1e-12)


def test_ema_constant_series_is_returned_unchanged_exactly():
    for ys in ([0.1] * 50_000, [0.1, NAN, 0.1, -INF, 0.1] * 100):
        for w in (0.6, 0.999):
            np.testing.assert_array_equal(ema(ys, w), np.array(ys))


def test_ema_weight_zero_returns_input_and_first_value_is_kept():
    ys = walk(1000)
    np.testing.assert_array_equal(ema(ys, 0), ys)
    for w in WEIGHTS:
        assert ema(ys, w)[0] == pytest.approx(ys[0], rel=1e-12)


def test_ema_accepts_lists_and_ints_and_leaves_input_alone():
    ys = np.array([1.0, 2.0, NAN, 4.0])
    before = ys.copy()
    out = ema(ys, 0.5)
    np.testing.assert_array_equal(ys, before)
    assert out is not ys and out.dtype == np.float64
    np.testing.assert_allclose(ema([1, 2, 3], 0.5), tensorboard_ema([1, 2, 3], 0.5))
    same = ema(ys, 0.0)
    assert same is not ys


@pytest.mark.parametrize("bad", [-0.1, 0.9991, 1.0, 2, NAN, INF, "0.5x", None, [0.5], True])
def test_ema_rejects_bad_weight_naming_it(bad):
    with pytest.raises(ValueError, match="weight"):
        ema([1.0, 2.0], bad)


def test_ema_rejects_two_dimensional_input():
    with pytest.raises(ValueError, match="y"):
        ema(np.ones((3, 2)), 0.5)


def test_ema_long_series_with_gaps_in_many_chunks():
    # crosses many internal row and group boundaries; a 1e6-point input works
    ys = walk(1_000_000, 3)
    ys[::997] = NAN
    out = ema(ys, 0.9)
    assert out.shape == ys.shape and out.dtype == np.float64
    assert np.isnan(out[::997]).all()
    sample = slice(0, 30_000)
    assert_same(out[sample], tensorboard_ema(ys[sample], 0.9))


# ---------------------------------------------------------- time-weighted EMA


@pytest.mark.parametrize("weight", [0.0, 0.01, 0.6, 0.9, 0.999])
def test_time_ema_equals_ema_on_even_spacing(weight):
    ys = walk(20_000, 4)
    for xs in (np.arange(ys.size), 3.0 + 0.5 * np.arange(ys.size), 1e9 + 60.0 * np.arange(ys.size)):
        assert_same(time_weighted_ema(xs, ys, weight), ema(ys, weight), rtol=1e-9)


@pytest.mark.parametrize("weight", [0.3, 0.6, 0.95, 0.999])
def test_time_ema_matches_loop_on_uneven_spacing(weight):
    rng = np.random.default_rng(5)
    n = 20_000
    xs = np.cumsum(rng.exponential(size=n))
    xs[100:105] = xs[100]  # repeated x
    xs[5000:] += 1e4  # a gap long enough to forget everything
    ys = walk(n, 5)
    ys[rng.integers(0, n, 200)] = NAN
    ys[7] = INF
    assert_same(time_weighted_ema(xs, ys, weight), loop_time_ema(xs, ys, weight))


@pytest.mark.parametrize("name", sorted(FIXED))
def test_time_ema_fixed_vectors(name):
    ys = FIXED[name]
    xs = np.arange(len(ys)) ** 1.5
    for w in (0.0, 0.6, 0.999):
        assert_same(time_weighted_ema(xs, ys, w), loop_time_ema(xs, ys, w))


def test_time_ema_non_finite_x_is_passed_through_and_backward_steps_do_not_decay():
    xs = [0.0, 1.0, NAN, 2.0, 1.5, 4.0]
    ys = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    out = time_weighted_ema(xs, ys, 0.6)
    assert out[2] == 3.0
    assert_same(out, loop_time_ema(xs, ys, 0.6))


def test_time_ema_rejects_bad_arguments():
    with pytest.raises(ValueError, match="weight"):
        time_weighted_ema([0, 1], [1, 2], 1.5)
    with pytest.raises(ValueError, match="same length"):
        time_weighted_ema([0, 1, 2], [1, 2], 0.5)


def test_time_ema_million_points():
    rng = np.random.default_rng(6)
    xs = np.cumsum(rng.exponential(size=1_000_000))
    ys = walk(xs.size, 6)
    out = time_weighted_ema(xs, ys, 0.99)
    assert out.shape == ys.shape and np.isfinite(out).all()
    unit = float(np.median(np.diff(xs)))  # of the whole series; the EMA is causal
    assert_same(out[:20_000], loop_time_ema(xs[:20_000], ys[:20_000], 0.99, unit), rtol=1e-9)


# ------------------------------------------------------------ running average


@pytest.mark.parametrize("window", [1, 2, 3, 7, 100, 5000])
def test_running_average_matches_loop(window):
    rng = np.random.default_rng(7)
    ys = walk(2000, 7)
    ys[rng.integers(0, ys.size, 100)] = NAN
    ys[[5, 6, 7]] = [INF, -INF, NAN]
    assert_same(running_average(ys, window), loop_running_average(ys, window), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_running_average_fixed_vectors(name):
    ys = FIXED[name]
    if name == "huge":  # the sum of two 1e300 overflows, in the reference too
        ys = [v * 1e-10 for v in ys]
    for window in (1, 2, 4):
        assert_same(running_average(ys, window), loop_running_average(ys, window), rtol=1e-12)


def test_running_average_stays_accurate_on_a_large_offset():
    # cumulative sums over the whole series would lose the small variations
    rng = np.random.default_rng(8)
    ys = 1e9 + rng.normal(size=200_000) * 1e-3
    out = running_average(ys, 50)
    sample = slice(150_000, 150_200)
    expected = loop_running_average(ys[150_000 - 49 : 150_200], 50)[49:]
    np.testing.assert_allclose(out[sample] - 1e9, expected - 1e9, atol=1e-6)


@pytest.mark.parametrize("bad", [0, -3, 2.5, NAN, INF, "ten", None, True])
def test_running_average_rejects_bad_window_naming_it(bad):
    with pytest.raises(ValueError, match="window"):
        running_average([1.0, 2.0], bad)


def test_running_average_accepts_integral_float_window_and_million_points():
    ys = walk(1_000_000, 9)
    out = running_average(ys, 100.0)
    assert out.shape == ys.shape
    assert out[-1] == pytest.approx(ys[-100:].mean(), rel=1e-12)
    assert out[10] == pytest.approx(ys[:11].mean(), rel=1e-12)


# -------------------------------------------------------------------- gaussian


def noisy(n, seed):
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(n) / 40.0) + 0.3 * rng.normal(size=n)


SIGMAS = [0.3, 1.1, 2.7, 7.3, 40.3, 150.3]  # 3 sigma never a whole number of steps


@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_even_spacing_is_exact(sigma):
    ys = noisy(2500, 10)
    assert_same(gaussian(np.arange(ys.size), ys, sigma), brute_gaussian(np.arange(ys.size), ys, sigma),
                rtol=1e-10, atol=1e-12)
    xs = 100.0 + 0.25 * np.arange(ys.size)
    assert_same(gaussian(xs, ys, sigma / 4), brute_gaussian(xs, ys, sigma / 4), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sigma", [1.1, 40.3])
def test_gaussian_on_grid_with_holes_duplicates_gaps_and_any_order_is_exact(sigma):
    rng = np.random.default_rng(11)
    n = 2400
    ys = noisy(n, 11)
    ys[rng.integers(0, n, 150)] = NAN
    ys[[3, 4]] = [INF, -INF]
    steps = np.repeat(np.arange(n // 3), 3).astype(float)  # three values per step
    steps[1500:] += 1e4  # far apart clusters
    for x, s in ((steps, sigma), (steps + 1e9, sigma), (0.1 * steps, sigma / 10)):  # 0.1: inexact spacing
        assert_same(gaussian(x, ys, s), brute_gaussian(x, ys, s), rtol=1e-9, atol=1e-12)
    order = rng.permutation(n)
    assert_same(gaussian(steps[order], ys[order], sigma), brute_gaussian(steps[order], ys[order], sigma),
                rtol=1e-9, atol=1e-12)


def test_gaussian_steps_mostly_missing_are_still_exact():
    # the median gap of the finite points is 2 or more steps; the grid is still 1 step
    rng = np.random.default_rng(17)
    ys = noisy(3000, 17)
    ys[rng.random(ys.size) < 0.6] = NAN
    steps = np.arange(ys.size, dtype=float)
    for sigma in (0.7, 5.3, 60.3):
        assert_same(gaussian(steps, ys, sigma), brute_gaussian(steps, ys, sigma), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("sigma", [0.9, 2.7, 7.3, 40.3, 150.3])
def test_gaussian_uneven_spacing_is_close(sigma):
    rng = np.random.default_rng(12)
    ys = noisy(3000, 12)
    xs = np.cumsum(rng.exponential(size=ys.size))
    got = gaussian(xs, ys, sigma)
    expected = brute_gaussian(xs, ys, sigma)
    err = np.abs(got - expected).max() / ys.std()
    assert err < (0.02 if sigma < 5 else 0.005)
    # a weighted mean of neighbours: never outside the data's range
    assert got.min() >= ys.min() - 1e-12 and got.max() <= ys.max() + 1e-12


def test_gaussian_sparse_uneven_points_are_summed_exactly():
    rng = np.random.default_rng(13)
    xs = np.cumsum(rng.uniform(5.0, 15.0, size=2000))  # few neighbours within 3 sigma
    ys = noisy(xs.size, 13)
    assert_same(gaussian(xs, ys, 4.0), brute_gaussian(xs, ys, 4.0), rtol=1e-12)


def test_gaussian_wide_kernel_fft_path_is_exact():
    ys = noisy(4500, 14)
    xs = np.arange(ys.size, dtype=float)
    assert_same(gaussian(xs, ys, 150.3), brute_gaussian(xs, ys, 150.3), rtol=1e-9, atol=1e-12)
    ys[np.random.default_rng(14).integers(0, ys.size, 300)] = NAN  # holes: values and counts
    assert_same(gaussian(xs, ys, 150.3), brute_gaussian(xs, ys, 150.3), rtol=1e-9, atol=1e-12)


def test_gaussian_edge_cases():
    np.testing.assert_array_equal(gaussian([0, 1, 2], [1.0, 5.0, 2.0], 0), [1.0, 5.0, 2.0])
    np.testing.assert_array_equal(gaussian([0, 1, 2], [1.0, 5.0, 2.0], -1.0), [1.0, 5.0, 2.0])
    assert gaussian([], [], 1.0).size == 0
    np.testing.assert_array_equal(gaussian([4.0], [2.0], 1.0), [2.0])
    np.testing.assert_allclose(gaussian([1, 1, 1], [1.0, 2.0, 6.0], 0.5), [3.0, 3.0, 3.0])
    out = gaussian([0, 1, 2, 3], [NAN, 1.0, INF, 3.0], 100.0)
    assert np.isnan(out[0]) and out[2] == INF
    assert_same(out, brute_gaussian([0, 1, 2, 3], [NAN, 1.0, INF, 3.0], 100.0))
    assert out[1] == pytest.approx(2.0, abs=1e-3)
    out = gaussian([0, NAN, 2], [1.0, 7.0, 3.0], 100.0)
    assert out[1] == 7.0


@pytest.mark.parametrize("bad", [NAN, INF, -INF, "wide", None])
def test_gaussian_rejects_bad_sigma_naming_it(bad):
    with pytest.raises(ValueError, match="sigma"):
        gaussian([0, 1], [1.0, 2.0], bad)


def test_gaussian_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        gaussian([0, 1, 2], [1.0, 2.0], 1.0)


def test_gaussian_million_points_even_and_uneven():
    ys = noisy(1_000_000, 15)
    rng = np.random.default_rng(15)
    sample = np.concatenate([[0, 1, 299, 300, ys.size - 1], rng.integers(0, ys.size, 200)])
    for xs, tol in ((np.arange(ys.size, dtype=float), 1e-12), (np.cumsum(rng.exponential(size=ys.size)), 5e-3)):
        out = gaussian(xs, ys, 100.0)
        assert out.shape == ys.shape and np.isfinite(out).all()
        for i in sample:
            near = slice(np.searchsorted(xs, xs[i] - 300.0), np.searchsorted(xs, xs[i] + 300.0, "right"))
            w = np.exp(-0.5 * ((xs[near] - xs[i]) / 100.0) ** 2)
            assert out[i] == pytest.approx((w * ys[near]).sum() / w.sum(), abs=tol)


# ----------------------------------------------------------------- dispatcher


def test_smooth_dispatches_to_each_kind():
    rng = np.random.default_rng(16)
    ys = walk(500, 16)
    ys[10] = NAN
    xs = np.cumsum(rng.exponential(size=ys.size))
    np.testing.assert_array_equal(smooth("ema", xs, ys, 0.8), ema(ys, 0.8))
    np.testing.assert_array_equal(smooth("time-ema", xs, ys, 0.8), time_weighted_ema(xs, ys, 0.8))
    np.testing.assert_array_equal(smooth("average", xs, ys, 20), running_average(ys, 20))
    np.testing.assert_array_equal(smooth("gaussian", xs, ys, 3.0), gaussian(xs, ys, 3.0))
    none = smooth("none", xs, ys, 0)
    np.testing.assert_array_equal(none, ys)
    assert none is not ys
    np.testing.assert_array_equal(smooth("time-ema", None, ys, 0.8), time_weighted_ema(np.arange(500), ys, 0.8))
    np.testing.assert_array_equal(smooth("gaussian", None, ys, 2.0), gaussian(np.arange(ys.size), ys, 2.0))
    assert set(SMOOTHING_KINDS) == {"ema", "time-ema", "average", "gaussian", "none"}


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("ema", 1.0), ("time-ema", -0.5), ("average", 0), ("average", 1.5), ("gaussian", NAN), ("ema", "x")],
)
def test_smooth_rejects_bad_amount_naming_it(kind, amount):
    with pytest.raises(ValueError, match="amount"):
        smooth(kind, None, [1.0, 2.0, 3.0], amount)


def test_smooth_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        smooth("median", None, [1.0], 3)
