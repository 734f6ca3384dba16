"""Telling a script's user that the upload of an online run is in trouble.

The run's service uploads and writes how it goes to ``sync.json``; in a
notebook the live panel's header and status line show it. Where no panel
shows it (a script, a terminal, a kernel without widgets), :class:`SyncWatch`
reads ``sync.json`` (a few hundred bytes) on the writer thread's housekeeping
tick, about once a second, and says, through the run's
:class:`~jupyter_tracker.kernel.notices.Notices` (one line on stderr in a
script, nothing under ``TRACKER_SILENT``), once:

- that the server refused the upload (a wrong token...), and
- that the upload has been failing for :data:`FAILING_FOR` seconds.

At ``finish()``, while the upload is refused or failing, it says how many
records are not on the server and what to run.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .. import rundir, settings

__all__ = ["SyncWatch", "FAILING_FOR", "report_at_finish"]

#: Seconds of failed uploads before a script is told.
FAILING_FOR = 30.0

_TROUBLE = ("stopped", "retrying", "not-synced")


class SyncWatch:
    """Watches one online run's ``sync.json``; ``attach`` it to a run."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.path = run.path / rundir.SYNC_JSON
        self.status: dict[str, Any] = {}

    @classmethod
    def attach(cls, run: Any) -> None:
        """Watch ``run`` (online runs only) from its housekeeping tick and at its finish."""
        if run.mode == "online":
            watch = cls(run)
            run.companions.sync_watch = watch
            run.on_tick(watch.tick)

    def _shown_elsewhere(self) -> bool:
        return self.run.notices.sink is not None  # the live panel shows the sync status

    def _read(self) -> dict[str, Any]:
        # a file of a few hundred bytes, once a second: cheaper than being clever with mtimes
        # (two writes within the filesystem's timestamp granularity would look unchanged)
        if os.path.exists(self.path):
            self.status = rundir.read_sync(self.run.path) or self.status
        return self.status

    def tick(self) -> None:
        """Called about once a second on the writer thread."""
        if self._shown_elsewhere():
            return
        status = self._read()
        state, message = status.get("status"), status.get("message") or ""
        if state == "stopped":
            self.run.notices.warn(
                f"the server refused this run's upload: {message}; logging goes on and is safe on disk "
                f"(run `tracker sync {self.run.path}` once fixed)",
                f"sync-stopped:{message}",
            )
        elif state == "retrying":
            since = status.get("failing_since")
            if isinstance(since, (int, float)) and time.time() - since >= FAILING_FOR:
                self.run.notices.warn(
                    f"the upload to the server has been failing for {time.time() - since:.0f} s ({message}); "
                    "retrying, and logging goes on safe on disk",
                    f"sync-failing:{since}",
                )

    def at_finish(self) -> None:
        """After the last record is written: say what is not on the server, if the upload is in trouble."""
        if self._shown_elsewhere():
            return
        status = self._read()
        state, message = status.get("status"), status.get("message") or ""
        if state not in _TROUBLE:
            return  # pending or ok: the service uploads the rest after the run
        acked = int((status.get("events") or {}).get("acked") or 0)
        left = self.run.writer.seq - acked
        if left <= 0:
            return
        where = self.run.path
        if state == "retrying":
            try:
                limit = f"{settings.sync_timeout():g} s"
            except ValueError:
                limit = "600 s"
            then = (f"the service keeps trying for up to {limit} (TRACKER_SYNC_TIMEOUT); "
                    f"if it cannot, run `tracker sync {where}`")
        else:
            then = f"they are safe in {where}: run `tracker sync {where}`"
        self.run.notices.warn(f"{left} records of this run are not on the server (sync {state}: {message}); {then}")


def report_at_finish(run: Any) -> None:
    """``finish()``'s hook: the watcher's last word, if the run has one."""
    companions = getattr(run, "companions", None)  # a disabled run has none
    watch = companions.sync_watch if companions is not None else None
    if watch is not None:
        try:
            watch.at_finish()
        except Exception as exc:  # noqa: BLE001 - finishing must complete
            run.notices.debug(f"sync status at finish failed: {exc!r}")
