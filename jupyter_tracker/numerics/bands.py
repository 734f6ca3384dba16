"""A group of runs as one line: the mean over its runs, with a band around it.

Runs of one group rarely log the same x values (one stopped early, one logs
every 2 steps, one was resumed). They are aligned before any aggregation:

1. each run's points with a non-finite x are left out, and its points are put
   in x order (a stable sort: points at the same x keep their log order);
2. the group's x values are the union of its runs' x values;
3. at each of them, a run contributes its **last value at or before that x**
   (the line as it is read: a step function), but only between its own first and
   last x: a run that stopped is never extended past its end, and one that
   started late contributes nothing before its start;
4. a non-finite value (NaN, ±inf) where a run is read contributes nothing there.

At each x the band then holds ``count`` (runs contributing), ``mean``, ``lo``
and ``hi`` (min and max), ``std`` (the sample standard deviation, ``ddof=1``;
0 with one run) and ``sem`` (``std / sqrt(count)``); all NaN where no run
contributes. :func:`band_edges` gives the shaded area for the band kinds the
views offer: ``minmax`` (the default), ``std`` (mean ± std) and ``sem`` (mean ± SEM).

The JupyterLab extension computes the same (``groupBand`` in
``labextension/src/series.ts``); both are checked against the vectors in
``tests/data/group_bands.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Band", "BAND_KINDS", "group_band", "band_edges", "aligned"]

#: The band kinds, in the order the menus show them.
BAND_KINDS = ("minmax", "std", "sem")


@dataclass(frozen=True)
class Band:
    """The aggregate of a group's lines on their common x values."""

    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    std: np.ndarray
    sem: np.ndarray
    count: np.ndarray
    runs: int


def _clean(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"a line's x and y differ in length ({xs.size} and {ys.size})")
    keep = np.isfinite(xs)
    xs, ys = xs[keep], ys[keep]
    if xs.size > 1 and np.any(np.diff(xs) < 0):
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    return xs, ys


def aligned(lines: Sequence[tuple[object, object]]) -> tuple[np.ndarray, np.ndarray]:
    """The union of the lines' x values and each line read there (rows: lines; NaN where a
    line does not contribute), by the rules in this module's docstring."""
    cleaned = [_clean(x, y) for x, y in lines]
    xs = np.unique(np.concatenate([c[0] for c in cleaned])) if cleaned else np.zeros(0)
    table = np.full((len(cleaned), xs.size), np.nan)
    for row, (lx, ly) in enumerate(cleaned):
        if not lx.size:
            continue
        at = np.searchsorted(lx, xs, side="right") - 1
        inside = (at >= 0) & (xs <= lx[-1])
        table[row, inside] = ly[at[inside]]
    table[~np.isfinite(table)] = np.nan
    return xs, table


def group_band(lines: Sequence[tuple[object, object]]) -> Band:
    """Mean, min/max, std and SEM of ``lines`` (``(x, y)`` pairs) after aligning them on x."""
    xs, table = aligned(lines)
    ok = ~np.isnan(table)
    count = ok.sum(axis=0)
    some = count > 0
    filled = np.where(ok, table, 0.0)
    mean = np.full(xs.size, np.nan)
    mean[some] = filled[:, some].sum(axis=0) / count[some]
    lo = np.full(xs.size, np.nan)
    hi = np.full(xs.size, np.nan)
    lo[some] = np.where(ok, table, np.inf)[:, some].min(axis=0, initial=np.inf)
    hi[some] = np.where(ok, table, -np.inf)[:, some].max(axis=0, initial=-np.inf)
    deviation = np.where(ok, table - mean, 0.0)
    std = np.full(xs.size, np.nan)
    std[some] = 0.0
    many = count > 1
    std[many] = np.sqrt((deviation[:, many] ** 2).sum(axis=0) / (count[many] - 1))
    sem = np.full(xs.size, np.nan)
    sem[some] = std[some] / np.sqrt(count[some])
    return Band(xs, mean, lo, hi, std, sem, count.astype(np.int64), len(lines))


def band_edges(band: Band, kind: str = "minmax") -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper edge of the shaded area: ``minmax``, ``std`` or ``sem``.

    Raises
    ------
    ValueError
        For another ``kind`` (named).
    """
    if kind == "minmax":
        return band.lo, band.hi
    if kind == "std":
        return band.mean - band.std, band.mean + band.std
    if kind == "sem":
        return band.mean - band.sem, band.mean + band.sem
    raise ValueError(f"band kind must be one of {', '.join(BAND_KINDS)}; got {kind!r}")
