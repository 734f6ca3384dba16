"""Uploading a run directory to a tracking server, idempotently.

:class:`Uploader` is the consumer loop, separate from the transport
(:class:`~jupyter_tracker.client.ServerClient`) so each can be tested alone.
It sends what the logs hold beyond what the server acknowledged, in batches
that name their sequence range; the server keeps a high-water mark per log,
so a batch sent twice is never stored twice. Progress (acknowledged sequence
numbers, file offsets, uploaded files) lives in ``sync.json`` in the run
directory, so the service, a later ``tracker sync`` or a restarted process go
on where the last one stopped. The token never goes there.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

import orjson

from .. import records, rundir, settings
from ..limits import BATCH_BYTES, BATCH_RECORDS
from ..client import Gap, Refused, Retryable, ServerClient

__all__ = ["Uploader", "Backoff"]

LOGS = (("events", rundir.EVENTS), ("system", rundir.SYSTEM))

log = logging.getLogger("jupyter_tracker.sync")


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
        self.logs: dict[str, dict[str, int]] = {
            name: {"acked": int(state.get(name, {}).get("acked", 0)), "offset": int(state.get(name, {}).get("offset", 0))}
            for name, _ in LOGS
        }
        self.files: dict[str, list[float]] = dict(state.get("files") or {})
        self.status = state.get("status", "pending")
        self.message = state.get("message", "")
        self.info_mtime = 0.0
        self.checked_server = False
        self.sent = {"events": 0, "system": 0, "files": 0}
        self.last_contact = 0.0

    # -- state --------------------------------------------------------------------
    def save(self) -> None:
        data = {**self.logs, "files": self.files, "status": self.status, "message": self.message,
                "host": self.client.host, "updated_at": time.time()}
        try:
            rundir.write_sync(self.run_dir, data)
        except OSError as exc:
            self.debug.warning("cannot write %s: %s", rundir.SYNC_JSON, exc)

    def set_status(self, status: str, message: str = "") -> None:
        if (status, message) != (self.status, self.message):
            self.status, self.message = status, message
            self.save()

    # -- one pass -----------------------------------------------------------------
    def step(self) -> bool:
        """Send whatever is new; whether anything was sent. Raises Retryable / Refused."""
        sent = self._send_info()
        if not self.checked_server:
            self._align_with_server()
        for name, filename in LOGS:
            sent |= self._send_log(name, self.run_dir / filename)
        sent |= self._send_files()
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
            server = int(hwm.get(name) or 0)
            state = self.logs[name]
            if server != state["acked"]:
                if server < state["acked"]:
                    state["offset"] = 0  # the server lost data (a reset database): send again from its mark
                state["acked"] = server
        self.checked_server = True

    def _send_log(self, name: str, path: Path) -> bool:
        state = self.logs[name]
        try:
            if path.stat().st_size <= state["offset"]:
                return False  # nothing new: the usual case between two writes
        except OSError:
            return False
        frames, _end, corrupt = records.read_frames(path, state["offset"])
        if corrupt:
            self.debug.warning("%s: %d corrupt frame(s) skipped while syncing", path.name, corrupt)
        done = [f for f in frames if f.last <= state["acked"]]
        if done and done[-1] is frames[len(done) - 1]:  # acknowledged frames ahead: skip them for good
            state["offset"] = done[-1].end
        frames = [f for f in frames if f.last > state["acked"]]
        sent = False
        while frames:
            batch, size, count = [], 0, 0
            for frame in frames:
                if batch and (count + (frame.last - frame.first + 1) > BATCH_RECORDS or size + len(frame.payload) > BATCH_BYTES):
                    break
                batch.append(frame)
                size += len(frame.payload)
                count += frame.last - frame.first + 1
            frames = frames[len(batch):]
            body, first, last = self._body(name, batch, state["acked"])
            try:
                acked = self.client.post_records(self.run_id, body)
            except Gap as gap:
                self.debug.info("%s: the server expects seq %d (we had %d acknowledged)", name, gap.expected, state["acked"])
                state["acked"], state["offset"] = gap.expected - 1, 0
                return True
            state["acked"] = max(state["acked"], acked)
            # the next read starts at the first frame not entirely acknowledged
            done = [f for f in batch if f.last <= state["acked"]]
            if done:
                state["offset"] = done[-1].end
            self.sent[name] += last - first + 1
            sent = True
        return sent

    @staticmethod
    def _body(name: str, batch: list[records.Frame], acked: int) -> tuple[bytes, int, int]:
        """The batch as the server wants it, forwarding the frames' JSON as written."""
        parts: list[bytes] = []
        first = None
        for frame in batch:
            if frame.first > acked:
                parts.append(frame.payload[1:-1])  # the records, without the frame's brackets
                first = frame.first if first is None else first
            else:  # partly acknowledged: keep only the records beyond the mark
                recs = [r for r in records.restore_floats(orjson.loads(frame.payload)) if r[0] > acked]
                parts.append(orjson.dumps([records._jsonable_record(r) for r in recs])[1:-1])
                first = recs[0][0] if first is None else first
        last = batch[-1].last
        head = b'{"log":"%s","first_seq":%d,"last_seq":%d,"records":[' % (name.encode(), first, last)
        return head + b",".join(parts) + b"]}", first, last

    def _send_files(self) -> bool:
        base = self.run_dir / "files"
        if not base.is_dir():
            return False
        ignore = settings.ignore_globs()
        sent = False
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            name = path.relative_to(base).as_posix()
            if any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(path.name, g) for g in ignore):
                continue
            stat = path.stat()
            mark = [stat.st_size, stat.st_mtime]
            if self.files.get(name) == mark:
                continue
            self.client.put_file(self.run_id, name, path.read_bytes())
            self.files[name] = mark
            self.sent["files"] += 1
            sent = True
        return sent

    def heartbeat(self) -> None:
        self.client.heartbeat(self.run_id)
        self.last_contact = time.monotonic()

    def pending(self) -> bool:
        """Whether the logs hold records the server has not acknowledged."""
        for name, filename in LOGS:
            frames, _, _ = records.read_frames(self.run_dir / filename, self.logs[name]["offset"])
            if frames and frames[-1].last > self.logs[name]["acked"]:
                return True
        return False

    # -- loops --------------------------------------------------------------------
    def run_until(self, done: Any, interval: float = 0.9, stop: Any = None, heartbeat_every: float = 10.0,
                  give_up: float | None = None) -> bool:
        """Sync until ``done()`` is true and nothing is pending; retry on Retryable errors.

        Returns False when the server refused (status ``stopped``) or when
        ``give_up`` seconds of failures passed, True when everything is sent.
        ``stop()`` true ends the loop early (the user ended it).
        """
        backoff = Backoff()
        failing_since: float | None = None
        while True:
            if stop is not None and stop():
                return False
            finished = done()
            try:
                self.step()
                if finished and not self.pending():
                    self.set_status("done", "")
                    return True
                if time.monotonic() - self.last_contact > heartbeat_every and not finished:
                    self.heartbeat()
                backoff.reset()
                failing_since = None
                self.set_status("ok", "")
                time.sleep(interval)
            except Refused as exc:
                self.debug.error("sync stopped: %s", exc)
                self.set_status("stopped", str(exc))
                return False
            except Retryable as exc:
                now = time.monotonic()
                failing_since = failing_since or now
                if give_up is not None and now - failing_since > give_up:
                    self.set_status("retrying", str(exc))
                    return False
                delay = backoff.next_delay(exc.retry_after)
                self.debug.warning("sync: %s; retrying in %.1f s", exc, delay)
                self.set_status("retrying", str(exc))
                self.checked_server = False
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline:
                    if stop is not None and stop():
                        return False
                    time.sleep(min(0.1, deadline - time.monotonic()) if deadline > time.monotonic() else 0)
