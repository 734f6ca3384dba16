"""Axes a reader can trust: ranges, round ticks and exact labels.

One set of rules for every chart of the project (the live panel, the static
image of a saved notebook, the compare view, the JupyterLab extension's
TypeScript port, which reads the same test vectors in
``tests/data/chart_rules.json``):

- **Range.** A linear axis shows the range of the finite values it is given
  (NaN and ±inf are ignored), all drawn lines together, plus a padding given
  in pixels (never invented data: no step -15 when step 0 is the first). A
  constant series is centred (±10 % of its value, ±1 when it is 0 or the axis
  counts integers). A range narrower than 1e-9 of its values counts as constant.
- **Ticks** sit at multiples of a step of 1, 2, 2.5 or 5 × 10^k inside the
  range; an integer axis (steps, epochs: every value an integer) only gets
  integer steps; a series that never goes below zero never gets a negative
  tick. The number of ticks follows the axis length in pixels: at least
  26 px apart upright, and on a horizontal axis as many as fit with their labels
  side by side without touching (labels are estimated at :data:`CHAR_PX` per
  character).
- **Labels** are the exact decimal value at their position, all different:
  fixed decimals as the step needs (``0.25 0.50 0.75``); SI suffixes from
  10^4 (``2.5k 5k 1M``); scientific below 10^-3 (``2.5e-5``); negative numbers
  with the minus sign U+2212. A label that would spill past the chart's edge
  (the plot plus the margin the caller has there) is dropped with its tick.
- **Log axes** use the values > 0 only; the others are counted in
  :attr:`Axis.note`. Ticks at powers of ten (1-2-5 multiples when there are
  few decades, every n-th power when there are many), labelled plainly from
  0.001 to 9999 and in scientific notation beyond (``1e-20 1e-10 1 1e10``).
- **Time axes**: relative time in s, min, h or days by its length, wall time
  at round clock times (``14:30``) in the given UTC offset.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

__all__ = [
    "Axis",
    "CHAR_PX",
    "finite_range",
    "nice_step",
    "format_ticks",
    "linear_axis",
    "log_axis",
    "duration_axis",
    "clock_axis",
    "axis_for",
    "label_px",
]

#: Estimated width of one label character (12 px sans-serif digits), in pixels.
CHAR_PX = 7.0
#: Height of a label, in pixels.
LABEL_PX = 14.0
#: Empty space kept between two labels side by side, in pixels.
GAP_PX = 16.0
#: Least distance between two ticks, in pixels, on an upright and on a horizontal axis.
Y_SPACING_PX = 26.0
X_SPACING_PX = 50.0
MAX_TICKS = 8
#: Values beyond this magnitude are clamped (the arithmetic of a range must stay finite).
LIMIT = 1e300
_MINUS = "\u2212"
_SI = {3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
#: (mantissa, exponent shift) candidates for a step of about 1..10 × 10^e, in order.
_NICE = ((1, 0), (2, 0), (25, -1), (5, 0), (1, 1))
_DURATION_UNITS = ((120.0, 1.0, "s"), (7200.0, 60.0, "min"), (172800.0, 3600.0, "h"), (math.inf, 86400.0, "d"))
_CLOCK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400)


@dataclass(frozen=True)
class Axis:
    """What an axis shows: its range (the scale's domain), ticks and their labels."""

    lo: float
    hi: float
    ticks: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    note: str = ""  # e.g. values a log axis cannot show
    unit: str = ""  # the unit of the labels when it differs from the data's (durations)

    def as_dict(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "ticks": list(self.ticks), "labels": list(self.labels),
                "note": self.note, "unit": self.unit}


# --------------------------------------------------------------------------- ranges

def finite_range(*arrays: Any) -> tuple[float, float, int] | None:
    """(min, max, count) of the finite values of all ``arrays``; ``None`` if there is none."""
    lo, hi, count = math.inf, -math.inf, 0
    for values in arrays:
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        if v.size:
            lo, hi, count = min(lo, float(v.min())), max(hi, float(v.max())), count + int(v.size)
    if not count:
        return None
    return max(lo, -LIMIT), min(hi, LIMIT), count


def _centred(lo: float, hi: float, integer: bool) -> tuple[float, float]:
    """A constant (or nearly constant) range made wide enough to read, around its value."""
    if hi - lo > 1e-9 * max(abs(lo), abs(hi)) and (not integer or hi > lo):
        return lo, hi
    centre = lo / 2 + hi / 2
    if integer:
        centre = float(round(centre))
        return centre - 1.0, centre + 1.0
    half = abs(centre) * 0.1 or 1.0
    return centre - half, centre + half


def _padded(lo: float, hi: float, length: float, pad_px: float) -> tuple[float, float]:
    """``[lo, hi]`` widened so that ``pad_px`` pixels are left at both ends of ``length`` pixels."""
    if pad_px <= 0:
        return lo, hi
    inner = max(length - 2 * pad_px, 1.0)
    pad = (hi - lo) * pad_px / inner
    return lo - pad, hi + pad


# --------------------------------------------------------------------------- steps and labels

def nice_steps(span: float, integer: bool = False):
    """Round steps ``(m, e)``, meaning ``m × 10**e`` with m in 1, 2, 25 (2.5) and 5, from the
    smallest that could give :data:`MAX_TICKS` ticks over ``span`` upwards.

    As ``(m, e)`` pairs, ticks and labels can be exact decimals. With
    ``integer`` only integer steps (1 and up) are given.
    """
    if not span > 0 or not math.isfinite(span):
        span = 1.0
    first = math.floor(math.log10(span / (MAX_TICKS + 1))) - 1
    for e in range(first, first + 40):
        for m, shift in ((1, 0), (2, 0), (25, -1), (5, 0)):
            step = (m, e + shift)
            if integer and step[1] < 0:
                continue
            yield step


def nice_step(span: float, count: float, integer: bool = False) -> tuple[int, int]:
    """The smallest round step giving at most ``count`` intervals over ``span``."""
    for m, e in nice_steps(span, integer):
        if _value(m, e) * count >= span * (1 - 1e-9):
            return (m, e)
    return (1, 0)


def _value(n: int, e: int) -> float:
    """The float nearest to ``n × 10**e``."""
    return float(n * 10**e) if e >= 0 else n / 10 ** (-e)


def _fixed(n: int, e: int, decimals: int) -> str:
    text = f"{Decimal(n).scaleb(e):.{decimals}f}"
    return text.replace("-", _MINUS)


def _trimmed(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _exponent(n: int, e: int) -> int:
    """floor(log10(|n × 10**e|)), exactly (n != 0)."""
    return len(str(abs(n))) - 1 + e


def _si(n: int, e: int) -> str:
    if n == 0:
        return "0"
    power = 3 * (_exponent(n, e) // 3)
    if power not in _SI:
        return _scientific(n, e)
    return (_trimmed(Decimal(n).scaleb(e - power)) + _SI[power]).replace("-", _MINUS)


def _scientific(n: int, e: int) -> str:
    if n == 0:
        return "0"
    power = _exponent(n, e)
    return (_trimmed(Decimal(n).scaleb(e - power)) + f"e{power}").replace("-", _MINUS, 1 if n < 0 else 0)


def format_ticks(numbers: list[int], e: int) -> list[str]:
    """Labels of the ticks ``n × 10**e`` (``n`` integers): exact, and all different."""
    biggest = max((abs(n) for n in numbers), default=0)
    if not biggest:
        return ["0" for _ in numbers]
    top = _exponent(biggest, e)
    if top >= 4:
        return [_si(n, e) for n in numbers]
    if top < -3:
        return [_scientific(n, e) for n in numbers]
    return [_fixed(n, e, max(0, -e)) for n in numbers]


def _free_format(n: int, e: int) -> str:
    """One value on its own (log axes): plain from 0.001 to 9999, else scientific."""
    if n == 0:
        return "0"
    top = _exponent(n, e)
    if top >= 4 or top < -3:
        return _scientific(n, e)
    return _trimmed(Decimal(n).scaleb(e)).replace("-", _MINUS)


def label_px(label: str) -> float:
    """Estimated width of a label, in pixels."""
    return CHAR_PX * len(label)


def _fits(ticks: list[float], labels: list[str], lo: float, hi: float, length: float, vertical: bool) -> bool:
    """Whether neighbouring labels keep apart (with :data:`GAP_PX` between them)."""
    if len(ticks) < 2:
        return True
    scale = length / (hi / 2 - lo / 2) / 2
    spacing = min(b - a for a, b in zip(ticks, ticks[1:])) * scale
    if vertical:
        return spacing >= Y_SPACING_PX
    return spacing >= max(max(label_px(text) for text in labels) + GAP_PX, X_SPACING_PX)


def _inside(ticks: list[float], labels: list[str], lo: float, hi: float, length: float, vertical: bool,
            margins: tuple[float, float]) -> tuple[list[float], list[str]]:
    """Drop the ticks whose label would spill past the chart (plot plus ``margins`` px: low end, high end)."""
    scale = length / (hi / 2 - lo / 2) / 2
    keep_t, keep_l = [], []
    for tick, text in zip(ticks, labels):
        at = (tick - lo) * scale
        half = (LABEL_PX if vertical else label_px(text)) / 2
        if at - half >= -margins[0] - 0.5 and at + half <= length + margins[1] + 0.5:
            keep_t.append(tick)
            keep_l.append(text)
    return keep_t, keep_l


def _multiples(lo: float, hi: float, step: tuple[int, int]) -> list[int]:
    m, e = step
    size = _value(m, e)
    first = math.ceil(lo / size - 1e-9)
    last = math.floor(hi / size + 1e-9)
    if last - first > 1000:  # not a sensible step for this range
        return []
    return [k * m for k in range(first, last + 1)]


# --------------------------------------------------------------------------- axes

def linear_axis(lo: float, hi: float, length: float, *, vertical: bool = False, integer: bool = False,
                nonnegative: bool | None = None, pad_px: float = 0.0,
                margins: tuple[float, float] = (0.0, 0.0)) -> Axis:
    """The axis of values from ``lo`` to ``hi`` drawn over ``length`` pixels.

    ``nonnegative`` (default: ``lo >= 0``) drops negative ticks; ``pad_px``
    pixels are left free at both ends; ``margins`` are the pixels beyond the
    two ends where labels may still be drawn (the figure's margins).
    """
    lo, hi = max(float(lo), -LIMIT), min(float(hi), LIMIT)
    if nonnegative is None:
        nonnegative = lo >= 0
    lo, hi = _centred(lo, hi, integer)
    lo, hi = _padded(lo, hi, length, pad_px)
    span = 2 * (hi / 2 - lo / 2)  # finite even for ±LIMIT
    best: tuple[list[float], list[str]] = ([], [])
    finest: tuple[int, int] | None = None
    for m, e in nice_steps(span, integer):
        numbers = _multiples(lo, hi, (m, e))
        if nonnegative:
            numbers = [n for n in numbers if n >= 0]
        if len(numbers) > MAX_TICKS:
            continue
        if numbers and finest is None:
            finest = (m, e)
        ticks = [_value(n, e) for n in numbers]
        labels = format_ticks(numbers, e)
        if not _fits(ticks, labels, lo, hi, length, vertical):
            continue
        kept = _inside(ticks, labels, lo, hi, length, vertical, margins)
        if len(kept[0]) >= 2:
            return Axis(lo, hi, tuple(kept[0]), tuple(kept[1]))
        if len(kept[0]) > len(best[0]):
            best = kept
        if not numbers:
            break  # coarser steps have no multiples in the range either
    if not best[0] and finest is not None:
        # No round step gives labels that fit (a tiny range far from zero on a short axis):
        # one tick, the multiple of the finest step nearest the middle.
        m, e = finest
        numbers = _multiples(lo, hi, finest)
        if nonnegative:
            numbers = [n for n in numbers if n >= 0]
        middle = lo / 2 + hi / 2
        number = min(numbers, key=lambda n: abs(_value(n, e) - middle))
        best = _inside([_value(number, e)], format_ticks([number], e), lo, hi, length, vertical, margins)
    return Axis(lo, hi, tuple(best[0]), tuple(best[1]))


def log_axis(lo: float, hi: float, length: float, *, vertical: bool = False, pad_px: float = 0.0,
             margins: tuple[float, float] = (0.0, 0.0), dropped: int = 0) -> Axis:
    """A log axis of the positive values from ``lo`` to ``hi`` (``dropped``: values <= 0 left out).

    Ticks at 1, 2 and 5 × 10^k when they fit, else at every power of ten,
    else at every 2nd, 5th, 10th... power; within less than a decade, plain
    round ticks.
    """
    note = f"{dropped} value{'s' if dropped != 1 else ''} \u2264 0 not drawn (log scale)" if dropped else ""
    a, b = math.log10(max(lo, 1e-300)), math.log10(min(hi, LIMIT))
    if b - a < 1e-9:
        a, b = a - 0.5, b + 0.5
    a, b = _padded(a, b, length, pad_px)
    lo, hi = 10.0**a, 10.0**b
    powers = list(range(math.ceil(a - 1e-9), math.floor(b + 1e-9) + 1))
    candidates = [[(m, p) for p in range(math.floor(a), math.ceil(b) + 1) for m in (1, 2, 5)]]
    candidates += [[(1, p) for p in powers if p % every == 0] for every, _ in
                   ((_value(m, e), None) for m, e in nice_steps(len(powers) + 1.0, integer=True)) if every <= len(powers)]
    for pairs in candidates:
        pairs = [(m, p) for m, p in pairs if a - 1e-9 <= math.log10(m) + p <= b + 1e-9]
        if len(pairs) > MAX_TICKS:
            continue
        at = [math.log10(m) + p for m, p in pairs]
        labels = [_free_format(m, p) for m, p in pairs]
        if not _fits(at, labels, a, b, length, vertical):
            continue
        kept, labels = _inside(at, labels, a, b, length, vertical, margins)
        if len(kept) >= 2:
            ticks = [_value(m, p) for (m, p), x in zip(pairs, at) if x in kept]
            return Axis(lo, hi, tuple(ticks), tuple(labels), note)
    axis = linear_axis(lo, hi, length, vertical=vertical, nonnegative=True, margins=margins)
    ticks = [(t, text) for t, text in zip(axis.ticks, axis.labels) if t > 0]
    return Axis(lo, hi, tuple(t for t, _ in ticks), tuple(text for _, text in ticks), note)


def duration_axis(lo: float, hi: float, length: float, *, margins: tuple[float, float] = (0.0, 0.0)) -> Axis:
    """Relative time in seconds, labelled in s, min, h or days (:attr:`Axis.unit`) by its length."""
    lo, hi = float(lo), float(hi)
    size, unit = next((size, unit) for limit, size, unit in _DURATION_UNITS if max(hi, hi - lo) < limit)
    axis = linear_axis(lo / size, hi / size, length, nonnegative=lo >= 0, margins=margins)
    return Axis(axis.lo * size, axis.hi * size, tuple(t * size for t in axis.ticks), axis.labels, unit=unit)


def clock_axis(lo: float, hi: float, length: float, *, utc_offset: float = 0.0,
               margins: tuple[float, float] = (0.0, 0.0)) -> Axis:
    """Wall time (seconds since the epoch) with ticks at round clock times in ``utc_offset``."""
    lo, hi = float(lo), float(hi)
    if hi - lo < 1.0:
        lo, hi = lo - 1.0, hi + 1.0
    ticks: list[float] = []
    labels: list[str] = []
    for step in _CLOCK_STEPS:
        first = math.ceil((lo + utc_offset) / step)
        last = math.floor((hi + utc_offset) / step)
        if last - first + 1 > MAX_TICKS:
            continue
        if step < 60:
            fmt = "%H:%M:%S"
        elif step < 86400:
            fmt = "%H:%M" if hi - lo < 86400 else "%m-%d %H:%M"
        else:
            fmt = "%m-%d"
        ticks = [k * step - utc_offset for k in range(first, last + 1)]
        labels = [time.strftime(fmt, time.gmtime(k * step)) for k in range(first, last + 1)]
        if _fits(ticks, labels, lo, hi, length, False):
            break
    ticks, labels = _inside(ticks, labels, lo, hi, length, False, margins)
    return Axis(lo, hi, tuple(ticks), tuple(labels))


def axis_for(arrays: list[Any], length: float, *, vertical: bool = False, scale: str = "linear",
             integer: bool | None = None, pad_px: float = 0.0,
             margins: tuple[float, float] = (0.0, 0.0)) -> Axis:
    """The axis covering every finite value of ``arrays`` (all the lines of one chart).

    ``integer=None`` makes it an integer axis when every finite value is an
    integer; ``scale="log"`` leaves the values <= 0 out (and says so).
    """
    if scale == "log":
        positive = [np.asarray(a, dtype=np.float64) for a in arrays]
        finite = [a[np.isfinite(a)] for a in positive]
        dropped = sum(int((a <= 0).sum()) for a in finite)
        found = finite_range(*[a[a > 0] for a in finite])
        if found is not None:
            return log_axis(found[0], found[1], length, vertical=vertical, pad_px=pad_px, margins=margins,
                            dropped=dropped)
        axis = axis_for(arrays, length, vertical=vertical, integer=integer, pad_px=pad_px, margins=margins)
        return Axis(axis.lo, axis.hi, axis.ticks, axis.labels,
                    "no value > 0 to draw on a log scale" if dropped else axis.note)
    found = finite_range(*arrays)
    if found is None:
        return Axis(0.0, 1.0, note="no finite value")
    lo, hi, _ = found
    if integer is None:
        integer = all(_integral(a) for a in arrays)
    return linear_axis(lo, hi, length, vertical=vertical, integer=integer, pad_px=pad_px, margins=margins)


def _integral(values: Any) -> bool:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return bool(np.all(v == np.round(v))) and (not v.size or float(np.abs(v).max()) < 2.0**53)
