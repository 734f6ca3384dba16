"""The record schema and its line format, shared by every process.

A log file (``events.log``, ``system.log``) is a sequence of lines, one record
per line::

    <json array>\\t<crc32 of the json bytes, 8 lowercase hex digits>\\n

The JSON array always starts with the record's sequence number and kind:

============  ===================================================================
kind          array
============  ===================================================================
``h``         ``[seq, "h", step, ts, {metric: value}]`` one ``log()`` call
``c``         ``[seq, "c", ts, {key: value}]`` config keys set or changed
``s``         ``[seq, "s", ts, {"set": {key: value}, "del": [key]}]`` summary overrides
``m``         ``[seq, "m", ts, {"name", "step_metric", "summary"}]`` define_metric
``meta``      ``[seq, "meta", ts, {...}]`` run identity changes (name, tags, notes,
              git SHA, notebook path)
``f``         ``[seq, "f", ts, {"path", "policy"}]`` a file saved into ``files/``
``start``     ``[seq, "start", ts, {...}]`` a process started (or resumed) the run
``state``     ``[seq, "state", ts, {"state", "exit_code", "reason"}]``
``alert``     ``[seq, "alert", ts, {"title", "text", "level"}]`` ``run.alert()``
``art``       ``[seq, "art", ts, {"name", "type", "digest", "aliases", ...}]``
              ``log_artifact()`` (as ``artifacts/logged/<n>.json``)
``use``       ``[seq, "use", ts, {"project", "name", "version", "digest"}]``
              ``use_artifact()``
``sys``       ``[seq, "sys", ts, {metric: value}]`` system metrics (``system.log``)
============  ===================================================================

Every reader walks records with a :class:`Visitor`: one method per kind, so
a new kind is added in one place (:data:`HANDLERS`) and each reader says
what it does with it.

The schema is here; the line format (:mod:`.lines`: encoding and decoding a
frame), reading a log (:mod:`.reading`) and appending to one another process
left (:mod:`.appending`) are its submodules, every public name importable
from ``records``.

``ts`` is seconds since the epoch. Floats that JSON cannot hold (NaN, ±inf)
are written as ``{"$float": "NaN" | "Infinity" | "-Infinity"}``. See
``docs/format.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .appending import append_records, cut_torn_tail, write_all
from .lines import (
    FRAME_BYTES, FRAME_RECORDS, decode_line, encode, encode_items, first_seq, jsonable,
    restore_floats, to_float,
)
from .reading import Frame, LogPosition, ReadReport, last_seq, read_frames, read_log, read_new_frames

__all__ = [
    "HISTORY",
    "CONFIG",
    "SUMMARY",
    "METRIC",
    "META",
    "FILE",
    "ARTIFACT",
    "USE_ARTIFACT",
    "START",
    "STATE",
    "ALERT",
    "SYSTEM",
    "FRAME_RECORDS",
    "FRAME_BYTES",
    "NEW_HISTORY",
    "MEDIA",
    "MEDIA_ROW",
    "EVENT_KINDS",
    "SYSTEM_KINDS",
    "HANDLERS",
    "Visitor",
    "encode",
    "encode_items",
    "describe_rejected",
    "decode_line",
    "first_seq",
    "read_log",
    "read_new_frames",
    "LogPosition",
    "ReadReport",
    "jsonable",
    "to_float",
    "restore_floats",
    "append_records",
    "cut_torn_tail",
    "write_all",
    "last_seq",
    "Frame",
    "read_frames",
]

HISTORY = "h"
CONFIG = "c"
SUMMARY = "s"
METRIC = "m"
META = "meta"
FILE = "f"
START = "start"
STATE = "state"
ALERT = "alert"
SYSTEM = "sys"
MEDIA = "media"
ARTIFACT = "art"
USE_ARTIFACT = "use"
#: In this process only, never written: a history row holding a key never logged before
#: (``Run.log`` marks it so, the writer registers the key and writes it as :data:`HISTORY`).
NEW_HISTORY = "H"
#: In this process only, never written: a history row holding media values (``Run.log``
#: marks it so; the writer writes their files, then the row's :data:`HISTORY` record of
#: numbers and its :data:`MEDIA` record of references, see ``media.rows``).
MEDIA_ROW = "M"

#: The kinds each log holds: ``events.log`` and ``system.log``.
EVENT_KINDS = frozenset({HISTORY, CONFIG, SUMMARY, METRIC, META, FILE, START, STATE, ALERT, ARTIFACT,
                         USE_ARTIFACT, MEDIA})
SYSTEM_KINDS = frozenset({SYSTEM})

#: The :class:`Visitor` method that takes each kind other than history.
HANDLERS = {
    CONFIG: "on_config",
    SUMMARY: "on_summary",
    METRIC: "on_metric",
    META: "on_meta",
    FILE: "on_file",
    START: "on_start",
    STATE: "on_state",
    ALERT: "on_alert",
    ARTIFACT: "on_artifact",
    USE_ARTIFACT: "on_use_artifact",
    SYSTEM: "on_system",
    MEDIA: "on_media",
}


class Visitor:
    """One reader's handling of each kind of record, in log order.

    A reader overrides the methods of the kinds it uses; the others do
    nothing. History records reach :meth:`on_history` together: each run of
    consecutive ones as one batch (a list of records), so a reader works a
    batch at a time and sees every other record between two batches.
    """

    __slots__ = ()

    def visit(self, items: Iterable[list]) -> None:
        """Walk ``items`` (records ``[seq, kind, ...]``) in order."""
        batch: list[list] = []
        for item in items:
            if item[1] == HISTORY:
                batch.append(item)
                continue
            if batch:
                self.on_history(batch)
                batch = []
            self.visit_kind(item[1], item[0], item[2], item[3] if len(item) > 3 else None)
        if batch:
            self.on_history(batch)

    def visit_record(self, record: list) -> None:
        """One record (a history record as a batch of one)."""
        if record[1] == HISTORY:
            self.on_history([record])
        else:
            self.visit_kind(record[1], record[0], record[2], record[3] if len(record) > 3 else None)

    def visit_kind(self, kind: str, seq: int, ts: Any, payload: Any) -> None:
        """A record other than history, taken apart (the server's batches hold them so)."""
        name = HANDLERS.get(kind)
        if name is None:
            self.on_unknown(kind, seq, ts, payload)
        else:
            getattr(self, name)(seq, ts, payload)

    def on_history(self, batch: list[list]) -> None:
        """Consecutive ``[seq, "h", step, ts, {metric: value}]`` records."""

    def on_config(self, seq: int, ts: Any, payload: Any) -> None:
        """``{key: value}``: config keys set or changed."""

    def on_summary(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"set": {key: value}, "del": [key]}``: summary overrides."""

    def on_metric(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"name", "step_metric", "summary", "hidden"}``: a ``define_metric`` call."""

    def on_meta(self, seq: int, ts: Any, payload: Any) -> None:
        """Run identity changes (name, tags, notes, git, notebook)."""

    def on_file(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"path", "policy"}``: a file saved into ``files/``."""

    def on_start(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"pid", "host", "resumed"}``: a process started (or resumed) the run."""

    def on_state(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"state", "exit_code", "reason"}``: the run's state changed."""

    def on_alert(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"title", "text", "level"}``: ``run.alert()``."""

    def on_media(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"step", "values": {key: reference}}``: the media of one row (see docs/format.md, Media)."""

    def on_artifact(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"name", "type", "digest", "aliases", ...}``: an artifact version the run logged."""

    def on_use_artifact(self, seq: int, ts: Any, payload: Any) -> None:
        """``{"project", "name", "version", "digest"}``: an artifact version the run used."""

    def on_system(self, seq: int, ts: Any, payload: Any) -> None:
        """``{metric: value}``: one sample of system metrics (``system.log``)."""

    def on_unknown(self, kind: Any, seq: int, ts: Any, payload: Any) -> None:
        """A kind this version does not know (a newer writer's): skipped."""


def describe_rejected(record: list, error: BaseException) -> str:
    """What a user reads about a record :func:`encode_items` had to drop."""
    kind = record[1]
    if kind in (HISTORY, NEW_HISTORY):
        what = f"the row logged at step {record[2]} with keys {_keys(record[4])}"
    else:
        payload = record[3] if len(record) > 3 else None
        what = f"a {kind!r} record" + (f" with keys {_keys(payload)}" if isinstance(payload, dict) else "")
    return f"{what} cannot be encoded ({error}); that record alone was dropped, the records around it are written"


def _keys(data: object) -> str:
    if not isinstance(data, dict):
        return "?"
    keys = [ascii(k) for k in list(data)[:5]]
    return ", ".join(keys) + (f" (+{len(data) - 5} more)" if len(data) > 5 else "")
