"""Decimation for plotting long metric curves: keep few points, lose no feature.

========================  ====================================================
:func:`minmax`            per bucket of consecutive points, keep the min and
                          the max (and a gap marker): spikes and gaps survive
:func:`minmax_indices`    the same, as the indices of the points kept
:func:`lttb`              Largest-Triangle-Three-Buckets: keeps the visual shape
:class:`MinMaxIndex`      :func:`minmax` for a growing series, updated in time
                          proportional to the new points only
========================  ====================================================

Non-finite values are gaps. :func:`minmax` and :class:`MinMaxIndex` keep one
gap point per bucket that holds any (NaN, +inf or -inf), so a plotted line
shows the break; :func:`lttb` drops them.
"""

from __future__ import annotations

import numpy as np

from .arrays import as_pair, as_series

__all__ = ["MinMaxIndex", "lttb", "minmax", "minmax_indices"]


def _integer(value: object, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class _Buckets:
    """Per-bucket extremes: index of the min and max finite value, of the first gap.

    Indices are -1 where a bucket has no finite value / no gap; ``low`` and
    ``high`` (the min and max values) are then +inf and -inf.
    """

    __slots__ = ("imin", "imax", "igap", "low", "high")

    def __init__(self, imin: np.ndarray, imax: np.ndarray, igap: np.ndarray, low: np.ndarray, high: np.ndarray):
        self.imin, self.imax, self.igap, self.low, self.high = imin, imax, igap, low, high

    @classmethod
    def of(cls, y: np.ndarray, size: int, base: int = 0) -> _Buckets:
        """Buckets of ``size`` consecutive values of ``y`` (the last may be short)."""
        full = y.size // size
        parts = []
        if full:
            parts.append(cls._rows(y[: full * size].reshape(full, size), size, base))
        if y.size > full * size:
            tail = y[full * size :]
            parts.append(cls._rows(tail.reshape(1, tail.size), size, base + full * size))
        if not parts:
            none = np.empty(0, dtype=np.intp)
            return cls(none, none.copy(), none.copy(), np.empty(0), np.empty(0))
        if len(parts) == 1:
            return parts[0]
        a, b = parts
        return cls(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in cls.__slots__))

    @classmethod
    def _rows(cls, block: np.ndarray, size: int, base: int) -> _Buckets:
        """One bucket per row of ``block``; ``size`` apart in the series from ``base``."""
        count = block.shape[0]
        rows = np.arange(count)
        imin = block.argmin(axis=1)
        imax = block.argmax(axis=1)
        low = block[rows, imin]
        high = block[rows, imax]
        igap = np.full(count, -1, dtype=np.intp)
        # A row holding NaN reports it from argmin and argmax, one holding
        # -inf / +inf from argmin / argmax: only those rows need a second look.
        bad = np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)))
        if bad.size:
            sub = block[bad]
            finite = np.isfinite(sub)
            lo_sub = np.where(finite, sub, np.inf)
            hi_sub = np.where(finite, sub, -np.inf)
            which = np.arange(bad.size)
            imin[bad] = lo_sub.argmin(axis=1)
            imax[bad] = hi_sub.argmax(axis=1)
            low[bad] = lo_sub[which, imin[bad]]
            high[bad] = hi_sub[which, imax[bad]]
            igap[bad] = (~finite).argmax(axis=1)
        starts = rows * size + base
        imin += starts
        imax += starts
        empty = low == np.inf
        imin[empty] = -1
        imax[empty] = -1
        if bad.size:
            igap[bad] += starts[bad]
        return cls(imin, imax, igap, low, high)

    def indices(self) -> np.ndarray:
        both = np.concatenate([self.imin, self.imax, self.igap])
        return both[both >= 0]


def _merge(a: _Buckets, b: _Buckets) -> _Buckets:
    """Bucket-wise union of ``a`` and the buckets ``b`` that follow them (same shape)."""
    take_min = b.low < a.low  # ties keep the earlier point, as argmin does
    take_max = b.high > a.high
    return _Buckets(
        np.where(take_min, b.imin, a.imin),
        np.where(take_max, b.imax, a.imax),
        np.where(a.igap >= 0, a.igap, b.igap),
        np.where(take_min, b.low, a.low),
        np.where(take_max, b.high, a.high),
    )


