"""Uploading a run directory to a tracking server, idempotently.

:class:`Uploader` is the consumer loop, separate from the transport
(:class:`~jupyter_tracker.client.ServerClient`) so each can be tested alone.
It sends what the logs hold beyond what the server acknowledged, in batches
that name their sequence range; the server keeps a high-water mark per log,
so a batch sent twice is never stored twice. Progress (acknowledged sequence
numbers, file offsets, uploaded files, declared holes) lives in ``sync.json``
in the run directory, so the service, a later ``tracker sync`` or a restarted
process go on where the last one stopped. The token never goes there.

A local log with permanent holes (a corrupt line) is still uploaded: the
holes are declared to the server with the batch that crosses them, and
duplicated records are skipped (:mod:`.batches`). Every path that retries
backs off (connection errors, 5xx, 429, a 409 that repeats, an error of ours),
so nothing loops tightly; ``give_up`` bounds how long failures are retried and
``stop`` ends the loop at once, progress saved.
"""

from __future__ import annotations

import fnmatch
import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import records, rundir, settings
from ..limits import BATCH_BYTES, BATCH_RECORDS, MAX_FILE
from ..client import Gap, Refused, Retryable, ServerClient
from . import batches
from .artifacts import artifacts_left, send_artifacts

__all__ = ["Uploader", "Backoff", "debug_logger", "NOT_SYNCED"]

LOGS = (("events", rundir.EVENTS), ("system", rundir.SYSTEM))

#: ``sync.json`` status of an upload given up for now (timeout, SIGTERM): ``tracker sync`` goes on.
NOT_SYNCED = "not-synced"

log = logging.getLogger("jupyter_tracker.sync")


