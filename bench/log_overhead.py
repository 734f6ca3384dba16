#!/usr/bin/env python3
"""log() overhead: jupyter-tracker against peer trackers, side by side in one run.

Run the suite (from the repo root, with the python that has jupyter-tracker):

    python bench/log_overhead.py            # full: N = 20,000 and 200,000, 5 repetitions
    python bench/log_overhead.py --quick    # N = 5,000, 2 repetitions (< 1 min)

Every (configuration, N, repetition) runs in its own fresh worker process:

    python bench/log_overhead.py --worker CONFIG --n N --out RESULT.json --workdir DIR ...

The worker times ``import`` of the tool, ``init()``, the loop of N ``log()``
calls (the same loop for every configuration: see ``timed_loop``), and the
tool's ``finish()``; it snapshots child processes, threads and network
connections at the end of the loop, records peak RSS, then reads every point
back with the tool's own reader and checks each step of each metric. The
parent interleaves configurations (A B C ... A B C ...), summarises the
repetitions (median, min, max), computes jupyter-tracker's ratios against
wandb-offline and orjson-append within each repetition, prints tables and
writes bench/results/log_overhead*.json and bench/RESULTS.md.

Configurations and their settings are in bench/adapters.py; the method is in
bench/README.md and repeated in RESULTS.md.
"""

# The worker path must stay light: nothing but os/sys/time is imported at module
# level, so that the timed ``import <tool>`` starts from a bare interpreter.
import os
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
THIS_FILE = os.path.abspath(__file__)
SECTION = "log_overhead"
OURS = "jupyter-tracker"
RATIO_REFS = ("wandb-offline", "orjson-append")
PYCACHE_DIR = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "jupyter-tracker-bench", "pycache"
)


# ---------------------------------------------------------------------------
# the loop every configuration runs
# ---------------------------------------------------------------------------
def timed_loop(log, n):
    """N calls of log(dict of 4 floats, step=i); returns seconds around the loop only."""
    perf = time.perf_counter
    t0 = perf()
    for i in range(n):
        x = i * 0.5
        log({"a": x, "b": 1.0 / (i + 1), "c": (i % 97) * 0.25, "d": -x}, step=i)
    return perf() - t0


def expected_point(i):
    x = i * 0.5
    return {"a": x, "b": 1.0 / (i + 1), "c": (i % 97) * 0.25, "d": -x}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("--worker", "--make-template"):
        from overhead_worker import worker_main

        return worker_main(argv)
    from overhead_runner import runner_main

    return runner_main(argv)


if __name__ == "__main__":
    sys.exit(main())
