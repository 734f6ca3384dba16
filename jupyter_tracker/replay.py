"""Rebuild a run from its events log: history rows, config, summary, state.

The events log is the source of truth; this is how every reader (``Api``,
``tracker ls``, a resumed run, the service marking a crash) sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import records
from .summaries import SummaryState

__all__ = ["RunLog", "replay"]


@dataclass
class RunLog:
    """Everything an events log says, in one pass."""

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

    @property
    def next_step(self) -> int:
        return 0 if self.last_step is None else self.last_step + 1


def replay(path: Path, keep_rows: bool = True) -> RunLog:
    """Read ``path`` (an events log) and rebuild the run it describes."""
    log = RunLog()
    summary = log.summary
    rows = log.rows
    current: dict[str, Any] | None = None
    for record in records.read_log(path, log.report):
        seq, kind = record[0], record[1]
        if seq > log.last_seq:
            log.last_seq = seq
        if kind == "h":
            step, ts, data = record[2], record[3], record[4]
            summary.add_rows([data], step)
            log.last_step = step
            log.last_ts = ts
            if keep_rows:
                if current is not None and current["_step"] == step:
                    current.update(data)
                    current["_timestamp"] = ts
                else:
                    current = {"_step": step, "_timestamp": ts}
                    current.update(data)
                    rows.append(current)
            continue
        ts, payload = record[2], record[3] if len(record) > 3 else None
        log.last_ts = ts
        if kind == "c":
            log.config.update(payload)
        elif kind in ("m", "s"):
            summary.apply(kind, payload)
            if kind == "m":
                log.metrics.append(payload)
        elif kind == "meta":
            log.meta.update(payload)
        elif kind == "f":
            log.files.append(payload)
        elif kind == "start":
            if log.start_ts is None:
                log.start_ts = ts
            log.state = "running"
        elif kind == "state":
            log.state = payload.get("state")
            log.exit_code = payload.get("exit_code")
    return log