def _finish(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yo = y[idx]
    yo[~np.isfinite(yo)] = np.nan
    return x[idx], yo


def minmax(x: object, y: object, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Decimate to at most ``n`` points keeping every bucket's extremes.

    The points are split, in index order, into about ``n / 2`` buckets of
    consecutive points. Each bucket keeps the points holding its smallest and
    largest finite y (in their original order), so spikes are never lost,
    and one point where y is not finite if it holds any, reported with
    y = NaN so that a plotted line shows the gap. The first and last points
    are always kept. If the gap markers would make the total exceed ``n``,
    fewer, larger buckets are used.

    Parameters
    ----------
    x, y : array_like
        The curve, same length, in plotting order.
    n : int, default 2000
        The most points returned, ``>= 4``.

    Returns
    -------
    x_out, y_out : ndarray
        float64. Copies of the input if it has at most ``n`` points;
        otherwise the kept points in order, non-finite y as NaN.

    Raises
    ------
    ValueError
        If ``n`` is not an integer ``>= 4`` or the lengths differ.
    """
    xs, ys = as_pair(x, y)
    limit = _integer(n, "n", 4)
    total = ys.size
    if total <= limit:
        return xs.copy(), ys.copy()
    ends = np.array([0, total - 1])
    buckets = (limit - 2) // 2
    for attempt in range(3):
        found = _Buckets.of(ys, -(-total // buckets))
        idx = np.unique(np.concatenate([ends, found.indices()]))
        if idx.size <= limit:
            return _finish(xs, ys, idx)
        # gap markers overflowed: room for them first, then a sure fit
        gaps = int(np.count_nonzero(found.igap >= 0))
        buckets = max(1, (limit - 2 - gaps) // 2 if attempt == 0 else (limit - 2) // 3)
    # n == 4 with a gap: drop the gap marker
    idx = np.unique(np.concatenate([ends, found.imin, found.imax]))
    return _finish(xs, ys, idx[idx >= 0])


def minmax_indices(values: object, n: int) -> np.ndarray:
    """Sorted indices of at most ``n`` points of ``values`` that :func:`minmax` keeps.

    Indices rather than points, so that several arrays of one series (steps,
    timestamps, values) are taken at the same points and values come back
    exactly as stored (an infinity stays an infinity). The server's
    ``history?samples=N`` and the local readers use it.

    Parameters
    ----------
    values
        One metric's values in order (float64).
    n
        The most points wanted (below 4, 4: the endpoints and one bucket).

    Returns
    -------
    numpy.ndarray
        Increasing int64 indices into ``values``; all of them when ``len(values) <= n``.
    """
    ys = as_series(values, "values")
    size = ys.size
    n = max(int(n), 4)
    if size <= n:
        return np.arange(size, dtype=np.int64)
    # Decimate the positions themselves: what comes back as x are the indices kept.
    positions, _ = minmax(np.arange(size, dtype=np.float64), ys, n)
    return positions.astype(np.int64)


def lttb(x: object, y: object, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Largest-Triangle-Three-Buckets decimation (Steinarsson, 2013).

    Points where x or y is not finite are dropped first (LTTB measures
    triangle areas, which a gap has none of; use :func:`minmax` to keep
    gaps visible). The first and last remaining points are kept; the others
    are split into ``n - 2`` buckets of consecutive points, and from each
    bucket the point forming the largest triangle with the point kept from
    the previous bucket and the mean of the next bucket is kept.

    Parameters
    ----------
    x, y : array_like
        The curve, same length, x in plotting order.
    n : int, default 2000
        The most points returned, ``>= 3``.

    Returns
    -------
    x_out, y_out : ndarray
        float64; the finite points themselves if there are at most ``n``.

    Raises
    ------
    ValueError
        If ``n`` is not an integer ``>= 3`` or the lengths differ.
    """
    xs, ys = as_pair(x, y)
    limit = _integer(n, "n", 3)
    finite = np.isfinite(xs) & np.isfinite(ys)
    if not bool(finite.all()):
        xs, ys = xs[finite], ys[finite]
    total = ys.size
    if total <= limit:
        return xs.copy(), ys.copy()
    nb = limit - 2
    # bucket i holds points edges[i] .. edges[i + 1] - 1, between the two ends
    edges = (np.arange(nb + 1) * ((total - 2) / nb)).astype(np.intp) + 1
    edges[-1] = total - 1
    starts = edges[:-1]
    counts = np.diff(edges)
    mean_x = np.add.reduceat(xs[: total - 1], starts) / counts
    mean_y = np.add.reduceat(ys[: total - 1], starts) / counts
    # the point the last bucket looks ahead to is the last point itself
    next_x = np.append(mean_x[1:], xs[-1]).tolist()
    next_y = np.append(mean_y[1:], ys[-1]).tolist()
    bounds = edges.tolist()
    keep = np.empty(limit, dtype=np.intp)
    keep[0] = 0
    keep[-1] = total - 1
    ax, ay = float(xs[0]), float(ys[0])
    for i in range(nb):
        lo, hi = bounds[i], bounds[i + 1]
        bx, by = xs[lo:hi], ys[lo:hi]
        cx, cy = next_x[i], next_y[i]
        # twice the triangle area, up to sign: (a - c) x (b - a)
        area = (ax - cx) * (by - ay) - (ax - bx) * (cy - ay)
        j = lo + int(np.abs(area).argmax())
        keep[i + 1] = j
        ax, ay = float(xs[j]), float(ys[j])
    return xs[keep], ys[keep]


class MinMaxIndex:
    """Incremental :func:`minmax` for a growing series.

    Keeps, for buckets of ``bucket_size`` consecutive points, the index of
    the min and max finite value and of the first non-finite value. Adding
    points costs time proportional to the new points (plus a bounded
    ``O(target)`` when buckets are merged), not to the history, so a panel
    redrawing a long curve on every new point stays fast.

    The bucket size starts at 1 and doubles (by merging neighbouring buckets)
    whenever more than ``target // 2`` buckets would be needed, so it is the
    smallest power of two that covers the series in ``target // 2`` buckets:
    the result is the same however the series was fed.

    Parameters
    ----------
    target : int, default 2000
        About the most indices returned, ``>= 4``: at most ``target + 2``,
        plus one per bucket that holds a gap.

    Attributes
    ----------
    scanned : int
        Values of ``y_all`` read by :meth:`extend` since the last
        :meth:`reset`: each point is read once.

    Examples
    --------
    ::

        idx = MinMaxIndex(target=1000)
        idx.extend(y, 0)                 # y: everything so far
        idx.extend(y_longer, len(y))     # later: only the new tail is read
        keep = idx.indices()             # plot x[keep], y[keep]
    """

    __slots__ = ("target", "_cap", "_size", "_n", "_count", "_imin", "_imax", "_igap", "_low", "_high", "scanned")

    def __init__(self, target: int = 2000) -> None:
        self.target = _integer(target, "target", 4)
        self._cap = self.target // 2
        self._imin = np.empty(self._cap, dtype=np.intp)
        self._imax = np.empty(self._cap, dtype=np.intp)
        self._igap = np.empty(self._cap, dtype=np.intp)
        self._low = np.empty(self._cap)
        self._high = np.empty(self._cap)
        self.scanned = 0
        self.reset()

    def reset(self) -> None:
        """Forget everything (after y values changed, e.g. a new smoothing)."""
        self._size = 1
        self._n = 0
        self._count = 0
        self.scanned = 0

    @property
    def bucket_size(self) -> int:
        """Points per bucket (a power of two)."""
        return self._size

    @property
    def buckets(self) -> int:
        """Number of buckets in use (at most ``target // 2``)."""
        return self._count

    def __len__(self) -> int:
        """Number of points of the series indexed so far."""
        return self._n

    def extend(self, y_all: object, start: int) -> None:
        """Take in the points of ``y_all`` from index ``start`` on.

        Parameters
        ----------
        y_all : array_like
            The whole series as it is now (1-D float64 avoids a copy).
        start : int
            Index of the first new (or changed) point. Points before it are
            assumed unchanged and are not read. A ``start`` beyond what was
            indexed so far is treated as "everything not yet indexed"; a
            smaller one re-reads from the start of its bucket. A series
            shorter than before starts the index over.
        """
        y = as_series(y_all, "y_all")
        first = _integer(start, "start", 0)
        total = y.size
        if total < self._n:
            self.reset()
        elif first < self._n:
            kept = min(self._count, first // self._size)
            self._count = kept
            self._n = kept * self._size
        while True:
            if self._n < total and self._n % self._size:
                self._fill_last(y, min(total, (self._n // self._size + 1) * self._size))
            # here self._n is at a bucket boundary or at the end
            if self._count + -(-(total - self._n) // self._size) <= self._cap:
                break
            self._merge_pairs()
        if self._n < total:
            found = _Buckets.of(y[self._n : total], self._size, self._n)
            self.scanned += total - self._n
            k = found.imin.size
            self._store(slice(self._count, self._count + k), found)
            self._count += k
            self._n = total

    def indices(self) -> np.ndarray:
        """The indices to plot: first, last, and every bucket's extremes and gap, sorted.

        Returns
        -------
        ndarray of int64
        """
        if self._n == 0:
            return np.empty(0, dtype=np.int64)
        c = self._count
        both = np.concatenate([[0, self._n - 1], self._imin[:c], self._imax[:c], self._igap[:c]])
        return np.unique(both[both >= 0]).astype(np.int64, copy=False)

    def _stored(self, at: slice | int) -> _Buckets:
        return _Buckets(self._imin[at], self._imax[at], self._igap[at], self._low[at], self._high[at])

    def _store(self, at: slice | int, b: _Buckets) -> None:
        self._imin[at], self._imax[at], self._igap[at] = b.imin, b.imax, b.igap
        self._low[at], self._high[at] = b.low, b.high

    def _fill_last(self, y: np.ndarray, stop: int) -> None:
        """Add ``y[self._n:stop]`` (all in the last, partial bucket) to that bucket."""
        part = y[self._n : stop]
        found = _Buckets.of(part, part.size, self._n)
        last = slice(self._count - 1, self._count)
        self._store(last, _merge(self._stored(last), found))
        self.scanned += part.size
        self._n = stop

    def _merge_pairs(self) -> None:
        """Double the bucket size: bucket pairs (0, 1), (2, 3), ... become one."""
        c = self._count
        pairs = c // 2
        merged = _merge(self._stored(slice(0, 2 * pairs, 2)), self._stored(slice(1, 2 * pairs, 2)))
        if c % 2:
            self._store(slice(pairs, pairs + 1), self._stored(slice(c - 1, c)))
        self._store(slice(0, pairs), merged)
        self._count = pairs + c % 2
        self._size *= 2
