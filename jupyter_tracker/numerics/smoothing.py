"""Smoothing for metric curves: pure, vectorised functions on 1-D arrays.

Every function takes array-likes (lists work too), never modifies its input,
and returns a new float64 array of the input's length. Non-finite values
(NaN, ±inf) are passed through unchanged and do not take part in the
smoothing, so a gap in a curve stays a gap.

========================  ====================================================
:func:`ema`               TensorBoard's debiased exponential moving average
:func:`time_weighted_ema` the same, decaying with the x distance between points
:func:`running_average`   trailing mean of the last ``window`` finite values
:func:`gaussian`          Gaussian kernel smoothing, ``sigma`` in x units
:func:`smooth`            dispatcher used by the panel (``kind``, ``amount``)
========================  ====================================================

The EMAs are first-order recurrences ``s[i] = a[i] * s[i-1] + b[i]``. They are
solved without a Python loop: the points are cut into rows short enough that
the product of the ``a`` over a row stays far from underflow (a drop of at
most ``exp(-500)``), each row is solved in closed form with cumulative sums,
and the rows' end states are chained with a short logarithmic scan.
"""

from __future__ import annotations

import numpy as np

from .arrays import as_pair, as_series

from .gaussian import fast_median, gaussian_sorted
from .recurrence import MAX_STEP_DECAY, linear_recurrence

__all__ = [
    "MAX_WEIGHT",
    "SMOOTHING_KINDS",
    "ema",
    "gaussian",
    "running_average",
    "smooth",
    "time_weighted_ema",
]

MAX_WEIGHT = 0.999
"""The largest EMA weight accepted (TensorBoard's slider stops there too)."""

SMOOTHING_KINDS = ("ema", "time-ema", "average", "gaussian", "none")
"""The ``kind`` values :func:`smooth` accepts."""

# 1 - w**n is exactly 1.0 in float64 once w**n <= 2**-54; 54 * ln 2 = 37.43.
_DEBIAS_LOG = 37.5


# --------------------------------------------------------------------------- checks


