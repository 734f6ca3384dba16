"""Watching the kernel, and what to do when it dies without finishing."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from .. import records, rundir
from ..limits import TERMINAL_STATES
from ..replay import replay

__all__ = ["KernelWatch", "mark_crashed"]


class KernelWatch:
    """Is the process that owns the run still alive (and the same process)?"""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self.proc: psutil.Process | None = psutil.Process(pid)
            self.create_time = self.proc.create_time()
        except psutil.Error:
            self.proc = None
            self.create_time = None

    def alive(self) -> bool:
        if self.proc is None:
            return False
        try:
            if not self.proc.is_running():  # also false when the pid was reused
                return False
            return self.proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


def mark_crashed(run_dir: Path, reason: str) -> bool:
    """Make a run whose owner died ``crashed``, unless it ended already.

    Takes the run's lock first, without waiting: when it is held, a live
    process records the run (it was resumed), and the run is left alone.
    Appends a ``state`` record to the events log (cutting a torn tail off
    first), then rewrites ``run.json`` and ``summary.json`` from the log.
    Returns whether the run was marked.
    """
    run_dir = Path(run_dir)
    lock = rundir.try_lock_run(run_dir, role="service")
    if lock is None:
        return False
    try:
        return _mark_crashed(run_dir, reason)
    finally:
        lock.release()


def _mark_crashed(run_dir: Path, reason: str) -> bool:
    info = rundir.read_info(run_dir) or {}
    if info.get("state") in TERMINAL_STATES:
        return False
    events = run_dir / rundir.EVENTS
    log = replay(events, keep_rows=False)
    if log.state in TERMINAL_STATES:
        state = log.state
    else:
        state = "crashed"
        records.append_records(
            events,
            [[0, records.STATE, time.time(), {"state": state, "exit_code": None, "reason": reason}]],
            seq=log.last_seq,
        )
    info.update(state=state, finished_at=time.time(), steps=log.last_step)
    if state == "crashed":
        info["crash_reason"] = reason
    rundir.write_info(run_dir, info)
    rundir.write_summary(run_dir, log.summary, config=log.config)
    return state == "crashed"
