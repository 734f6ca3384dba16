"""Writing an imported run as an ordinary run directory, and importing the same source again.

An importer reads its source into an :class:`Imported`: the run's identity, and
its records in the source's order with the source's own steps and wall times.
:func:`write_run` writes it through the shared core: ``events.log`` and
``system.log`` as frames of :mod:`jupyter_tracker.records`, ``run.json`` and
``summary.json`` through :mod:`jupyter_tracker.rundir`, files under ``files/``.
The directory is written under a temporary name and renamed into place, so an
interrupted import leaves no half run.

The run id is derived from the source (:func:`stable_id`, or the source's own
id), so importing the same source again finds the run it made:

- the source did not change (same fingerprint): nothing is written (``unchanged``);
- the source grew (its records start with the ones imported before): the new
  records are appended to the logs, so ``tracker sync`` uploads just those
  (``updated``);
- the source changed otherwise and the run was never synced: the run directory is
  written again in place (``rebuilt``);
- otherwise (changed, and already on a server): nothing is written and the
  message says why (``conflict``).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .. import records, rundir
from .._version import __version__
from ..limits import MAX_STEP, key_problem
from ..replay import replay

__all__ = ["Imported", "Outcome", "stable_id", "write_run", "RowBuilder", "number"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def stable_id(*parts: str) -> str:
    """Eight lowercase letters and digits derived from ``parts`` (the same parts, the same id)."""
    digest = int.from_bytes(hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).digest()[:8], "big")
    out = []
    for _ in range(8):
        digest, index = divmod(digest, len(_ALPHABET))
        out.append(_ALPHABET[index])
    return "".join(out)


def number(value: Any) -> int | float | None:
    """A history value as the log keeps it (ints stay ints), or ``None`` when it is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else float(value)
    return records.to_float(value)


