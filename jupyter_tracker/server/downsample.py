"""Min/max downsampling of one metric for ``GET /history?samples=N``.

The rule is the live panel's (:func:`jupyter_tracker.numerics.decimate.minmax`): the
points are cut, in step order, into about ``n / 2`` buckets of consecutive
points; each bucket keeps its smallest and its largest finite value, and one
non-finite point if it has any (NaN and infinities are gaps a chart must
show); the first and last points are always kept.

Both functions here return *indices*, so that a metric's step, timestamp and
value arrays are all taken at the same points and values come back exactly
as stored (an infinity stays an infinity); :func:`minmax_indices` is the
numerics layer's, shared with the local readers.
"""

from __future__ import annotations

import numpy as np

from ..numerics.decimate import minmax_indices

__all__ = ["minmax_indices", "extremes_every"]


def extremes_every(values: np.ndarray, width: int) -> np.ndarray:
    """Sorted indices of the endpoints and, for every ``width`` inner points, their
    finite min and max and first non-finite point.

    The buckets start after the first point: ``[1, 1 + width)``, ... and the
    last one stops before the last point. This is a chunk's *sketch*: the
    downsampling of many chunks at once can read it instead of their points.
    """
    size = len(values)
    if size <= 2:
        return np.arange(size, dtype=np.int64)
    inner = values[1:-1]
    full = len(inner) // width
    parts = [np.zeros(1, dtype=np.int64)]
    if full:
        parts.extend(_bucket_extremes(inner[: full * width].reshape(full, width), 1))
    if full * width < len(inner):
        parts.extend(_bucket_extremes(inner[full * width :].reshape(1, -1), 1 + full * width))
    parts.append(np.array([size - 1], dtype=np.int64))
    return np.unique(np.concatenate(parts))


def _bucket_extremes(block: np.ndarray, start: int) -> list[np.ndarray]:
    """Indices (from ``start``) of each row's finite min and max and first non-finite value."""
    offsets = np.arange(block.shape[0], dtype=np.int64) * block.shape[1] + start
    finite = np.isfinite(block)
    if finite.all():
        return [offsets + block.argmin(axis=1), offsets + block.argmax(axis=1)]
    lows = np.where(finite, block, np.inf).argmin(axis=1)
    highs = np.where(finite, block, -np.inf).argmax(axis=1)
    has_finite = finite.any(axis=1)
    gaps = (~finite).argmax(axis=1)
    has_gap = ~finite.all(axis=1)
    return [(offsets + lows)[has_finite], (offsets + highs)[has_finite], (offsets + gaps)[has_gap]]
