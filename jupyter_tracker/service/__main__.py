"""``python -m jupyter_tracker.service RUN_DIR --pid PID``: the run's service process.

Loop: every sampling interval take a system sample; every window write the
means to ``system.log``; at every tick check that the kernel lives. The loop
ends when the kernel finishes the run (``run.json`` says so) after writing the
last partial window, or, when the kernel died without finishing, after marking
the run crashed. An online run's upload then goes on for at most
``TRACKER_SYNC_TIMEOUT`` seconds; after that ``sync.json`` and ``debug.log``
say "not synced, run `tracker sync <path>`" and the process exits.

It is bounded: the first SIGTERM ends it within a few seconds, upload progress
saved (a second one ends it at once), and it exits when its run directory is
deleted.
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
from .sampler import MIN_CPU_INTERVAL, Sampler, Window
from .watchdog import KernelWatch, mark_crashed

log = logging.getLogger("jupyter_tracker.service")


#: Seconds the main thread waits for an upload told to stop (a request may be in flight).
STOP_GRACE = 2.0
#: Seconds a kernel that looks dead may still hold the run's lock (its last threads exiting).
LOCK_GRACE = 10.0


class Service:
    def __init__(self, run_dir: Path, pid: int) -> None:
        self.run_dir = run_dir
        self.identity = _identity(run_dir)
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
        self.run_over_at: float | None = None
        self.terminated = False
        self.sync_thread: threading.Thread | None = None
        try:
            self.sync_timeout = settings.sync_timeout()
        except ValueError as exc:
            log.error("%s; using 600", exc)
            self.sync_timeout = 600.0

    def start_sync(self) -> None:
        """Stream the run to the server from a thread of its own (online runs only)."""
        info = rundir.read_info(self.run_dir) or {}
        host, key = settings.host(), settings.api_key()
        self.sync_thread = None
        if info.get("mode") != "online" or not host:
            return
        from ..client import ServerClient
        from .uploader import Uploader, debug_logger

        debug, _handler = debug_logger(self.run_dir)
        self.uploader = Uploader(self.run_dir, ServerClient(host, key), debug)
        self.sync_thread = threading.Thread(target=self._sync, name="sync", daemon=True)
        self.sync_thread.start()

    def _sync(self) -> None:
        done = self.uploader.run_until(done=lambda: self.run_over, stop=self.why_stop_sync)
        reason = self.why_stop_sync()
        if not done and reason and self.uploader.status != "stopped" and not self.dir_gone():
            self.uploader.abandon(reason)

    def why_stop_sync(self) -> str | None:
        """Why the upload must end now (``None``: it goes on)."""
        if self.terminated:
            return "the service was stopped (SIGTERM)"
        if self.dir_gone():
            return "the run directory was deleted"
        if self.run_over_at is not None and time.monotonic() - self.run_over_at > self.sync_timeout:
            return f"the upload did not complete within TRACKER_SYNC_TIMEOUT={self.sync_timeout:g} s after the run ended"
        return None

    def dir_gone(self) -> bool:
        """Whether the run directory was deleted (or replaced) under us."""
        return _identity(self.run_dir) != self.identity

    def write_window(self) -> None:
        means = self.window.take()
        if means is None:
            return
        line_items: list = [[0, records.SYSTEM, time.time(), means]]
        out: list[bytes] = []
        seq = records.encode_items(line_items, self.seq, out)
        try:
            fd = os.open(self.system_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                records.write_all(fd, b"".join(out))
            finally:
                os.close(fd)
        except OSError as exc:  # a full disk, a deleted folder: this window is lost, the next may not be
            log.warning("cannot write %s: %s", self.system_log.name, exc)
            return
        self.seq = seq

    def write_live(self, sample: dict[str, float]) -> None:
        """The latest sample, for the live panel (replaced atomically at every sample)."""
        self.live_seq += 1
        rundir.write_system_live(self.run_dir, {"seq": self.live_seq, "ts": time.time(), "sample": sample})

    def finished_by_kernel(self) -> bool:
        info = rundir.read_info(self.run_dir) or {}
        return info.get("state") in TERMINAL_STATES

    def run(self) -> int:
        code = self.watch()
        self.run_over_at = time.monotonic()
        self.run_over = True
        if self.sync_thread is not None:
            log.info("run over: finishing the upload (for at most %g s)", self.sync_timeout)
            told_at = None
            while self.sync_thread.is_alive():
                self.sync_thread.join(0.2)
                if told_at is None and self.why_stop_sync():
                    told_at = time.monotonic()
                if told_at is not None and time.monotonic() - told_at > STOP_GRACE:
                    # a request is still in flight: save what is acknowledged and go
                    reason = self.why_stop_sync() or "stopped"
                    if not self.dir_gone() and self.uploader.status not in ("stopped", "done"):
                        self.uploader.abandon(reason)
                    break
            log.info("upload %s: %s %s", self.uploader.status, self.uploader.sent, self.uploader.message)
        return code

    def watch(self) -> int:
        log.info("service for %s: kernel pid %s, sampling every %ss, window %ss",
                 self.run_dir.name, self.kernel.pid, self.interval, self.window.seconds)
        # the first sample once a CPU share can be measured (the sampler's readings are from its start)
        next_sample = self.sampler.started + MIN_CPU_INTERVAL
        next_state_check = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if self.dir_gone():
                log.warning("the run directory %s was deleted: exiting", self.run_dir)
                return 0
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
                if self._kernel_gone():
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

    def _kernel_gone(self) -> bool:
        """The kernel looks dead without having finished: mark the run crashed.

        The run's lock says whether it really is gone: the OS releases it when the
        kernel's last thread has exited, which can be a moment after its main thread
        shows as a zombie. While the kernel still holds it, wait (at most
        :data:`LOCK_GRACE` s), then go on watching (``False``). Held by another
        process: the run was resumed there, and is its business now (``True``).
        """
        deadline = time.monotonic() + LOCK_GRACE
        while True:
            try:
                if mark_crashed(self.run_dir, "the kernel process ended without finishing the run"):
                    log.warning("kernel %s is gone: run marked crashed", self.kernel.pid)
                    return True
            except Exception:  # noqa: BLE001 - a full disk, a file being replaced: try again
                log.exception("marking the run crashed failed")
            if self.finished_by_kernel():
                return True
            holder = rundir.lock_holder(self.run_dir) or {}
            if holder.get("pid") not in (None, self.kernel.pid):
                log.info("kernel %s is gone; the run was resumed by process %s", self.kernel.pid, holder.get("pid"))
                return True
            if time.monotonic() > deadline:
                log.warning("kernel %s looks gone but still holds the run's lock: watching on", self.kernel.pid)
                return False
            if self.stop.wait(0.1):
                return True

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
        if service.terminated:  # asked twice: end at once
            os._exit(0)
        service.terminated = True  # the upload saves its progress and stops too
        service.stop.set()

    signal.signal(signal.SIGTERM, on_term)
    service.start_sync()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return service.run()
    except Exception:  # noqa: BLE001
        log.exception("service failed")
        return 1


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


if __name__ == "__main__":
    sys.exit(main())