@dataclass
class Imported:
    """A run read from another tool, ready to be written.

    ``body`` holds records without their sequence number, in order:
    ``["c", ts, {...}]``, ``["m", ts, spec]``, ``["meta", ts, {...}]`` and
    ``["h", step, ts, {metric: value}]`` (steps never go down), each possibly
    followed by ``["media", ts, {"step", "values"}]`` (its images, histograms,
    tables; their files in ``files`` or ``media_files``). After the body
    come an ``f`` record per file of ``files``, ``summary`` as one ``s`` record,
    and the final ``state``; ``system`` is written as ``["sys", ts, {...}]``
    records in ``system.log``.
    """

    source: str
    path: str
    run_id: str
    project: str
    name: str | None
    created_at: float
    finished_at: float
    body: list[list] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    system: list[list] = field(default_factory=list)
    #: Files to copy: path under ``files/`` -> the source file.
    files: dict[str, Path] = field(default_factory=dict)
    #: Files to write (media the source kept inside its own files): path under ``files/`` -> bytes.
    media_files: dict[str, bytes] = field(default_factory=dict)
    #: More ``run.json`` fields: group, job_type, tags, notes, host, program, python, git ...
    info: dict[str, Any] = field(default_factory=dict)
    state: str = "finished"
    exit_code: int | None = 0
    reason: str | None = None
    #: Changes when the source changes (sizes of its files...).
    fingerprint: str = ""
    #: What was not imported, and why: {"histogram series (...)": count}.
    skipped: dict[str, int] = field(default_factory=dict)
    #: Other things the user should know about the import.
    notes: list[str] = field(default_factory=list)

    def skip(self, what: str, count: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + count

    @property
    def rows(self) -> int:
        return sum(1 for r in self.body if r[0] == records.HISTORY)


class RowBuilder:
    """History rows keyed by step, from values that arrive in any order (TensorBoard tags, CSV cells).

    Keys the tracker refuses (reserved, too long...) and values that are not
    numbers are skipped and counted in ``imported.skipped``.
    """

    def __init__(self, imported: Imported) -> None:
        self.imported = imported
        self._rows: dict[int, list[Any]] = {}  # step -> [ts, {key: value}]
        self._media: dict[int, list[Any]] = {}  # step -> [ts, {key: reference}]
        self._refused: set[str] = set()

    def key(self, key: Any) -> str | None:
        problem = key_problem(key)
        if problem is None:
            return key
        if key not in self._refused:
            self._refused.add(key)
            self.imported.skip(f"metric {str(key)[:80]!r}: {problem}")
        return None

    def add(self, step: Any, ts: float, key: Any, value: Any) -> None:
        key = self.key(key)
        if key is None:
            return
        value = number(value)
        if value is None:
            self.imported.skip("values that are not numbers")
            return
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            self.imported.skip("values at a step that is not an integer from 0 to 2^63-1")
            return
        row = self._rows.get(step)
        if row is None:
            self._rows[step] = [ts, {key: value}]
        else:
            row[0] = max(row[0], ts)
            row[1][key] = value

    def add_media(self, step: int, ts: float, key: Any, reference: dict[str, Any]) -> None:
        """A media reference (see ``media.storage``) logged under ``key`` at ``step``."""
        key = self.key(key)
        if key is None:
            return
        at = self._media.setdefault(step, [ts, {}])
        at[0] = max(at[0], ts)
        at[1][key] = reference

    def records(self) -> list[list]:
        """``h`` records in step order (one per step), each followed by its ``media`` record."""
        out: list[list] = []
        for step in sorted(self._rows.keys() | self._media.keys()):
            if step in self._rows:
                out.append([records.HISTORY, step, self._rows[step][0], self._rows[step][1]])
            if step in self._media:
                out.append([records.MEDIA, self._media[step][0], {"step": step, "values": self._media[step][1]}])
        return out


@dataclass
class Outcome:
    """What :func:`write_run` did."""

    status: str  # imported, unchanged, updated, rebuilt, conflict
    path: Path
    rows: int = 0
    added: int = 0
    message: str = ""


# -- writing ----------------------------------------------------------------------------------
def _all_records(imp: Imported, previous_overrides: Iterable[str] = (),
                 recorded_files: Iterable[str] = ()) -> tuple[list[list], list[list]]:
    """(body, tail): the body after a ``start`` record, and the ``f``/``s``/``state`` records that end it
    (``f`` for the files not recorded before)."""
    recorded = set(recorded_files)
    tail: list[list] = [[records.FILE, imp.finished_at, {"path": rel, "policy": "now"}]
                        for rel in sorted(imp.files) if rel not in recorded]
    deleted = sorted(set(previous_overrides) - set(imp.summary))
    if imp.summary or deleted:
        change: dict[str, Any] = {"set": dict(imp.summary)}
        if deleted:
            change["del"] = deleted
        tail.append([records.SUMMARY, imp.finished_at, change])
    state: dict[str, Any] = {"state": imp.state, "exit_code": imp.exit_code}
    if imp.reason:
        state["reason"] = imp.reason
    tail.append([records.STATE, imp.finished_at, state])
    return imp.body, tail


def _start(imp: Imported) -> list:
    return [records.START, imp.created_at, {"pid": None, "host": imp.info.get("host"), "resumed": False}]


def _frames(items: list[list], first_seq: int) -> bytes:
    numbered = [[seq, *item] for seq, item in enumerate(items, first_seq)]
    return b"".join(records.encode(numbered[i:i + records.FRAME_RECORDS])
                    for i in range(0, len(numbered), records.FRAME_RECORDS))


def _info(imp: Imported, rows_step: int | None, now: float) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": imp.run_id,
        "name": imp.name,
        "project": imp.project,
        "group": None,
        "job_type": None,
        "tags": [],
        "notes": None,
        "mode": "offline",
        "state": imp.state,
        "created_at": imp.created_at,
        "updated_at": now,
        "finished_at": imp.finished_at,
        "exit_code": imp.exit_code,
        "host": None,
        "pid": None,
        "tracker_version": __version__,
    }
    info.update({k: v for k, v in imp.info.items() if v is not None})
    if imp.reason:
        info["crash_reason"] = imp.reason
    info["steps"] = rows_step
    info["import"] = {"source": imp.source, "path": imp.path, "fingerprint": imp.fingerprint,
                      "imported_at": now, "by": f"{socket.gethostname()}:{os.getpid()}"}
    return info


def _copy_files(imp: Imported, folder: Path) -> None:
    for rel, source in imp.files.items():
        target = folder / "files" / rel
        try:
            stat = source.stat()
            if target.exists() and target.stat().st_size == stat.st_size and target.stat().st_mtime >= stat.st_mtime:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        except OSError as exc:
            imp.skip(f"file {rel!r} could not be copied ({exc.strerror or exc})")
    for rel, data in imp.media_files.items():
        target = folder / "files" / rel
        if target.exists() and target.stat().st_size == len(data):
            continue  # named by its content: the same bytes
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            imp.skip(f"file {rel!r} could not be written ({exc.strerror or exc})")


