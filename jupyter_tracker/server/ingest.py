"""Applying a batch of records to a run, exactly once.

Each run has a high-water mark (hwm) per log: the last sequence number
applied. It is read and written in the same transaction as the rows a batch
adds, with the run's row locked, so a batch is applied whole or not at all and
a resent batch is acknowledged without being applied twice:

- ``last_seq <= hwm``: already applied; acknowledge ``hwm``;
- ``first_seq <= hwm < last_seq``: apply only the records after ``hwm``;
- ``first_seq > hwm + 1``: refuse (409, ``expected: hwm + 1``).

Declared holes (``missing``) advance the hwm like records do, and are stored
(clipped to above the old hwm) in ``missing_ranges`` in the same transaction.

The records are decoded, checked and applied one slice after the other
inside the transaction (summaries, config ... as they come; history points
gathered as arrays and written at the end), so a large batch is never held
as Python objects whole; a record that breaks a rule rolls everything back.
Records are applied as the local reader (``replay.py``) does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine

from ..records import HISTORY, MEDIA, METRIC, SUMMARY, SYSTEM, Visitor
from ..limits import MAX_ALERTS_KEPT, TERMINAL_STATES
from . import schema
from .batches import Batch, Planner
from .database import dialect_insert, writing
from .errors import Conflict
from .history import ANALYZE_AFTER, append_history, refresh_statistics
from .payloads import dumps_column, loads_column
from .runs import identity_values, lock_run, revive
from .summary_state import dump_summary_state, load_summary_state

__all__ = ["ingest", "check_batch"]

_runs = schema.runs


def check_batch(batch: Batch, max_keys: int) -> None:
    """Check every record of ``batch`` without applying any (``BadBatch`` when one is wrong)."""
    planner = Planner(batch.first_seq, max_keys, batch.missing, batch.log, apply_from=batch.last_seq + 1,
                      last_seq=batch.last_seq)
    for records in batch.slices():
        planner.feed(records)
    planner.finish(batch.last_seq)


def ingest(engine: Engine, run_id: str, batch: Batch, max_keys: int, now: float,
           check: Any = None) -> dict[str, int]:
    """Apply ``batch`` to run ``run_id``; return ``{"acked": seq}``.

    ``check(row)``, when given, is called with the locked run row before
    anything is applied (authorization by the run's project).

    Raises
    ------
    NotFound
        No such run.
    Conflict
        The batch starts after a gap (409 with ``expected``).
    BadBatch
        A record breaks a rule, or the batch's history goes back before the run's last step.
    """
    hwm_column = "hwm_events" if batch.log == "events" else "hwm_system"
    with writing(engine) as conn:
        row = lock_run(conn, run_id)
        if check is not None:
            check(row)
        hwm = getattr(row, hwm_column)
        if hwm < batch.last_seq and batch.first_seq <= hwm + 1:
            conn.info["new_series"] = 0  # counted by append_history
            _apply(conn, row, batch, hwm, hwm_column, max_keys, now)
            grown = conn.info.pop("new_series", 0) >= ANALYZE_AFTER
        else:
            grown = None
    if grown is not None:
        if grown:
            refresh_statistics(engine)
        return {"acked": batch.last_seq}
    # Nothing to apply: still refuse a batch that breaks a rule, then say where the run is.
    if batch.plan is None:
        check_batch(batch, max_keys)
    if batch.last_seq <= hwm:
        return {"acked": hwm}
    raise Conflict("gap", expected=hwm + 1)


def _apply(conn: Connection, row: Any, batch: Batch, hwm: int, hwm_column: str, max_keys: int, now: float) -> None:
    holes = batch.holes_after(hwm)
    planner = Planner(batch.first_seq, max_keys, batch.missing, batch.log, apply_from=hwm + 1,
                      last_seq=batch.last_seq)
    values: dict[str, Any] = {hwm_column: batch.last_seq, "updated_at": now, "heartbeat_at": now}
    revive(row, values)
    events = _Events(row, values) if batch.log == "events" else None
    for records in batch.slices():
        planner.feed(records)
        ops = planner.take_ops()
        if events is not None:
            events.apply(ops)
        else:
            _apply_system(conn, row.id, ops)
    todo = planner.finish(batch.last_seq)
    if events is not None:
        events.finish(conn, todo)
    if holes:
        conn.execute(
            schema.missing_ranges.insert(),
            [{"run_pk": row.id, "log": batch.log, "first_seq": lo, "last_seq": hi, "declared_at": now}
             for lo, hi in holes],
        )
    conn.execute(_runs.update().where(_runs.c.id == row.id).values(**values))


def _apply_system(conn: Connection, run_pk: int, ops: list[tuple]) -> None:
    rows = [
        {"run_pk": run_pk, "seq": op[1], "ts": float(op[2]), "data": dumps_column(op[3])}
        for op in ops
        if op[0] == SYSTEM
    ]
    if rows:
        conn.execute(schema.system_records.insert(), rows)


class _Events(Visitor):
    """What the records of the events log change in the run's row, applied in log order.

    The run's summary state, config, metrics and info are decoded when a
    record first needs them, and written back by :meth:`finish`.
    """

    def __init__(self, row: Any, values: dict[str, Any]) -> None:
        self.row = row
        self.values = values
        self._summary: Any = None
        self._config: dict[str, Any] | None = None
        self._metrics: list[Any] | None = None
        self._info: dict[str, Any] | None = None
        self.identity: dict[str, Any] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.media: list[dict[str, Any]] = []

    @property
    def summary(self) -> Any:
        if self._summary is None:
            self._summary = load_summary_state(self.row.summary_state)
        return self._summary

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = loads_column(self.row.config, {})
        return self._config

    @property
    def metrics(self) -> list[Any]:
        if self._metrics is None:
            self._metrics = loads_column(self.row.metrics, [])
        return self._metrics

    @property
    def info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = loads_column(self.values.get("info", self.row.info), {})
        return self._info

    def apply(self, ops: list[tuple]) -> None:
        """The planner's operations in order: rows of history (already columns, see
        :class:`~.batches.Planner`), and every other record as ``(kind, seq, ts, payload)``."""
        for op in ops:
            kind = op[0]
            if kind == HISTORY:
                datas, step, same_keys = op[1], op[2], op[3]
                summary = self.summary
                if same_keys and len(datas) > 1:
                    # Only the first row can bring new keys: the others skip that check.
                    summary.add_rows(datas[:1], step)
                    summary.add_rows(datas[1:], step, check_new=False)
                else:
                    summary.add_rows(datas, step)
                continue
            self.visit_kind(kind, op[1], op[2], op[3])

    def on_config(self, seq: int, ts: Any, payload: Any) -> None:
        self.config.update(payload)

    def on_metric(self, seq: int, ts: Any, payload: Any) -> None:
        self.summary.apply(METRIC, payload)
        self.metrics.append(payload)

    def on_summary(self, seq: int, ts: Any, payload: Any) -> None:
        self.summary.apply(SUMMARY, payload)

    def on_meta(self, seq: int, ts: Any, payload: Any) -> None:
        self.info.update(payload)
        self.identity.update(payload)

    def on_media(self, seq: int, ts: Any, payload: Any) -> None:
        self.summary.apply(MEDIA, payload)
        self.media.append({"run_pk": self.row.id, "seq": seq, "step": payload["step"], "ts": float(ts),
                           "data": dumps_column(payload["values"])})

    def on_file(self, seq: int, ts: Any, payload: Any) -> None:
        self.files[payload["path"]] = {"policy": _short(payload.get("policy")), "logged_at": float(ts)}

    def on_alert(self, seq: int, ts: Any, payload: Any) -> None:
        alerts = list(self.info.get("alerts") or [])
        alerts.append({**payload, "ts": float(ts)})
        self.info["alerts"] = alerts[-MAX_ALERTS_KEPT:]

    def on_start(self, seq: int, ts: Any, payload: Any) -> None:
        info = self.info
        info.update({k: v for k, v in (payload or {}).items() if k in ("pid", "host")})
        info.pop("crash_source", None)
        info.pop("crash_reason", None)
        info.setdefault("started_at", ts)
        self.values["state"] = "running"
        self.values["exit_code"] = None

    def on_state(self, seq: int, ts: Any, payload: Any) -> None:
        info = self.info
        state = payload["state"]
        self.values["state"] = state
        self.values["exit_code"] = payload.get("exit_code")
        info["exit_code"] = payload.get("exit_code")
        if payload.get("reason"):
            info["crash_reason"] = payload.get("reason")
        if state in TERMINAL_STATES:
            info["finished_at"] = ts

    def finish(self, conn: Connection, todo: Any) -> None:
        row, values = self.row, self.values
        if len(todo.row_steps):
            last_step, open_keys = append_history(
                conn, row.id, todo, row.last_step, loads_column(row.open_keys, [])
            )
            values["last_step"] = last_step
            values["open_keys"] = dumps_column(open_keys)
        if self._summary is not None:
            values["summary_state"] = dump_summary_state(self._summary)
            values["summary"] = dumps_column(self._summary.as_dict())
        if self._config is not None:
            values["config"] = dumps_column(self._config)
        if self._metrics is not None:
            values["metrics"] = dumps_column(self._metrics)
        if self._info is not None:
            values["info"] = dumps_column(self._info)
        if self.identity:
            values.update(identity_values(self.identity))
        if self.files:
            _record_files(conn, row.id, self.files)
        if self.media:
            conn.execute(schema.media_records.insert(), self.media)


def _short(value: Any) -> str | None:
    return value[:16] if isinstance(value, str) and "\x00" not in value else None


def _record_files(conn: Connection, run_pk: int, files: dict[str, dict[str, Any]]) -> None:
    from .files import clean_path

    table = schema.files
    insert = dialect_insert(conn)(table)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.run_pk, table.c.path],
        set_={"policy": insert.excluded.policy, "logged_at": insert.excluded.logged_at},
    )
    rows = []
    for path, meta in files.items():
        try:
            cleaned = clean_path(path)
        except ValueError:
            continue  # a path the server could never store: keep the record, not the entry
        rows.append({"run_pk": run_pk, "path": cleaned, **meta})
    if rows:
        conn.execute(statement, rows)
