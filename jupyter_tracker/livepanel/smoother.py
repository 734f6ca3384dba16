"""Smoothing a growing series at a cost that does not grow with it.

The panel smooths full-resolution data (the curve must not depend on zoom or
history length), but a redraw must cost the same at 10^3 and 10^6 points. The
smoothers of :mod:`jupyter_tracker.numerics.smoothing` all have a bounded reach, so a
redraw only recomputes the new points from a window reaching back far enough:

- EMAs forget: a point older than ``log(1e-14) / log(weight)`` finite points
  (``weight ** (dx / unit)`` for the time-weighted one) weighs less than
  1e-14, so recomputing from that far back gives the same values to 1e-12.
- The running average looks back ``window`` finite points, exactly.
- The Gaussian looks 3 sigma both ways: new points also change the last
  3 sigma of the curve, which stay a "tail" redrawn until they are stable.

Values computed once (before ``stable``) are never recomputed, so the panel
indexes them once for decimation.
"""

from __future__ import annotations

import math

import numpy as np

from ..numerics import smoothing
from .series import Column

__all__ = ["LiveSmoother", "amount_for"]

_FORGET = math.log(1e-14)


def amount_for(kind: str, strength: float, x: np.ndarray) -> float:
    """The panel's single "strength" slider (0 to 0.99) as each smoother's argument."""
    strength = min(max(float(strength), 0.0), 0.99)
    if kind in ("ema", "time-ema"):
        return strength
    if kind == "average":
        return float(max(1, round(1 + strength * 99)))
    if kind == "gaussian":
        return strength * 20.0 * _unit(x)
    return 0.0


def _unit(x: np.ndarray) -> float:
    """The median positive spacing of the first points (1.0 when there is none)."""
    head = x[: 4097]
    steps = np.diff(head[np.isfinite(head)])
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else 1.0


class LiveSmoother:
    """Keeps the smoothed values of one growing series up to date."""

    def __init__(self) -> None:
        self.kind = "none"
        self.strength = 0.0
        self.values = Column()
        self.n = 0  # points computed
        self.stable = 0  # points that will not change any more
        self.amount = 0.0
        self.unit = 1.0
        self._configured = False

    def configure(self, kind: str, strength: float) -> None:
        """Start over with another smoother (the next update recomputes everything)."""
        if kind not in smoothing.SMOOTHING_KINDS:
            raise ValueError(f"smoothing kind {kind!r}: use one of {', '.join(smoothing.SMOOTHING_KINDS)}")
        self.kind, self.strength = kind, float(strength)
        self.values = Column()
        self.n = self.stable = 0
        self._configured = False

    def _compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        kind = self.kind
        if kind == "none" or not len(y):
            return np.array(y, dtype=np.float64)
        if kind == "time-ema":
            return smoothing.time_weighted_ema(x, y, self.amount, unit=self.unit)
        return smoothing.smooth(kind, x, y, self.amount)

    def _reach_back(self, x: np.ndarray, y: np.ndarray, start: int) -> int:
        """Where a recomputation must begin so that points from ``start`` on are exact."""
        kind = self.kind
        if kind == "none":
            return start
        if kind == "average":
            need = int(self.amount)
        elif kind == "ema":
            need = 0 if self.amount <= 0 else int(_FORGET / math.log(self.amount)) + 2
        elif kind == "time-ema":
            if self.amount <= 0:
                return start
            span = _FORGET / math.log(self.amount) * self.unit  # x distance that is forgotten
            return int(np.searchsorted(x[:start], x[start - 1] - span, side="left")) if start else 0
        else:  # gaussian: the kernel reaches 3 sigma each way
            if self.amount <= 0:
                return start
            return int(np.searchsorted(x[:start], x[start - 1] - 6.0 * self.amount, side="left")) if start else 0
        # count `need` finite values back from start
        begin = max(0, start - need)
        while begin > 0 and int(np.isfinite(y[begin:start]).sum()) < need:
            begin = max(0, start - 2 * (start - begin))
        return begin

    def update(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        """Smoothed values of all of ``y`` and how many of them are final."""
        n = len(y)
        if not self._configured or n < self.n or not _monotonic_tail(x, self.stable):
            self.unit = _unit(x)
            self.amount = amount_for(self.kind, self.strength, x)
            self.values = Column(max(1024, n))
            self.values.extend(self._compute(x, y))
            self.n = n
            self._configured = True
        elif n > self.n:
            start = self.stable  # recompute from the first value that may still change
            begin = self._reach_back(x, y, start)
            part = self._compute(x[begin:n], y[begin:n])
            self.values.size = start
            self.values.extend(part[start - begin :])
            self.n = n
        self.stable = self._stable(x, n)
        return self.values.view(), self.stable

    def _stable(self, x: np.ndarray, n: int) -> int:
        if self.kind != "gaussian" or self.amount <= 0 or n == 0:
            return n
        # values within 3 sigma of the newest x still get new neighbours
        return int(np.searchsorted(x[:n], x[n - 1] - 3.0 * self.amount, side="left"))


def _monotonic_tail(x: np.ndarray, start: int) -> bool:
    """Reaching back by x distance needs x to grow (steps and times do)."""
    if len(x) < 2:
        return True
    tail = x[max(0, start - 1) :]
    return bool(np.all(np.diff(tail[np.isfinite(tail)]) >= 0))