def _finish_dir(imp: Imported, folder: Path) -> int:
    """``summary.json`` and ``run.json`` from what the log now says; the number of history rows."""
    log = replay(folder / rundir.EVENTS, keep_rows=False)
    rundir.write_summary(folder, log.summary, config=log.config)
    rundir.write_info(folder, _info(imp, log.last_step, time.time()))
    return log.summary.rows


def _write_new(imp: Imported, folder: Path) -> int:
    (folder / "files").mkdir(parents=True)
    (folder / "logs").mkdir()
    body, tail = _all_records(imp)
    (folder / rundir.EVENTS).write_bytes(_frames([_start(imp), *body, *tail], 1))
    if imp.system:
        (folder / rundir.SYSTEM).write_bytes(_frames(imp.system, 1))
    _copy_files(imp, folder)
    return _finish_dir(imp, folder)


def _normal(record: list) -> bytes:
    return orjson.dumps(records.jsonable(record))


def _read_body(path: Path) -> tuple[list[bytes], set[str]]:
    """The normalised body records of a log (without sequence numbers, and without the
    ``start``, ``f``, ``s`` and ``state`` records an import adds), and the files it records."""
    body, files = [], set()
    for record in records.read_log(path):
        if record[1] == records.FILE:
            files.add(record[3].get("path"))
        elif record[1] not in (records.START, records.SUMMARY, records.STATE):
            body.append(_normal(record[1:]))
    return body, files


def _extends(old: list[bytes], new: list[list]) -> bool:
    return len(old) <= len(new) and all(a == _normal(b) for a, b in zip(old, new))


def write_run(base: Path, imp: Imported) -> Outcome:
    """Write ``imp`` under ``base`` (see the module's docstring for a second import).

    Raises
    ------
    OSError
        When the folder cannot be written (nothing half-written is left behind).
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    existing = rundir.find_by_id(base, imp.run_id)
    if existing is None:
        final = base / rundir.dir_name(imp.run_id, True, imp.created_at)
        rows = _write_into(base, final, imp, replace=False)
        return Outcome("imported", final, rows=rows, added=rows)
    info = rundir.read_info(existing) or {}
    if (info.get("import") or {}).get("fingerprint") == imp.fingerprint and imp.fingerprint:
        return Outcome("unchanged", existing, rows=_rows(existing))
    old_body, old_files = _read_body(existing / rundir.EVENTS)
    old_system = [_normal(r[1:]) for r in records.read_log(existing / rundir.SYSTEM)]
    synced = bool(rundir.read_sync(existing))
    if _extends(old_body, imp.body) and _extends(old_system, imp.system):
        before = _rows(existing)
        overrides = replay(existing / rundir.EVENTS, keep_rows=False).summary.overrides
        body, tail = _all_records(imp, overrides, old_files)
        _copy_files(imp, existing)  # first: a record never names a file not there yet
        records.append_records(existing / rundir.EVENTS, [[0, *r] for r in [*body[len(old_body):], *tail]])
        if len(imp.system) > len(old_system):
            records.append_records(existing / rundir.SYSTEM, [[0, *r] for r in imp.system[len(old_system):]])
        rows = _finish_dir(imp, existing)
        return Outcome("updated", existing, rows=rows, added=rows - before)
    if synced:
        return Outcome("conflict", existing, rows=_rows(existing), message=(
            f"the source changed in a way that is not an addition at its end, and run {imp.run_id} was already "
            f"synced to a server: nothing was written. Delete {existing} and that run on the server to import it "
            "again from scratch"))
    rows = _write_into(base, existing, imp, replace=True)
    return Outcome("rebuilt", existing, rows=rows, added=rows)


def _rows(path: Path) -> int:
    summary = rundir.read_json(path / rundir.SUMMARY_JSON) or {}
    rows = summary.get("_rows") if isinstance(summary, dict) else None
    return rows if isinstance(rows, int) else replay(path / rundir.EVENTS, keep_rows=False).summary.rows


def _write_into(base: Path, final: Path, imp: Imported, replace: bool) -> int:
    """Write the run in a temporary folder beside ``final``, then move it into place."""
    scratch = base / f".import-{imp.run_id}-{os.getpid()}"
    if scratch.exists():
        shutil.rmtree(scratch)
    try:
        rows = _write_new(imp, scratch)
        if replace:
            old = base / f".import-{imp.run_id}-{os.getpid()}.old"
            os.rename(final, old)
            try:
                os.rename(scratch, final)
            except OSError:
                os.rename(old, final)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return rows


def finite_equal(a: Any, b: Any) -> bool:
    """``a == b`` where NaN equals NaN (summary values read back)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
