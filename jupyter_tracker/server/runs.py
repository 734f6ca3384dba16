"""Runs: creating and updating them, reading them back, crash detection.

A run that says it is live (``running`` or ``service-stopped``) but whose
last heartbeat or batch of records is older than the heartbeat timeout is
reported as ``crashed`` by every read at once, and marked so in the database
by the server's periodic sweep (:func:`sweep_crashed`). A heartbeat or records
arriving later for a run the server marked crashed bring it back to
``running``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.engine import Connection, Engine, Row

from . import schema
from ..limits import (
    LIVE_STATES,
    MAX_NOTES_LENGTH,
    MAX_PROJECT_LENGTH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    STATES,
    depth_problem,
    text_problem,
)
from ..query import Query
from .access import Grant
from .database import dialect_insert, reading, writing
from .errors import BadRequest, NotFound
from .filters import order_clauses, prepare, run_listing, where_clause
from .payloads import dumps_column, loads_column

__all__ = [
    "SERVER_CRASH",
    "check_run_id",
    "lock_run",
    "find_run_pk",
    "identity_values",
    "identity_problem",
    "revive",
    "run_resource",
    "missing_ranges",
    "upsert_run",
    "get_run",
    "list_runs",
    "list_projects",
    "heartbeat",
    "sweep_crashed",
    "effective_state",
]

#: ``info["crash_source"]`` of a run the server marked crashed.
SERVER_CRASH = "server"
DEFAULT_PROJECT = "uncategorized"

_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
_runs = schema.runs
_TEXT_FIELDS = {"name": "name", "group": "run_group", "job_type": "job_type", "notes": "notes"}
_TEXT_LIMITS = {"project": MAX_PROJECT_LENGTH, "notes": MAX_NOTES_LENGTH}


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a valid run id (1-128 of letters, digits, ``_-.``)."""
    if not _RUN_ID.fullmatch(run_id):
        raise BadRequest("invalid run id: use 1 to 128 letters, digits, '_', '-' or '.' (not first)")
    return run_id


_LOCK_RUN = select(_runs).where(_runs.c.run_id == bindparam("run_id")).with_for_update()


