"""``python -m jupyter_tracker.service RUN_DIR --pid PID``: the run's service process.

Loop: every sampling interval take a system sample; every window write the
means to ``system.log``; at every tick check that the kernel lives. It exits
when the kernel finishes the run (``run.json`` says so; SIGTERM also ends it)
after writing the last partial window, or, when the kernel died without finishing,
after marking the run crashed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .. import records, rundir, settings
from ..limits import TERMINAL_STATES
from .sampler import Sampler, Window
from .watchdog import KernelWatch, mark_crashed

log = logging.getLogger("jupyter_tracker.service")


class Service:
    def __init__(self, run_dir: Path, pid: int) -> None:
        self.run_dir = run_dir
        self.kernel = KernelWatch(pid)
        self.stop = threading.Event()
        self.interval = settings.stats_interval()
        self.window = Window(settings.stats_window())
        self.sampler = Sampler(pid, str(run_dir))
        self.system_log = run_dir / rundir.SYSTEM
        self.seq = records.last_seq(self.system_log)
        self.tick = min(self.interval, 0.5)
        self.live_seq = 0
        self.run_over = False
        self.sync_thread: threading.Thread | None = None

    def start_sync(self) -> None:
        """Stream the run to the server from a thread of its own (online runs only)."""
        info = rundir.read_info(self.run_dir) or {}
        host, key = settings.host(), settings.api_key()
        self.sync_thread = None
        if info.get("mode") != "online" or not host:
            return
        from ..client import ServerClient
        from .uploader import Uploader

        debug = logging.getLogger("jupyter_tracker.sync")
        try:
            handler = logging.FileHandler(self.run_dir / "logs" / "debug.log", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s sync: %(message)s"))
            debug.addHandler(handler)
        except OSError:
            pass
        self.uploader = Uploader(self.run_dir, ServerClient(host, key), debug)
        self.sync_thread = threading.Thread(
            target=self.uploader.run_until, kwargs={"done": lambda: self.run_over}, name="sync", daemon=True
        )
        self.sync_thread.start()

    def write_window(self) -> None:
        means = self.window.take()
        if means is None:
            return
        line_items: list = [[0, "sys", time.time(), means]]
        out: list[bytes] = []
        self.seq = records.encode_items(line_items, self.seq, out)
        fd = os.open(self.system_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            records.write_all(fd, b"".join(out))
        finally:
            os.close(fd)

    def write_live(self, sample: dict[str, float]) -> None:
        """The latest sample, for the live panel (replaced atomically at every sample)."""
        self.live_seq += 1
        rundir.write_system_live(self.run_dir, {"seq": self.live_seq, "ts": time.time(), "sample": sample})

    def finished_by_kernel(self) -> bool:
        info = rundir.read_info(self.run_dir) or {}
        return info.get("state") in TERMINAL_STATES

    def run(self) -> int:
        code = self.watch()
        self.run_over = True
        if self.sync_thread is not None:
            log.info("run over: finishing the upload")
            self.sync_thread.join()  # for as long as it takes; the user may stop this process
            log.info("upload %s: %s", self.uploader.status, self.uploader.sent)
        return code

    def watch(self) -> int:
        log.info("service for %s: kernel pid %s, sampling every %ss, window %ss",
                 self.run_dir.name, self.kernel.pid, self.interval, self.window.seconds)
        next_sample = time.monotonic()
        next_state_check = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_sample:
                next_sample = now + self.interval
                try:
                    sample = self.sampler.sample()
                    self.window.add(sample)
                    self.write_live(sample)
                except Exception:  # noqa: BLE001 - keep watching the kernel
                    log.exception("sampling failed")
                if self.window.due():
                    self.write_window()
            if not self.kernel.alive():
                if self.finished_by_kernel():
                    break
                self.write_window()
                if mark_crashed(self.run_dir, "the kernel process ended without finishing the run"):
                    log.warning("kernel %s is gone: run marked crashed", self.kernel.pid)
                self._fsync_logs()
                return 0
            if now >= next_state_check:
                next_state_check = now + self.tick
                if self.finished_by_kernel():
                    break
            self.stop.wait(max(0.0, min(self.tick, next_sample - time.monotonic())))
        self.write_window()
        self.sampler.gpus.close()
        self._fsync_logs()
        log.info("service for %s: run ended, exiting", self.run_dir.name)
        return 0

    def _fsync_logs(self) -> None:
        """Make the logs durable against a machine crash (finish() does not wait for it)."""
        for name in (rundir.EVENTS, rundir.SYSTEM):
            try:
                fd = os.open(self.run_dir / name, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_tracker.service")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--pid", type=int, required=True, help="the kernel process to watch")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    service = Service(args.run_dir, args.pid)
    def on_term(*_: object) -> None:
        if service.stop.is_set():  # asked twice: the user ends a lingering upload
            os._exit(0)
        service.stop.set()

    signal.signal(signal.SIGTERM, on_term)
    service.start_sync()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return service.run()
    except Exception:  # noqa: BLE001
        log.exception("service failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