def debug_logger(run_dir: Path) -> tuple[logging.Logger, logging.Handler | None]:
    """A logger writing to the run's ``logs/debug.log`` only (never to a terminal)."""
    logger = logging.getLogger(f"jupyter_tracker.sync.{Path(run_dir).resolve()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        handler: logging.Handler | None = logging.FileHandler(Path(run_dir) / "logs" / "debug.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s sync: %(message)s"))
        logger.addHandler(handler)
    except OSError:
        handler = None
        logger.addHandler(logging.NullHandler())
    return logger, handler


class _Stalled(Retryable):
    """No progress where there should be some: retried with backoff, like a network error."""


class Backoff:
    """Capped exponential backoff with full jitter; ``Retry-After`` wins when longer."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap = base, cap
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        self.failures += 1
        delay = random.uniform(self.base, min(self.cap, self.base * 2 ** self.failures))
        if retry_after is not None:
            delay = max(delay, min(retry_after, 300.0))
        return delay

    def reset(self) -> None:
        self.failures = 0


class Uploader:
    """Sends one run directory's records, info and files to the server."""

    def __init__(self, run_dir: Path, client: ServerClient, debug: logging.Logger | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.client = client
        self.debug = debug or log
        info = rundir.read_info(self.run_dir) or {}
        self.run_id = info.get("id") or self.run_dir.name.rsplit("-", 1)[-1]
        state = rundir.read_sync(self.run_dir)
        self.logs: dict[str, dict[str, int]] = {}
        for name, _ in LOGS:
            saved = state.get(name) or {}
            self.logs[name] = {key: int(saved.get(key, 0)) for key in ("acked", "offset", "top")}
        saved_missing = state.get("missing") or {}
        #: Holes declared to the server (and acknowledged), per log: ``[[from, to], ...]``.
        self.missing: dict[str, list[list[int]]] = {name: [list(h) for h in saved_missing.get(name) or []]
                                                    for name, _ in LOGS}
        saved_duplicates = state.get("duplicates") or {}
        self.duplicates: dict[str, int] = {name: int(saved_duplicates.get(name) or 0) for name, _ in LOGS}
        self.files: dict[str, list[float]] = dict(state.get("files") or {})
        #: ``artifacts/logged/<n>`` done -> the version the server gave it; blobs known to be there.
        self.artifacts: dict[str, str] = dict(state.get("artifacts") or {})
        self.blobs_known: set[str] = set()
        #: Files the server refused (too large, a name it cannot store): ``{name: {"mark", "reason"}}``;
        #: offered again only when they change. The rest of the run uploads as usual.
        self.refused_files: dict[str, dict[str, Any]] = dict(state.get("refused_files") or {})
        self.status = state.get("status", "pending")
        self.message = state.get("message", "")
        self.failing_since: float | None = None
        self.info_mtime = 0.0
        self.checked_server = False
        #: What this process sent: records per log and files; holes it declared.
        self.sent = {"events": 0, "system": 0, "files": 0, "blobs": 0, "artifacts": 0}
        self.declared: dict[str, list[list[int]]] = {name: [] for name, _ in LOGS}
        self.skipped: dict[str, int] = {name: 0 for name, _ in LOGS}
        self.last_contact = 0.0
        self._last_gap: dict[str, int] = {}
        self._saved_at = 0.0
        self._lock = threading.Lock()  # the service may save from its main thread while this one works
        self._stop: Callable[[], Any] = lambda: False

    # -- state --------------------------------------------------------------------
    def save(self) -> None:
        with self._lock:
            data = {**{name: dict(state) for name, state in self.logs.items()},
                    "missing": {name: [list(h) for h in holes] for name, holes in self.missing.items()},
                    "duplicates": dict(self.duplicates), "files": dict(self.files),
                    "artifacts": dict(self.artifacts),
                    "refused_files": dict(self.refused_files),
                    "status": self.status, "message": self.message, "failing_since": self.failing_since,
                    "host": self.client.host, "updated_at": time.time()}
            try:
                rundir.write_sync(self.run_dir, data)
            except OSError as exc:
                self.debug.warning("cannot write %s: %s", rundir.SYNC_JSON, exc)
            self._saved_at = time.monotonic()

    def set_status(self, status: str, message: str = "") -> None:
        if status == "retrying":
            self.failing_since = self.failing_since or time.time()
        else:
            self.failing_since = None
        if (status, message) != (self.status, self.message):
            self.status, self.message = status, message
            self.save()

    def abandon(self, reason: str) -> None:
        """Stop for now with everything saved; ``sync.json`` and ``debug.log`` say what to run."""
        last = f"; last error: {self.message}" if self.status == "retrying" and self.message else ""
        message = f"not synced, run `tracker sync {self.run_dir}` ({reason}{last})"
        self.debug.warning(message)
        self.set_status(NOT_SYNCED, message)

    # -- one pass -----------------------------------------------------------------
    def step(self) -> bool:
        """Send whatever is new; whether anything was sent. Raises Retryable / Refused."""
        sent = self._send_info()
        if not self.checked_server:
            self._align_with_server()
        for name, filename in LOGS:
            sent |= self._send_log(name, self.run_dir / filename)
        sent |= self._send_files()
        if self.info_mtime:  # the run is on the server
            sent |= send_artifacts(self)
        if sent:
            self.last_contact = time.monotonic()
            self.save()
        return sent

    def _send_info(self) -> bool:
        path = self.run_dir / rundir.RUN_JSON
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return False
        if mtime == self.info_mtime:
            return False
        info = rundir.read_info(self.run_dir) or {}
        info.pop("pid", None)  # meaningful on this machine only
        # the state comes from the events log's own records, in order with the rows:
        # run.json may say "finished" before the last rows are sent
        info.pop("state", None)
        self.client.put_run(self.run_id, info)
        self.info_mtime = mtime
        return True

    def _align_with_server(self) -> None:
        """The server's high-water marks are the truth (sync.json may be lost or stale)."""
        hwm = (self.client.get_run(self.run_id) or {}).get("hwm") or {}
        for name, _ in LOGS:
            self._move_mark(name, int(hwm.get(name) or 0))
        self.checked_server = True

    def _move_mark(self, name: str, server: int) -> None:
        state = self.logs[name]
        if server == state["acked"]:
            return
        if server < state["acked"]:  # the server lost data (a reset database): send again from its mark
            state["offset"] = state["top"] = 0
            self.missing[name] = [[a, min(b, server)] for a, b in self.missing[name] if a <= server]
        state["acked"] = server

    def _send_log(self, name: str, path: Path) -> bool:
        state = self.logs[name]
        try:
            if path.stat().st_size <= state["offset"]:
                return False  # nothing new: the usual case between two writes
        except OSError:
            return False
        corrupt_at: list[tuple[int, int]] = []
        frames, _end, _corrupt = records.read_frames(path, state["offset"], corrupt_at=corrupt_at)
        plan = batches.cut(batches.pieces(frames, state["acked"], state["top"]), BATCH_RECORDS, BATCH_BYTES)
        sent = False
        for batch in plan:
            if self._stop():
                break
            if batch.count:
                try:
                    acked = self.client.post_records(self.run_id, batch.body(name))
                except Gap as gap:
                    self._after_gap(name, gap.expected)
                    return True
                if acked < batch.last_seq:
                    raise _Stalled(f"the server acknowledged {name} up to {acked}, not {batch.last_seq}")
                self.sent[name] += batch.count
                sent = True
                self._last_gap.pop(name, None)
            self._settle(name, path, batch, acked if batch.count else state["acked"], corrupt_at)
        return sent

    def _after_gap(self, name: str, expected: int) -> None:
        """409: the server's mark differs from ours. Read again from its mark; the same
        answer twice without progress is retried with backoff, never in a tight loop."""
        state = self.logs[name]
        self.debug.info("%s: the server expects seq %d (we had %d acknowledged)", name, expected, state["acked"])
        repeated = self._last_gap.get(name) == expected
        self._last_gap[name] = expected
        with self._lock:
            self._move_mark(name, expected - 1)
            state["offset"] = state["top"] = 0
        if repeated:
            raise _Stalled(f"the server keeps expecting {name} records from sequence number {expected}")

    def _settle(self, name: str, path: Path, batch: batches.Batch, acked: int,
                corrupt_at: list[tuple[int, int]]) -> None:
        """The batch is on the server: move the read offset past it, and say once what it skipped."""
        state = self.logs[name]
        for start, stop in corrupt_at:
            if state["offset"] <= start and stop <= batch.end:
                self.debug.warning("%s: corrupt line at bytes %d-%d skipped", path.name, start, stop)
        if batch.holes:
            ranges = ", ".join(f"{a}-{b}" for a, b in batch.holes)
            lost = sum(b - a + 1 for a, b in batch.holes)
            self.debug.warning("%s: %d records could not be read from the local log (seq %s); "
                               "declared missing to the server", path.name, lost, ranges)
        if batch.duplicates:
            self.debug.warning("%s: %d duplicate records skipped (sequence numbers already read)",
                               path.name, batch.duplicates)
        with self._lock:
            state["acked"] = max(state["acked"], acked)
            state["offset"], state["top"] = batch.end, max(state["top"], batch.top)
            if batch.holes:
                self.missing[name] = batches.merge_holes(self.missing[name], batch.holes)
                self.declared[name] = batches.merge_holes(self.declared[name], batch.holes)
            self.duplicates[name] += batch.duplicates
            self.skipped[name] += batch.duplicates
        if time.monotonic() - self._saved_at > 1.0:  # a SIGTERM mid-upload loses at most a second
            self.save()

    def _files_to_send(self) -> list[tuple[str, Path, list[float]]]:
        base = self.run_dir / "files"
        if not base.is_dir():
            return []
        ignore = settings.ignore_globs()
        out = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            name = path.relative_to(base).as_posix()
            if any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(path.name, g) for g in ignore):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            mark = [stat.st_size, stat.st_mtime]
            if self.files.get(name) != mark and (self.refused_files.get(name) or {}).get("mark") != mark:
                out.append((name, path, mark))
        return out

    def _send_files(self) -> bool:
        sent = False
        for name, path, mark in self._files_to_send():
            if self._stop():
                break
            try:
                if mark[0] > MAX_FILE:
                    raise Refused(f"{name} is {mark[0]:,} bytes, more than a file may have ({MAX_FILE:,})", 413)
                self.client.put_file(self.run_id, name, path.read_bytes())
            except Refused as exc:
                if exc.status in (401, 403):  # the token: nothing else of the run would go either
                    raise
                # this file only: say so and go on with the rest of the run
                self.debug.warning("file %s not uploaded: %s", name, exc)
                with self._lock:
                    self.refused_files[name] = {"mark": mark, "reason": str(exc)}
                sent = True  # progress to save
                continue
            with self._lock:
                self.files[name] = mark
                self.refused_files.pop(name, None)
            self.sent["files"] += 1
            sent = True
        return sent

    def heartbeat(self) -> None:
        self.client.heartbeat(self.run_id)
        self.last_contact = time.monotonic()

    def left(self) -> dict[str, int]:
        """What is not on the server yet: records per log (duplicates and holes aside), and files."""
        out = {}
        for name, filename in LOGS:
            state = self.logs[name]
            frames, _, _ = records.read_frames(self.run_dir / filename, state["offset"])
            out[name] = sum(p.count for p in batches.pieces(frames, state["acked"], state["top"]))
        out["files"] = len(self._files_to_send())
        out["artifacts"] = artifacts_left(self)
        return out

    def pending(self) -> bool:
        """Whether the logs hold records the server has not acknowledged."""
        left = self.left()
        return bool(left["events"] or left["system"] or left["artifacts"])

    # -- loops --------------------------------------------------------------------
    def run_until(self, done: Any, interval: float = 0.9, stop: Any = None, heartbeat_every: float = 10.0,
                  give_up: float | None = None) -> bool:
        """Sync until ``done()`` is true and nothing is pending; retry with backoff.

        Returns True when everything is sent, False when the server refused
        (status ``stopped``), when failures went on for ``give_up`` seconds
        (status ``retrying``), or when ``stop()`` turned true (checked between
        requests and while waiting; progress is saved).
        """
        self._stop = stop or (lambda: False)
        backoff = Backoff()
        failing_since: float | None = None
        while True:
            if self._stop():
                self.save()
                return False
            finished = done()
            try:
                progressed = self.step()
                if finished and self.pending():
                    if not progressed:
                        raise _Stalled("records are pending but none could be sent")
                    delay = interval
                elif finished:
                    self.set_status("done", "")
                    return True
                else:
                    if time.monotonic() - self.last_contact > heartbeat_every:
                        self.heartbeat()
                    delay = interval
                backoff.reset()
                failing_since = None
                self.set_status("ok", "")
            except Refused as exc:
                self.debug.error("sync stopped: %s", exc)
                self.set_status("stopped", str(exc))
                return False
            except Exception as exc:  # noqa: BLE001 - Retryable, or a problem of ours: back off either way
                if not isinstance(exc, Retryable):
                    self.debug.exception("sync failed")
                    exc = Retryable(f"{type(exc).__name__}: {exc}")
                now = time.monotonic()
                failing_since = failing_since or now
                if give_up is not None and now - failing_since >= give_up:
                    self.set_status("retrying", str(exc))
                    self.save()
                    return False
                delay = backoff.next_delay(exc.retry_after)
                if give_up is not None:
                    delay = min(delay, give_up - (now - failing_since))
                self.debug.warning("sync: %s; retrying in %.1f s", exc, delay)
                self.set_status("retrying", str(exc))
                self.checked_server = False
            if not self._wait(delay):
                self.save()
                return False

    def _wait(self, seconds: float) -> bool:
        """Sleep, waking for ``stop``; False when stopped."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stop():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(0.1, left))
