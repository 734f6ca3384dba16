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
Records are applied as the local reader (``replay.py``) does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine

from . import schema
from .batches import Batch, Plan, plan
from .database import dialect_insert, writing
from .errors import Conflict
from .history import append_history
from .payloads import dumps_column, loads_column
from .runs import identity_values, lock_run, revive
from .summary_state import dump_summary_state, load_summary_state

__all__ = ["ingest"]

_runs = schema.runs


def ingest(engine: Engine, run_id: str, batch: Batch, max_keys: int, now: float) -> dict[str, int]:
    """Apply ``batch`` to run ``run_id``; return ``{"acked": seq}``.

    Raises
    ------
    NotFound
        No such run.
    Conflict
        The batch starts after a gap (409 with ``expected``).
    BadBatch
        The batch's history goes back before the run's last step.
    """
    hwm_column = "hwm_events" if batch.log == "events" else "hwm_system"
    with writing(engine) as conn:
        row = lock_run(conn, run_id)
        hwm = getattr(row, hwm_column)
        if batch.last_seq <= hwm:
            return {"acked": hwm}
        if batch.first_seq > hwm + 1:
            raise Conflict("gap", expected=hwm + 1)
        todo, holes = batch.plan, batch.missing
        if batch.first_seq <= hwm:
            rest, holes = batch.after(hwm)
            todo = plan(rest, hwm + 1, max_keys, holes)
        values: dict[str, Any] = {hwm_column: batch.last_seq, "updated_at": now, "heartbeat_at": now}
        revive(row, values)
        if batch.log == "system":
            _apply_system(conn, row.id, todo)
        else:
            _apply_events(conn, row, todo, values, now)
        if holes:
            conn.execute(
                schema.missing_ranges.insert(),
                [{"run_pk": row.id, "log": batch.log, "first_seq": lo, "last_seq": hi, "declared_at": now}
                 for lo, hi in holes],
            )
        conn.execute(_runs.update().where(_runs.c.id == row.id).values(**values))
    return {"acked": batch.last_seq}


def _apply_system(conn: Connection, run_pk: int, todo: Plan) -> None:
    rows = [
        {"run_pk": run_pk, "seq": op[1], "ts": float(op[2]), "data": dumps_column(op[3])}
        for op in todo.ops
        if op[0] == "sys"
    ]
    if rows:
        conn.execute(schema.system_records.insert(), rows)


def _apply_events(conn: Connection, row: Any, todo: Plan, values: dict[str, Any], now: float) -> None:
    kinds = {op[0] for op in todo.ops}
    summary = load_summary_state(row.summary_state) if kinds & {"h", "m", "s"} else None
    config = loads_column(row.config, {}) if "c" in kinds else None
    metrics = loads_column(row.metrics, []) if "m" in kinds else None
    info = loads_column(values.get("info", row.info), {}) if kinds & {"meta", "start", "state"} else None
    identity: dict[str, Any] = {}
    files: dict[str, dict[str, Any]] = {}
    for op in todo.ops:
        kind = op[0]
        if kind == "h":
            datas, step, same_keys = op[1], op[2], op[3]
            if same_keys and len(datas) > 1:
                # Only the first row can bring new keys: the others skip that check.
                summary.add_rows(datas[:1], step)
                summary.add_rows(datas[1:], step, check_new=False)
            else:
                summary.add_rows(datas, step)
            continue
        _seq, ts, payload = op[1], op[2], op[3]
        if kind == "c":
            config.update(payload)
        elif kind == "m":
            summary.apply(kind, payload)
            metrics.append(payload)
        elif kind == "s":
            summary.apply(kind, payload)
        elif kind == "meta":
            info.update(payload)
            identity.update(payload)
        elif kind == "f":
            files[payload["path"]] = {"policy": _short(payload.get("policy")), "logged_at": float(ts)}
        elif kind == "start":
            info.update({k: v for k, v in (payload or {}).items() if k in ("pid", "host")})
            info.pop("crash_source", None)
            info.pop("crash_reason", None)
            info.setdefault("started_at", ts)
            values["state"] = "running"
            values["exit_code"] = None
        elif kind == "state":
            state = payload["state"]
            values["state"] = state
            values["exit_code"] = payload.get("exit_code")
            info["exit_code"] = payload.get("exit_code")
            if payload.get("reason"):
                info["crash_reason"] = payload.get("reason")
            if state in ("finished", "failed", "crashed"):
                info["finished_at"] = ts
    if todo.row_steps:
        last_step, open_keys = append_history(
            conn, row.id, todo, row.last_step, loads_column(row.open_keys, [])
        )
        values["last_step"] = last_step
        values["open_keys"] = dumps_column(open_keys)
    if summary is not None:
        values["summary_state"] = dump_summary_state(summary)
        values["summary"] = dumps_column(summary.as_dict())
    if config is not None:
        values["config"] = dumps_column(config)
    if metrics is not None:
        values["metrics"] = dumps_column(metrics)
    if info is not None:
        values["info"] = dumps_column(info)
    if identity:
        values.update(identity_values(identity))
    if files:
        _record_files(conn, row.id, files)


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