def lock_run(conn: Connection, run_id: str) -> Row:
    """The run's row, locked until the transaction ends; :class:`NotFound` if none."""
    row = conn.execute(_LOCK_RUN, {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    return row


def find_run_pk(conn: Connection, run_id: str, check: Callable[[str], None] | None = None) -> int:
    """The primary key of run ``run_id`` (:class:`NotFound` if none); ``check(project)``,
    when given, may refuse access to it (:meth:`Grant.check_read` ...)."""
    row = conn.execute(select(_runs.c.id, _runs.c.project).where(_runs.c.run_id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    if check is not None:
        check(row.project)
    return row.id


def _effective_state(timeout: float, now: float) -> Any:
    stale = and_(_runs.c.state.in_(LIVE_STATES), _runs.c.heartbeat_at < now - timeout)
    return case((stale, "crashed"), else_=_runs.c.state)


def effective_state(timeout: float, now: float) -> Any:
    """The SQL expression of a run's state as reads report it (stale live runs are crashed)."""
    return _effective_state(timeout, now)


_MISSING = (
    select(schema.missing_ranges.c.log, schema.missing_ranges.c.first_seq, schema.missing_ranges.c.last_seq)
    .where(schema.missing_ranges.c.run_pk == bindparam("run_pk"))
    .order_by(schema.missing_ranges.c.log, schema.missing_ranges.c.first_seq)
)


def missing_ranges(conn: Connection, run_pk: int) -> dict[str, list[list[int]]]:
    """The holes declared in each log of the run, adjacent ranges merged: ``{log: [[a, b], ...]}``."""
    out: dict[str, list[list[int]]] = {"events": [], "system": []}
    for log, lo, hi in conn.execute(_MISSING, {"run_pk": run_pk}):
        ranges = out.setdefault(log, [])
        if ranges and lo <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], hi)
        else:
            ranges.append([lo, hi])
    return out


def run_resource(
    row: Any, full: bool = True, state: str | None = None, missing: dict[str, list[list[int]]] | None = None
) -> dict[str, Any]:
    """The JSON resource of a run row (``full`` adds config, info and metrics;
    ``missing``, the run's declared holes, adds ``missing`` and ``missing_records``)."""
    out: dict[str, Any] = {
        "id": row.run_id,
        "project": row.project,
        "name": row.name,
        "group": row.run_group,
        "job_type": row.job_type,
        "tags": loads_column(row.tags, []),
        "notes": row.notes,
        "state": state or row.state,
        "exit_code": row.exit_code,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "heartbeat_at": row.heartbeat_at,
        "last_step": row.last_step,
        "hwm": {"events": row.hwm_events, "system": row.hwm_system},
        "summary": loads_column(row.summary, {}),
        "config": loads_column(row.config, {}),
    }
    if full:
        out["info"] = loads_column(row.info, {})
        out["metrics"] = loads_column(row.metrics, [])
    if missing is not None:
        out["missing"] = missing
        out["missing_records"] = {log: sum(hi - lo + 1 for lo, hi in ranges) for log, ranges in missing.items()}
    return out


def identity_problem(body: dict[str, Any]) -> str | None:
    """What breaks the limits (:mod:`jupyter_tracker.limits`) among the identity fields of
    ``body`` (run.json or a ``meta`` record), or ``None``."""
    for key in ("project", *_TEXT_FIELDS):
        if key in body:
            problem = text_problem(body[key], _TEXT_LIMITS.get(key, MAX_TEXT_LENGTH))
            if problem is not None:
                return f"{key!r} {problem}"
    if "tags" in body:
        tags = body["tags"] or []
        if not isinstance(tags, list):
            return "'tags' must be a list of strings"
        if len(tags) > MAX_TAGS:
            return f"{len(tags)} tags; the limit is {MAX_TAGS}"
        for tag in tags:
            problem = text_problem(tag, MAX_TEXT_LENGTH) if isinstance(tag, str) else "must be a string"
            if problem is not None:
                return f"tag {_brief(tag)} {problem}"
    return None


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def identity_values(body: dict[str, Any]) -> dict[str, Any]:
    """Column values for the identity fields present in ``body`` (run.json or a ``meta`` record)."""
    problem = identity_problem(body)
    if problem is not None:
        raise BadRequest(problem)
    values: dict[str, Any] = {}
    for key, column in _TEXT_FIELDS.items():
        if key in body:
            values[column] = body[key]
    if "tags" in body:
        values["tags"] = dumps_column(body["tags"] or [])
    return values


def upsert_run(engine: Engine, run_id: str, body: Any, now: float, grant: Grant | None = None) -> dict[str, Any]:
    """Create or update a run from its ``run.json``; return the run resource.

    With ``grant``, creating a run needs write access to its project, and
    changing one to its project and, when it moves, to the new one too.
    """
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (the run's run.json)")
    if body.get("id") not in (None, run_id):
        raise BadRequest(f"the body's id {_brief(body.get('id'))} is not the run id of the URL {run_id!r}")
    problem = depth_problem(body)
    if problem is not None:
        raise BadRequest(f"the run's JSON {problem}")
    values = identity_values(body)
    project = body.get("project") or None
    state = body.get("state")
    if state is not None and state not in STATES:
        raise BadRequest(f"'state' must be one of {', '.join(STATES)}")
    created = body.get("created_at")
    if created is not None and (type(created) not in (int, float) or not math.isfinite(created)):
        raise BadRequest("'created_at' must be a number (seconds since the epoch)")
    with writing(engine) as conn:
        if grant is not None:
            existing = conn.execute(_LOCK_RUN, {"run_id": run_id}).first()
            grant.check_write(existing.project if existing is not None else project or DEFAULT_PROJECT)
        # Insert-or-nothing first, so that two first PUTs of one run cannot both insert.
        fresh = dialect_insert(conn)(_runs).values(
            run_id=run_id,
            project=project or DEFAULT_PROJECT,
            state=state or "running",
            info=dumps_column(body),
            config="{}",
            summary="{}",
            metrics="[]",
            created_at=float(created if created is not None else now),
            updated_at=now,
            heartbeat_at=now,
            hwm_events=0,
            hwm_system=0,
            **values,
        )
        inserted = conn.execute(fresh.on_conflict_do_nothing(index_elements=[_runs.c.run_id])).rowcount == 1
        row = lock_run(conn, run_id)
        if not inserted:
            if grant is not None:
                grant.check_write(row.project)  # (it may have been created since the check above)
                if project and project != row.project:
                    grant.check_write(project)  # a move: both projects
            info = loads_column(row.info, {})
            info.update(body)
            values.update(info=dumps_column(info), updated_at=now, heartbeat_at=now)
            if project:
                values["project"] = project
            if state:
                values["state"] = state
            if created is not None:
                values["created_at"] = float(created)
            conn.execute(_runs.update().where(_runs.c.id == row.id).values(**values))
            row = lock_run(conn, run_id)
        _ensure_project(conn, row.project, now)
        return run_resource(row, missing=missing_ranges(conn, row.id))


def _ensure_project(conn: Connection, name: str, now: float) -> None:
    insert = dialect_insert(conn)(schema.projects).values(name=name, created_at=now)
    conn.execute(insert.on_conflict_do_nothing(index_elements=[schema.projects.c.name]))


def get_run(engine: Engine, run_id: str, timeout: float, now: float, grant: Grant | None = None) -> dict[str, Any]:
    with reading(engine) as conn:
        row = conn.execute(
            select(_runs, _effective_state(timeout, now).label("effective")).where(_runs.c.run_id == run_id)
        ).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        if grant is not None:
            grant.check_read(row.project)
        missing = missing_ranges(conn, row.id)
    return run_resource(row, state=row.effective, missing=missing)


def list_runs(
    engine: Engine,
    timeout: float,
    now: float,
    project: str | None = None,
    state: str | None = None,
    limit: int = 100,
    offset: int = 0,
    filters: Query | None = None,
    projects: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """Runs, newest first, optionally of one project and/or in one (effective) state,
    and matching ``filters`` in its order (:mod:`.filters`); only of ``projects`` when given."""
    effective = _effective_state(timeout, now).label("effective")
    query = select(_runs, effective)
    if project is not None:
        query = query.where(_runs.c.project == project)
    if projects is not None:
        query = query.where(_runs.c.project.in_(sorted(projects)))
    if state is not None:
        query = query.where(_effective_state(timeout, now) == state)
    order = [_runs.c.created_at.desc(), _runs.c.id.desc()]
    if filters is not None:
        where = where_clause(filters.where, _effective_state(timeout, now), engine.dialect.name)
        if where is not None:
            query = query.where(where)
        order = order_clauses(filters.order, _effective_state(timeout, now), engine.dialect.name)
    query = query.order_by(*order).limit(limit).offset(offset)
    with reading(engine) as conn:
        prepare(conn)
        return [run_resource(row, full=False, state=row.effective) for row in run_listing(conn, query)]


def list_projects(engine: Engine, projects: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """``[{"name", "runs"}]`` for every project that has runs (of ``projects`` when given), by name."""
    query = select(_runs.c.project, func.count()).group_by(_runs.c.project).order_by(_runs.c.project)
    if projects is not None:
        query = query.where(_runs.c.project.in_(sorted(projects)))
    with reading(engine) as conn:
        return [{"name": name, "runs": count} for name, count in conn.execute(query)]


def revive(row: Any, values: dict[str, Any]) -> None:
    """Add to ``values`` what brings a run the server marked crashed back to running."""
    if row.state == "crashed":
        info = loads_column(row.info, {})
        if info.get("crash_source") == SERVER_CRASH:
            info.pop("crash_source", None)
            info.pop("crash_reason", None)
            values.setdefault("info", dumps_column(info))
            values.setdefault("state", "running")


def heartbeat(engine: Engine, run_id: str, now: float, grant: Grant | None = None) -> dict[str, Any]:
    """Record that the run's process lives; return ``{"state", "heartbeat_at"}``."""
    with writing(engine) as conn:
        row = lock_run(conn, run_id)
        if grant is not None:
            grant.check_write(row.project)
        values: dict[str, Any] = {"heartbeat_at": now}
        revive(row, values)
        conn.execute(_runs.update().where(_runs.c.id == row.id).values(**values))
    return {"state": values.get("state", row.state), "heartbeat_at": now}


def sweep_crashed(engine: Engine, timeout: float, now: float) -> list[str]:
    """Mark crashed the live runs silent for longer than ``timeout``; return their ids."""
    stale = and_(_runs.c.state.in_(LIVE_STATES), _runs.c.heartbeat_at < now - timeout)
    with reading(engine) as conn:
        if conn.execute(select(_runs.c.id).where(stale).limit(1)).first() is None:
            return []
    marked = []
    with writing(engine) as conn:
        query = select(_runs.c.id, _runs.c.run_id, _runs.c.info).where(stale)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        for row in conn.execute(query).all():
            info = loads_column(row.info, {})
            info["crash_source"] = SERVER_CRASH
            info["crash_reason"] = f"no heartbeat or records for {timeout:g} s"
            conn.execute(
                _runs.update().where(_runs.c.id == row.id).values(state="crashed", info=dumps_column(info), updated_at=now)
            )
            marked.append(row.run_id)
    return marked
