"""Rebuild a run from its events log: history rows, config, summary, state.

The events log is the source of truth; this is how every reader (``Api``,
``tracker ls``, a resumed run, the service marking a crash) sees it.
:func:`replay` reads a whole log at once and is the reference; the columnar
cache (:mod:`jupyter_tracker.columns`) feeds the same :class:`RunLog` the
records it reads incrementally and keeps it between reads
(:meth:`RunLog.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from operator import itemgetter
from typing import Any

from . import records
from .summaries import SummaryState

__all__ = ["RunLog", "replay"]

#: At most this many problem lines are kept by a reader that keeps its report.
MAX_PROBLEMS = 1000


_SEQ = itemgetter(0)


@dataclass
class RunLog(records.Visitor):
    """Everything an events log says, in one pass (a :class:`~jupyter_tracker.records.Visitor`:
    :func:`replay` walks a whole log with it, the columnar cache the records it reads)."""

    config: dict[str, Any] = field(default_factory=dict)
    summary: SummaryState = field(default_factory=SummaryState)
    rows: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    state: str | None = None
    exit_code: int | None = None
    last_seq: int = 0
    last_step: int | None = None
    start_ts: float | None = None
    last_ts: float | None = None
    report: records.ReadReport = field(default_factory=records.ReadReport)
    #: Whether :meth:`on_history` keeps the rows (a resumed run needs only the rest).
    keep_rows: bool = field(default=True, repr=False, compare=False)

    @property
    def next_step(self) -> int:
        return 0 if self.last_step is None else self.last_step + 1

    # -- the records (history rows: :func:`replay` here, the cache its own way) ----
    def on_history(self, batch: list[list]) -> None:
        seq = max(map(_SEQ, batch))
        if seq > self.last_seq:
            self.last_seq = seq
        summary = self.summary
        rows = self.rows
        current = rows[-1] if rows and self.keep_rows else None
        for record in batch:
            step, ts, data = record[2], record[3], record[4]
            summary.add_rows([data], step)
            if self.keep_rows:
                if current is not None and current["_step"] == step:
                    current.update(data)
                    current["_timestamp"] = ts
                else:
                    current = {"_step": step, "_timestamp": ts}
                    current.update(data)
                    rows.append(current)
        self.last_step = step
        self.last_ts = ts

    def visit_kind(self, kind: str, seq: int, ts: Any, payload: Any) -> None:
        if seq > self.last_seq:
            self.last_seq = seq
        self.last_ts = ts
        super().visit_kind(kind, seq, ts, payload)

    def on_config(self, seq: int, ts: Any, payload: Any) -> None:
        self.config.update(payload)

    def on_metric(self, seq: int, ts: Any, payload: Any) -> None:
        self.summary.apply(records.METRIC, payload)
        self.metrics.append(payload)

    def on_summary(self, seq: int, ts: Any, payload: Any) -> None:
        self.summary.apply(records.SUMMARY, payload)

    def on_media(self, seq: int, ts: Any, payload: Any) -> None:
        self.summary.apply(records.MEDIA, payload)

    def on_meta(self, seq: int, ts: Any, payload: Any) -> None:
        self.meta.update(payload)

    def on_file(self, seq: int, ts: Any, payload: Any) -> None:
        self.files.append(payload)

    def on_start(self, seq: int, ts: Any, payload: Any) -> None:
        if self.start_ts is None:
            self.start_ts = ts
        self.state = "running"

    def on_state(self, seq: int, ts: Any, payload: Any) -> None:
        self.state = payload.get("state")
        self.exit_code = payload.get("exit_code")

    # -- keeping it between reads (everything but the rows) -----------------------
    def to_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "config": self.config,
            "summary": self.summary.to_dict(),
            "meta": self.meta,
            "metrics": self.metrics,
            "files": self.files,
            "state": self.state,
            "exit_code": self.exit_code,
            "last_seq": self.last_seq,
            "last_step": self.last_step,
            "start_ts": self.start_ts,
            "last_ts": self.last_ts,
            "report": {
                "records": report.records,
                "corrupt": report.corrupt,
                "missing": report.missing,
                "missing_ranges": report.missing_ranges,
                "duplicates": report.duplicates,
                "torn_tail": report.torn_tail,
                "bytes_read": report.bytes_read,
                "problems": report.problems[-MAX_PROBLEMS:],
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunLog:
        """The inverse of :meth:`to_dict` (``KeyError``/``TypeError`` when ``data`` is not one)."""
        report = data["report"]
        return cls(
            config=dict(data["config"]),
            summary=SummaryState.from_dict(data["summary"]),
            meta=dict(data["meta"]),
            metrics=list(data["metrics"]),
            files=list(data["files"]),
            state=data["state"],
            exit_code=data["exit_code"],
            last_seq=int(data["last_seq"]),
            last_step=data["last_step"],
            start_ts=data["start_ts"],
            last_ts=data["last_ts"],
            report=records.ReadReport(
                records=int(report["records"]),
                corrupt=int(report["corrupt"]),
                missing=int(report["missing"]),
                missing_ranges=[[int(a), int(b)] for a, b in report["missing_ranges"]],
                duplicates=int(report["duplicates"]),
                torn_tail=bool(report["torn_tail"]),
                bytes_read=int(report["bytes_read"]),
                problems=list(report["problems"]),
            ),
        )


def replay(path: Path, keep_rows: bool = True) -> RunLog:
    """Read ``path`` (an events log) and rebuild the run it describes."""
    log = RunLog(keep_rows=keep_rows)
    log.visit(records.read_log(path, log.report))
    return log
