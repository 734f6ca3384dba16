#!/usr/bin/env python3
"""What media cost the training thread, and how fast the writer writes them.

For each kind of value (images of three sizes, histograms of 10^4 and 10^6
samples, a table of 1,000 x 10 cells) prints the microseconds ``log()`` takes
on the training thread (best and median of ``--repeat`` calls, each with the
writer drained first, so no call waits for room), and the values per second
the writer thread writes to disk (PNG/JSON encoding, files and records) when
``log()`` is called in a loop. Nothing is asserted: a shared machine varies too
much for that. A run of its own in a temporary TRACKER_DIR, silent.

    .venv/bin/python bench/media_log.py
    .venv/bin/python bench/media_log.py --repeat 50 --loop 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="timed log() calls per kind (default 20)")
    parser.add_argument("--loop", type=int, default=100, help="values per kind in the writer's loop (default 100)")
    args = parser.parse_args(argv)
    os.environ.update(TRACKER_DIR=tempfile.mkdtemp(prefix="media-bench-"), TRACKER_MODE="offline",
                      TRACKER_SILENT="true")
    import numpy as np

    import jupyter_tracker as tracker

    rng = np.random.default_rng(0)
    kinds = {
        "image 64x64 RGB": lambda: tracker.Image(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)),
        "image 256x256 RGB": lambda: tracker.Image(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)),
        "image 1024x1024 RGB": lambda: tracker.Image(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8)),
        "histogram 10^4 samples": lambda: tracker.Histogram(rng.normal(size=10_000)),
        "histogram 10^6 samples": lambda: tracker.Histogram(rng.normal(size=1_000_000)),
        "table 1,000 x 10": lambda: tracker.Table(columns=[f"c{i}" for i in range(10)],
                                                  data=rng.normal(size=(1000, 10)).tolist()),
    }
    run = tracker.init(project="media-bench")
    step = 0
    print(f"{'value':<24} {'log() µs best':>14} {'median':>10} {'writer values/s':>16}")
    for number, (name, make) in enumerate(kinds.items()):
        key = f"kind{number}"
        values = [make() for _ in range(args.repeat)]
        times = []
        for value in values:
            run._writer.drain()
            t0 = time.perf_counter()
            run.log({"x": 1.0, key: value}, step=step)
            times.append((time.perf_counter() - t0) * 1e6)
            step += 1
        run._writer.drain()
        loop = [make() for _ in range(args.loop)]
        t0 = time.perf_counter()
        for value in loop:
            run.log({"x": 1.0, key: value}, step=step)
            step += 1
        run._writer.drain()
        rate = args.loop / (time.perf_counter() - t0)
        print(f"{name:<24} {min(times):>14.0f} {statistics.median(times):>10.0f} {rate:>16.0f}")
    run.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
