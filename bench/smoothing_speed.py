#!/usr/bin/env python3
"""Speed of the panel's smoothing and decimation on long curves.

Prints the milliseconds per call on 10^6 points (best and median of several
runs) for each function of ``jupyter_tracker.numerics.smoothing`` and
``jupyter_tracker.numerics.decimate``, plus one incremental ``MinMaxIndex`` update.
Nothing is asserted: timings on a shared machine vary too much for that.

    .venv/bin/python bench/smoothing_speed.py
    .venv/bin/python bench/smoothing_speed.py --n 100000 --repeat 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout

import numpy as np  # noqa: E402

from jupyter_tracker.numerics.decimate import MinMaxIndex, lttb, minmax  # noqa: E402
from jupyter_tracker.numerics.smoothing import ema, gaussian, running_average, time_weighted_ema  # noqa: E402


def timed(fn, repeat: int, setup=None) -> tuple[float, float]:
    """Best and median milliseconds of ``fn(setup())`` (setup not timed)."""
    fn(setup() if setup else None)  # warm up (FFT plans, page faults)
    runs = []
    for _ in range(repeat):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        fn(arg)
        runs.append((time.perf_counter() - t0) * 1e3)
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="points per curve (default 10^6)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per function (default 7)")
    args = parser.parse_args()
    n = args.n

    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=n)) + rng.normal(size=n)
    y_gaps = y.copy()
    y_gaps[rng.integers(0, n, n // 1000)] = np.nan
    steps = np.arange(n, dtype=np.float64)
    uneven = np.cumsum(rng.exponential(size=n))
    grown = np.concatenate([y, y[-1] + np.cumsum(rng.normal(size=1000))])

    def indexed() -> MinMaxIndex:
        idx = MinMaxIndex(2000)
        idx.extend(y, 0)
        return idx

    def update(idx: MinMaxIndex) -> None:
        idx.extend(grown, n)
        idx.indices()

    cases = [
        ("ema(y, 0.6)", lambda _: ema(y, 0.6), None),
        ("ema(y, 0.999), NaN gaps", lambda _: ema(y_gaps, 0.999), None),
        ("time_weighted_ema(uneven x, y, 0.9)", lambda _: time_weighted_ema(uneven, y, 0.9), None),
        ("running_average(y, 100)", lambda _: running_average(y, 100), None),
        ("gaussian(steps, y, sigma=100 steps)", lambda _: gaussian(steps, y, 100.0), None),
        ("gaussian(steps, y, sigma=10 steps)", lambda _: gaussian(steps, y, 10.0), None),
        ("gaussian(uneven x, y, sigma=100)", lambda _: gaussian(uneven, y, 100.0), None),
        ("minmax(x, y, 2000), NaN gaps", lambda _: minmax(steps, y_gaps, 2000), None),
        ("lttb(x, y, 2000)", lambda _: lttb(steps, y, 2000), None),
        ("MinMaxIndex: +1000 points, indices()", update, indexed),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n:,} points, best / median of {args.repeat} runs, {os.cpu_count()} CPUs, load {load:.1f}")
    width = max(len(name) for name, _, _ in cases)
    for name, fn, setup in cases:
        best, median = timed(fn, args.repeat, setup)
        print(f"  {name:<{width}}  {best:8.1f} ms  {median:8.1f} ms")


if __name__ == "__main__":
    main()