def _number(value: object, name: str, expected: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {expected}, got {value!r}") from None
    if number != number:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def _check_weight(weight: object, name: str = "weight") -> float:
    expected = f"a number in [0, {MAX_WEIGHT}]"
    w = _number(weight, name, expected)
    if not 0.0 <= w <= MAX_WEIGHT:
        raise ValueError(f"{name} must be {expected}, got {weight!r}")
    return w


def _check_window(window: object, name: str = "window") -> int:
    expected = "an integer >= 1"
    w = _number(window, name, expected)
    if w == float("inf") or not (w >= 1 and w == int(w)):
        raise ValueError(f"{name} must be {expected}, got {window!r}")
    return int(w)


def _check_sigma(sigma: object, name: str = "sigma") -> float:
    expected = "a finite number (<= 0 means no smoothing)"
    s = _number(sigma, name, expected)
    if abs(s) == float("inf"):
        raise ValueError(f"{name} must be {expected}, got {sigma!r}")
    return s


# ----------------------------------------------------------------------- the EMAs


def ema(y: object, weight: float = 0.6) -> np.ndarray:
    """TensorBoard's debiased exponential moving average.

    For each point in order: a non-finite value (NaN, ±inf) is output
    unchanged and not accumulated; otherwise::

        last = last * weight + (1 - weight) * value    # last starts at 0
        n += 1
        smoothed = last / (1 - weight ** n)

    A series whose finite values are all equal is returned unchanged (as
    TensorBoard does, to avoid floating-point drift; TensorBoard only does it
    when the series has no NaN either, which differs by rounding at most).

    Parameters
    ----------
    y : array_like
        The values, 1-D.
    weight : float, default 0.6
        Smoothing weight in ``[0, 0.999]``; 0 returns the input unchanged.

    Returns
    -------
    ndarray
        float64, same length as ``y``.

    Raises
    ------
    ValueError
        If ``weight`` is outside ``[0, 0.999]`` or ``y`` is not 1-D.

    Notes
    -----
    Computed without a Python loop (see the module notes); the result
    matches the loop above to rounding (relative differences around 1e-13).
    """
    w = _check_weight(weight, "weight")
    values = as_series(y, "y")
    if w == 0.0 or values.size == 0:
        return values.copy()
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    v = values if all_finite else values[finite]
    if v.size == 0 or v.min() == v.max():
        return values.copy()
    smoothed = linear_recurrence(v[None, :], weight=w, scale=1.0 - w)[0]
    # The debias divisor 1 - w**n is exactly 1.0 after the first few points.
    n_debias = min(v.size, int(_DEBIAS_LOG / -np.log(w)) + 2)
    smoothed[:n_debias] /= 1.0 - np.power(w, np.arange(1, n_debias + 1, dtype=np.float64))
    if all_finite:
        return smoothed
    out = values.copy()
    out[finite] = smoothed
    return out


def time_weighted_ema(x: object, y: object, weight: float = 0.6, unit: float | None = None) -> np.ndarray:
    """Debiased EMA for unevenly spaced points: decay per unit of x, not per point.

    Between consecutive finite points the state decays by
    ``weight ** (dx / unit)``, where ``unit`` is by default the median positive
    spacing of the x values of the finite points, so evenly spaced data gives
    the same result as :func:`ema`::

        s = s * weight ** (dx / unit) + (1 - weight) * value
        d = d * weight ** (dx / unit) + (1 - weight)
        smoothed = s / d

    that is, each output is the mean of the points so far weighted by
    ``weight ** ((x_now - x_point) / unit)``. Points with the same x weigh
    the same. A point whose y or x is not finite is output unchanged (its y)
    and not accumulated.

    Parameters
    ----------
    x : array_like
        Positions (steps, timestamps), non-decreasing; a step backwards is
        taken as no time elapsed.
    y : array_like
        The values, same length as ``x``.
    weight : float, default 0.6
        Decay per ``unit`` of x, in ``[0, 0.999]``; 0 returns ``y`` unchanged.
    unit : float, optional
        The x distance over which the state decays by ``weight``. Pass it to
        keep the curve independent of how much of the series is given (the
        live panel does); by default the median spacing.

    Returns
    -------
    ndarray
        float64, same length as ``y``.

    Raises
    ------
    ValueError
        If ``weight`` is outside ``[0, 0.999]`` or the lengths differ.

    Notes
    -----
    A single step that decays by more than ``exp(-60)`` is taken as exactly
    ``exp(-60)``: the state it carries is below float64 rounding anyway.
    """
    w = _check_weight(weight, "weight")
    xs, values = as_pair(x, y)
    if w == 0.0 or values.size == 0:
        return values.copy()
    valid = np.isfinite(values) & np.isfinite(xs)
    all_valid = bool(valid.all())
    v = values if all_valid else values[valid]
    if v.size == 0 or v.min() == v.max():
        return values.copy()
    xv = xs if all_valid else xs[valid]
    m = v.size
    log_w = float(np.log(w))
    log_a = np.empty(m)
    log_a[0] = log_w
    if unit is not None and not (float(unit) > 0 and np.isfinite(float(unit))):
        raise ValueError(f"unit must be a positive number, got {unit!r}")
    if m > 1:
        dx = np.diff(xv)
        lo, hi = float(dx.min()), float(dx.max())
        if unit is not None:
            unit = float(unit)
        elif lo > 0 and lo == hi:
            unit = lo
        else:
            positive = dx[dx > 0]
            unit = fast_median(positive) if positive.size else 1.0
        np.multiply(dx, log_w / unit, out=log_a[1:])
        # a step backwards (dx < 0) gives log_a > 0: clipped to 0, no decay
        np.clip(log_a, -MAX_STEP_DECAY, 0.0, out=log_a)
    b = np.empty((2, m))
    b[0] = v
    b[1] = 1.0
    s, d = linear_recurrence(b, log_a=log_a)
    smoothed = s / d
    if all_valid:
        return smoothed
    out = values.copy()
    out[valid] = smoothed
    return out


# ------------------------------------------------------------------ running average


def running_average(y: object, window: int = 10) -> np.ndarray:
    """Trailing mean of the last ``window`` finite values (fewer at the start).

    Non-finite values are output unchanged and neither counted nor summed:
    the window reaches back over them.

    Parameters
    ----------
    y : array_like
        The values, 1-D.
    window : int, default 10
        Number of finite values averaged, ``>= 1``; 1 returns ``y`` unchanged.

    Returns
    -------
    ndarray
        float64, same length as ``y``.

    Raises
    ------
    ValueError
        If ``window`` is not an integer ``>= 1``.

    Notes
    -----
    The window sums come from cumulative sums restarted every ``window``
    values (a prefix sum of the current block plus a suffix sum of the
    previous one), so rounding stays that of a sum of ``window`` terms, not of
    the whole series.
    """
    size = _check_window(window, "window")
    values = as_series(y, "y")
    if size == 1 or values.size == 0:
        return values.copy()
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    v = values if all_finite else values[finite]
    m = v.size
    if m == 0:
        return values.copy()
    if size >= m:
        means = np.cumsum(v)
    else:
        rows = -(-m // size)
        if rows * size == m:
            blocks = v.reshape(rows, size)
        else:
            blocks = np.zeros((rows, size))
            blocks.reshape(-1)[:m] = v
        prefix = np.cumsum(blocks, axis=1)
        suffix = np.cumsum(blocks[:, ::-1], axis=1)[:, ::-1]
        # window ending at (row r, column t) = row r up to t + row r-1 after t
        prefix[1:, :-1] += suffix[:-1, 1:]
        means = prefix.reshape(-1)[:m]
    head = min(size, m)  # the first values average fewer points
    first = means[:head] / np.arange(1, head + 1, dtype=np.float64)
    means /= size
    means[:head] = first
    if all_finite:
        return means
    out = values.copy()
    out[finite] = means
    return out


# ------------------------------------------------------------------------ gaussian


def gaussian(x: object, y: object, sigma: float) -> np.ndarray:
    """Gaussian kernel smoothing with ``sigma`` in x units.

    Each finite point becomes the weighted mean of the finite points within
    ``3 * sigma`` of it (itself included), with weights
    ``exp(-dx**2 / (2 * sigma**2))``. Non-finite values (or points whose x is
    not finite) are output unchanged and not used.

    Parameters
    ----------
    x : array_like
        Positions, any order (sorted internally), may be unevenly spaced.
    y : array_like
        The values, same length as ``x``.
    sigma : float
        Kernel width in x units; ``<= 0`` returns ``y`` unchanged.

    Returns
    -------
    ndarray
        float64, same length as ``y``.

    Raises
    ------
    ValueError
        If ``sigma`` is not a finite number or the lengths differ.

    Notes
    -----
    Exact (up to rounding) in the two common cases, approximate otherwise:

    * x on a uniform grid (every x an integer multiple of the median or of
      the smallest spacing ``h`` away from the first, holes allowed, e.g.
      steps): the points are placed on that grid and convolved with the kernel sampled every ``h``
      (directly, or by FFT overlap-add for wide kernels), then divided by
      the convolved count of points. Exact.
    * otherwise, if no point has 8 or more neighbours within ``3 * sigma`` on
      a side: direct sums over the neighbours. Exact.
    * otherwise: a uniform grid of spacing ``h`` (the median gap, kept
      within ``[sigma / 8, sigma / 4]``); each point is split linearly
      between its two nearest nodes, values and counts are convolved, and the
      ratio is interpolated back linearly. The kernel is narrowed by the
      variance the splitting and the interpolation add (``h**2 / 3``). The
      error is a small fraction of the local variation of the curve (about
      1% of it at worst, mostly from the kernel's cut at ``3 * sigma``), and
      the result is always a weighted mean of nearby values (no overshoot).

    Gaps wider than the kernel are shortened before gridding, so far-apart
    clusters cost nothing.
    """
    xs, values = as_pair(x, y)
    s = _check_sigma(sigma, "sigma")
    if s <= 0 or values.size < 2:
        return values.copy()
    valid = np.isfinite(values) & np.isfinite(xs)
    all_valid = bool(valid.all())
    xv = xs if all_valid else xs[valid]
    v = values if all_valid else values[valid]
    if v.size < 2:
        return values.copy()
    dx = np.diff(xv)
    order = None
    if dx.min() < 0:
        order = np.argsort(xv, kind="stable")
        xv = xv[order]
        v = v[order]
        dx = np.diff(xv)
    smoothed = gaussian_sorted(xv, v, dx, s)
    if order is not None:
        unsorted = np.empty_like(smoothed)
        unsorted[order] = smoothed
        smoothed = unsorted
    if all_valid:
        return smoothed
    out = values.copy()
    out[valid] = smoothed
    return out


# ---------------------------------------------------------------------- dispatcher


def smooth(kind: str, x: object, y: object, amount: float) -> np.ndarray:
    """Smooth ``y`` the way the panel's smoothing control asks.

    Parameters
    ----------
    kind : {"ema", "time-ema", "average", "gaussian", "none"}
        The method.
    x : array_like or None
        Positions, used by ``"time-ema"`` and ``"gaussian"``; ``None`` means
        the point index.
    y : array_like
        The values.
    amount : float
        The weight for the EMAs (``0..0.999``), the window in points for
        ``"average"`` (integer ``>= 1``), sigma in x units for ``"gaussian"``;
        ignored for ``"none"``.

    Returns
    -------
    ndarray
        float64, same length as ``y``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``amount`` is out of range for it.
    """
    if kind == "none":
        return as_series(y, "y").copy()
    if kind == "ema":
        return ema(y, _check_weight(amount, "amount"))
    if kind == "average":
        return running_average(y, _check_window(amount, "amount"))
    if kind in ("time-ema", "gaussian"):
        values = as_series(y, "y")
        xs = np.arange(values.size, dtype=np.float64) if x is None else x
        if kind == "time-ema":
            return time_weighted_ema(xs, values, _check_weight(amount, "amount"))
        return gaussian(xs, values, _check_sigma(amount, "amount"))
    raise ValueError(f"kind must be one of {', '.join(SMOOTHING_KINDS)}; got {kind!r}")
