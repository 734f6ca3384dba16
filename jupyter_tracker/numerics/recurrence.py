"""First-order linear recurrences ``s[i] = a[i] * s[i-1] + b[i]``, vectorised.

The machinery behind the EMAs of :mod:`jupyter_tracker.numerics.smoothing`: the
points are cut into rows short enough that the product of the ``a`` over a
row stays far from underflow (a drop of at most ``exp(-500)``), each row is
solved in closed form with cumulative sums, and the rows' end states are
chained with a short logarithmic scan. No Python loop runs over points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_recurrence", "MAX_STEP_DECAY"]

# One row of the chunked recurrence spans at most this much decay, in log units:
# the growth factors 1/a inside a row stay below exp(500) ~ 1e217.
_ROW_DECAY = 500.0
# Values up to this size need no rescaling inside a row (1e80 * 1e6 * 1e217 < 1e308).
_SAFE_MAGNITUDE = 1e80
# The recurrence works on groups of about this many points at a time, so that
# its several passes over a group run in the CPU cache.
_GROUP = 1 << 14
#: A single step forgets at most this much (exp(-60) ~ 1e-26, far below rounding).
MAX_STEP_DECAY = 60.0


def _row_scan(log_factors: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Chain row end states in place: ``states[:, r] += exp(log_factors[r]) * states[:, r-1]``.

    A Hillis-Steele scan (``log2(rows)`` passes at most). The combined
    factors are kept as logarithms and applied as ``exp(log_factor +
    log|state|)``, so a long decay applied to a huge state is not lost to
    an underflowing product of factors. It stops once every remaining
    contribution would underflow (after one or two passes when each row
    decays by ``exp(-500)``).
    """
    la = log_factors.copy()
    rows = la.size
    if rows < 2:
        return states
    with np.errstate(divide="ignore", under="ignore"):
        # no state can grow beyond rows times the largest one
        top = float(np.log(np.abs(states).max())) + float(np.log(rows))
        offset = 1
        while offset < rows:
            prev = states[:, :-offset]
            states[:, offset:] += np.sign(prev) * np.exp(la[offset:] + np.log(np.abs(prev)))
            la[offset:] = la[offset:] + la[:-offset]
            offset *= 2
            if offset >= rows or float(la[offset:].max()) + top < -746.0:
                break
    return states


def linear_recurrence(
    b: np.ndarray,
    *,
    weight: float | None = None,
    log_a: np.ndarray | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Solve ``r[:, i] = a[i] * r[:, i-1] + b[:, i]`` with ``r[:, -1] = 0``; return ``scale * r``.

    Parameters
    ----------
    b : ndarray, shape (k, m)
        ``k`` right-hand sides sharing the same factors (not modified).
    weight : float, optional
        Constant factor ``a[i] = weight`` in (0, 1).
    log_a : ndarray, shape (m,), optional
        Otherwise ``a[i] = exp(log_a[i])``, every ``log_a[i]`` in
        ``[-MAX_STEP_DECAY, 0]`` and ``log_a[0] < 0``.
    scale : float, default 1.0
        Multiplies the result (folded into the last pass).

    Returns
    -------
    ndarray, shape (k, m)

    Notes
    -----
    The points are cut into rows over which the factors multiply to no less
    than ``exp(-500)``. With ``D`` the running product of the factors from the
    row start, a row entered with state ``S`` has the closed form
    ``r_i = D_i * (S + cumsum(b_j / D_j))``. The row end states are chained by
    :func:`_row_scan`. Rows are processed in groups of about ``_GROUP``
    points, so that the few passes over a group run in cache, and the state is
    carried from group to group.
    """
    k, m = b.shape
    out = np.empty((k, m))
    if m == 0:
        return out
    if weight is not None:
        step_decay = -float(np.log(weight))
    else:
        assert log_a is not None
        step_decay = -float(log_a.min())
    width = min(m, _GROUP)
    if step_decay * width > _ROW_DECAY:
        width = max(1, int(_ROW_DECAY // step_decay))
    per_group = max(1, _GROUP // width) * width
    # Huge values (> 1e80) are rescaled by a power of two (exact) so that b / D
    # stays below 1e217; values over 1e230 times smaller than the largest then
    # underflow. Single-point rows have no growth factors and need none.
    big = max(float(b.max()), -float(b.min()))
    shift = int(np.frexp(big)[1]) if big > _SAFE_MAGNITUDE and width > 1 else 0
    if weight is not None:
        decay = np.power(weight, np.arange(1, width + 1, dtype=np.float64))
        growth = np.ldexp(1.0 / decay, -shift)
        decay_scaled = decay * scale
        factors_all = np.full(per_group // width, decay[-1])
        log_factors_all = np.full(per_group // width, width * np.log(weight))
    else:
        decay = np.empty(per_group)
        growth = np.empty(per_group)
        decay_scaled = np.empty(per_group)
    work = np.empty((k, per_group))
    state = np.zeros(k)
    with np.errstate(under="ignore"):
        for start in range(0, m, per_group):
            stop = min(m, start + per_group)
            n = stop - start
            rows = -(-n // width)
            size = rows * width
            loc = work[:, :size].reshape(k, rows, width)
            if size == n:
                src = b[:, start:stop].reshape(k, rows, width)
                dest = out[:, start:stop].reshape(k, rows, width)
            else:
                src = loc
                loc[...] = 0.0
                work[:, :n] = b[:, start:stop]
                dest = loc
            if weight is None:
                assert log_a is not None
                d = decay[:size].reshape(rows, width)
                la = d.reshape(-1)
                la[n:] = 0.0
                la[:n] = log_a[start:stop]
                np.cumsum(d, axis=1, out=d)
                log_factors = d[:, -1].copy()
                np.exp(d, out=d)
                g = growth[:size].reshape(rows, width)
                np.divide(1.0, d, out=g)
                if shift:
                    np.ldexp(g, -shift, out=g)
                ds = d
                if scale != 1.0:
                    ds = np.multiply(d, scale, out=decay_scaled[:size].reshape(rows, width))
                factors = d[:, -1]
            else:
                g, ds = growth, decay_scaled
                factors = factors_all[:rows]
                log_factors = log_factors_all[:rows]
            if width == 1:
                # single-point rows: the chaining below is the whole recurrence
                ends = src[:, :, 0].copy()
                ends[:, 0] += factors[0] * state
                _row_scan(log_factors, ends)
                np.multiply(ends[:, :, None], scale, out=dest)
            else:
                np.multiply(src, g, out=loc)
                np.cumsum(loc, axis=2, out=loc)
                ends = loc[:, :, -1] * factors
                ends[:, 0] += factors[0] * state
                _row_scan(log_factors, ends)
                if start:
                    loc[:, 0, :] += state[:, None]
                if rows > 1:
                    loc[:, 1:, :] += ends[:, :-1, None]
                np.multiply(loc, ds, out=dest)
            if shift:
                np.ldexp(dest, shift, out=dest)
            if dest is loc:
                out[:, start:stop] = work[:, :n]
            state = ends[:, -1]
    return out
