#!/usr/bin/env python3
"""Artifacts: what a checkpoint costs to log, upload and download.

- **log**: ``run.log_artifact`` of one file of N MB (hashed and copied into the
  run directory on the calling thread), then the same content again (hashed,
  found, not stored twice), and a folder of 1,000 small files.
- **sync**: ``tracker sync`` of the run to a local ``tracker server`` (SQLite),
  then again (nothing to send: each blob is asked for with a ``HEAD``).
- **download**: ``use_artifact(...).download()`` from the server in an empty
  ``TRACKER_DIR`` (another machine), every file checked against its sha256.

Figures in seconds and MB/s; they depend on the disk (the page cache holds the
files just written) and on loopback HTTP.

    python bench/artifacts.py              # 256 MB
    python bench/artifacts.py --quick      # 32 MB
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import ServerProcess  # noqa: E402


def _timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="32 MB instead of 256 MB")
    args = parser.parse_args()
    megabytes = 32 if args.quick else 256
    with tempfile.TemporaryDirectory(prefix="bench-artifacts-") as tmp:
        base = Path(tmp)
        os.environ.update(TRACKER_DIR=str(base / "tracker"), TRACKER_CONFIG_DIR=str(base / "config"),
                          TRACKER_SILENT="true")
        import jupyter_tracker as tracker

        model = base / "model.bin"
        with open(model, "wb") as handle:
            for _ in range(megabytes):
                handle.write(os.urandom(1 << 20))
        small = base / "small"
        small.mkdir()
        for i in range(1000):
            (small / f"f{i:04d}.txt").write_bytes(os.urandom(512))
        rows = []
        run = tracker.init(project="bench-artifacts", mode="offline")
        seconds, _ = _timed(lambda: run.log_artifact(model, name="model", type="model"))
        rows.append(("log_artifact, one file", f"{megabytes} MB", seconds, megabytes / seconds))
        seconds, _ = _timed(lambda: run.log_artifact(model, name="model", type="model"))
        rows.append(("log_artifact, same content again", f"{megabytes} MB", seconds, megabytes / seconds))
        seconds, _ = _timed(lambda: run.log_artifact(small, name="small", type="dataset"))
        rows.append(("log_artifact, 1,000 files of 512 B", "0.5 MB", seconds, None))
        run.finish()

        server = ServerProcess(base / "server", args=("--max-file", "1GiB"))  # the default is 100 MiB
        try:
            env = dict(os.environ, TRACKER_HOST=server.base, TRACKER_API_KEY=server.token,
                       PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
            command = [sys.executable, "-m", "jupyter_tracker", "sync", str(run.path)]
            for label in ("tracker sync (first)", "tracker sync (again: nothing new)"):
                seconds, done = _timed(lambda: subprocess.run(command, env=env, capture_output=True, text=True))
                if done.returncode:
                    raise RuntimeError(done.stderr)
                rows.append((label, f"{megabytes + 0.5:g} MB", seconds,
                             (megabytes + 0.5) / seconds if "first" in label else None))
            os.environ.update(TRACKER_DIR=str(base / "elsewhere"), TRACKER_HOST=server.base,
                              TRACKER_API_KEY=server.token)
            reader = tracker.init(project="bench-artifacts", mode="offline")
            seconds, _ = _timed(lambda: reader.use_artifact("model:latest").download(base / "got"))
            rows.append(("use_artifact + download from the server", f"{megabytes} MB", seconds, megabytes / seconds))
            reader.finish()
        finally:
            server.stop()
    print(f"{'what':44} {'size':>8} {'seconds':>9} {'MB/s':>8}")
    for what, size, seconds, rate in rows:
        print(f"{what:44} {size:>8} {seconds:9.3f} {'' if rate is None else f'{rate:8.0f}'}")


if __name__ == "__main__":
    main()
