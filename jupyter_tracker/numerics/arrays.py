"""User input as 1-D float64 arrays: the checks smoothing and decimation share."""

from __future__ import annotations

import numpy as np

__all__ = ["as_series", "as_pair"]


def as_series(values: object, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array; ``ValueError`` naming ``name`` otherwise."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def as_pair(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as 1-D float64 arrays of the same length."""
    xa = as_series(x, "x")
    ya = as_series(y, "y")
    if xa.shape != ya.shape:
        raise ValueError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    return xa, ya
