"""History storage: per-(run, metric) chunks of binary arrays.

Appending reads the open (last) chunk of each metric in the batch, adds the
new points and writes it back, inserting new chunks every
:data:`~jupyter_tracker.server.schema.CHUNK_POINTS` points; all of it inside
the ingest transaction. A batch that brings many points to a metric starts a
new chunk instead (the open one stays partly filled), which saves reading
and rewriting it. Reading concatenates the chunks that overlap the step
range asked for and downsamples with :func:`~.downsample.minmax_indices`.

Rows follow the local reader (``replay.py``): a history row that a batch
continues (its first record has the step of the run's last row) replaces the
values of the keys it logs again, and every point of a row carries the row's
timestamp (that of its last record), including the points of keys written by
an earlier batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, func, select, text, true
from sqlalchemy.engine import Connection, Engine

from ..limits import MAX_HISTORY_KEYS
from .batches import BadBatch, Plan
from .database import dialect_insert
from .downsample import extremes_every, minmax_indices
from .errors import BadRequest
from .payloads import float_list
from .schema import CHUNK_POINTS, SKETCH_WIDTH, history_chunks, history_series

__all__ = ["append_history", "read_history", "history_keys", "refresh_statistics", "ANALYZE_AFTER"]

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")
_IN_LIMIT = 500  # keys per IN (...) list

_chunks = history_chunks
_series = history_series


def _slices(items: list[str], size: int = _IN_LIMIT) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Tail:
    """The open chunk of one metric, decoded."""

    __slots__ = ("chunk", "steps", "timestamps", "values", "first_step", "points")

    def __init__(self, row: Any) -> None:
        self.chunk = row.chunk
        self.steps = np.frombuffer(row.steps, dtype=_I8)
        self.timestamps = np.frombuffer(row.timestamps, dtype=_F8).copy()
        self.values = np.frombuffer(row.vals, dtype=_F8)
        self.first_step = row.first_step
        self.points = row.total


#: Chunks are written to the database whenever this many bytes of points are ready.
_WRITE_BYTES = 1 << 20

#: A batch adding at least this many points to a metric does not rewrite its open chunk.
_MERGE_BELOW = CHUNK_POINTS // 4

_SERIES = select(
    _series.c.key, _series.c.chunks, _series.c.points, _series.c.first_step, _series.c.last_step
).where(_series.c.run_pk == bindparam("run"), _series.c.key.in_(bindparam("keys", expanding=True)))


def _load_series(conn: Connection, run_pk: int, keys: list[str]) -> dict[str, Any]:
    """``history_series`` rows of the run's metrics among ``keys``."""
    found: dict[str, Any] = {}
    for part in _slices(keys):
        for row in conn.execute(_SERIES, {"run": run_pk, "keys": part}):
            found[row.key] = row
    return found


_TAILS = (
    select(
        _chunks.c.key,
        _chunks.c.chunk,
        _chunks.c.steps,
        _chunks.c.timestamps,
        _chunks.c.vals,
        _series.c.first_step,
        _series.c.points.label("total"),
    )
    .select_from(
        _chunks.join(
            _series,
            and_(
                _series.c.run_pk == _chunks.c.run_pk,
                _series.c.key == _chunks.c.key,
                _chunks.c.chunk == _series.c.chunks - 1,
            ),
        )
    )
    # The keys on both sides: with the statistics of a table that grew since its last
    # ANALYZE, PostgreSQL otherwise walks every series of the run (0.8 s per query at 100k).
    .where(
        _chunks.c.run_pk == bindparam("run"),
        _chunks.c.key.in_(bindparam("keys", expanding=True)),
        _series.c.key.in_(bindparam("keys", expanding=True)),
    )
)


def _load_tails(conn: Connection, run_pk: int, keys: list[str]) -> dict[str, _Tail]:
    tails: dict[str, _Tail] = {}
    if not keys:
        return tails
    for part in _slices(keys):
        for row in conn.execute(_TAILS, {"run": run_pk, "keys": part}):
            tails[row.key] = _Tail(row)
    return tails


def append_history(
    conn: Connection, run_pk: int, plan: Plan, last_step: int | None, open_keys: list[str]
) -> tuple[int | None, list[str]]:
    """Write the history points of ``plan``; return the run's new last step and open keys.

    ``last_step`` and ``open_keys`` describe the run's last history row before
    this batch (its step and the keys written in it).
    """
    if not len(plan.row_steps):
        return last_step, open_keys
    first_step = int(plan.row_steps[0])
    if last_step is not None and first_step < last_step:
        raise BadBatch(f"history step {first_step} is lower than the run's last step {last_step}")
    continues = last_step is not None and first_step == last_step
    row_ts = np.asarray(plan.row_ts, dtype=_F8)
    series = plan.series
    retimed = [k for k in open_keys if k not in series or series[k].rows[0] != 0] if continues else []
    retimed_set = set(retimed)
    known = _load_series(conn, run_pk, list(series))
    # The open chunk is read and rewritten only when it must change (the
    # continued row) or when the batch adds few points to this metric; a large
    # append starts a new chunk and leaves a partly filled one as it is.
    merging = [
        key
        for key, points in series.items()
        if key in known
        and (key in retimed_set or known[key].last_step == points.steps[0] or len(points.steps) < _MERGE_BELOW)
    ]
    tails = _load_tails(conn, run_pk, merging + [k for k in retimed if k not in series])

    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    pending = 0  # bytes of points in updates and inserts
    series_rows: list[dict[str, Any]] = []
    for key in retimed:  # keys of the continued row that this batch does not log again
        tail = tails.get(key)
        if tail is not None and key not in series and len(tail.steps) and tail.steps[-1] == first_step:
            tail.timestamps[-1] = row_ts[0]
            updates.append(_chunk_row(run_pk, key, tail.chunk, tail.steps, tail.timestamps, tail.values))
    for key, points in series.items():
        steps, values, stamps = points.steps, points.values, row_ts[points.rows]
        tail = tails.get(key)
        if tail is None and key in known:  # new chunks after the existing ones
            info = known[key]
            chunk, total, key_first = info.chunks, info.points, info.first_step
        elif tail is None:
            chunk, total, key_first = 0, 0, int(steps[0])
        else:
            old_steps, old_stamps, old_values = tail.steps, tail.timestamps, tail.values
            total = tail.points - len(old_steps)
            if len(old_steps) and old_steps[-1] == steps[0]:  # the continued row logs this key again
                old_steps, old_stamps, old_values = old_steps[:-1], old_stamps[:-1], old_values[:-1]
            elif key in retimed_set and len(old_steps) and old_steps[-1] == first_step:
                old_stamps[-1] = row_ts[0]
            steps = np.concatenate((old_steps, steps))
            stamps = np.concatenate((old_stamps, stamps))
            values = np.concatenate((old_values, values))
            chunk, key_first = tail.chunk, tail.first_step
        for start in range(0, len(steps), CHUNK_POINTS):
            end = start + CHUNK_POINTS
            row = _chunk_row(run_pk, key, chunk, steps[start:end], stamps[start:end], values[start:end])
            (updates if tail is not None and start == 0 else inserts).append(row)
            pending += 24 * (end - start)
            chunk += 1
            if pending >= _WRITE_BYTES:  # write as we go: the encoded chunks are never all in memory
                _write_chunks(conn, updates, inserts)
                updates, inserts, pending = [], [], 0
        series_rows.append(
            {
                "run_pk": run_pk,
                "key": key,
                "points": total + len(steps),
                "chunks": chunk,
                "first_step": key_first,
                "last_step": int(steps[-1]),
            }
        )
    _write_chunks(conn, updates, inserts)
    _write_series(conn, series_rows)
    conn.info["new_series"] = conn.info.get("new_series", 0) + len(series) - len(known)
    if continues and len(plan.row_steps) == 1:
        new_open = list(dict.fromkeys([*open_keys, *plan.last_row_keys()]))
    else:
        new_open = plan.last_row_keys()
    return int(plan.row_steps[-1]), new_open


def _chunk_row(run_pk: int, key: str, chunk: int, steps: np.ndarray, stamps: np.ndarray, values: np.ndarray) -> dict:
    return {
        "b_run": run_pk,
        "b_key": key,
        "b_chunk": chunk,
        "b_points": len(steps),
        "b_min": int(steps[0]),
        "b_max": int(steps[-1]),
        "b_steps": steps.astype(_I8, copy=False).tobytes(),
        "b_ts": stamps.astype(_F8, copy=False).tobytes(),
        "b_vals": values.astype(_F8, copy=False).tobytes(),
        "b_sketch": _sketch(steps, stamps, values),
    }


def _sketch(steps: np.ndarray, stamps: np.ndarray, values: np.ndarray) -> bytes:
    picked = extremes_every(values, SKETCH_WIDTH)
    return b"".join(
        (
            steps[picked].astype(_I8, copy=False).tobytes(),
            stamps[picked].astype(_F8, copy=False).tobytes(),
            values[picked].astype(_F8, copy=False).tobytes(),
        )
    )


def _unsketch(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = len(blob) // 24
    return (
        np.frombuffer(blob, dtype=_I8, count=count),
        np.frombuffer(blob, dtype=_F8, count=count, offset=8 * count),
        np.frombuffer(blob, dtype=_F8, count=count, offset=16 * count),
    )


_CHUNK_VALUES = {
    "points": bindparam("b_points"),
    "min_step": bindparam("b_min"),
    "max_step": bindparam("b_max"),
    "steps": bindparam("b_steps"),
    "timestamps": bindparam("b_ts"),
    "vals": bindparam("b_vals"),
    "sketch": bindparam("b_sketch"),
}
_UPDATE_CHUNK = (
    _chunks.update()
    .where(
        _chunks.c.run_pk == bindparam("b_run"),
        _chunks.c.key == bindparam("b_key"),
        _chunks.c.chunk == bindparam("b_chunk"),
    )
    .values(**_CHUNK_VALUES)
)
_INSERT_CHUNK = _chunks.insert().values(
    run_pk=bindparam("b_run"), key=bindparam("b_key"), chunk=bindparam("b_chunk"), **_CHUNK_VALUES
)
_UPSERT_SERIES: dict[str, Any] = {}  # dialect name -> statement


def _write_chunks(conn: Connection, updates: list[dict], inserts: list[dict]) -> None:
    if updates:
        conn.execute(_UPDATE_CHUNK, updates)
    if inserts:
        conn.execute(_INSERT_CHUNK, inserts)


def _write_series(conn: Connection, rows: list[dict]) -> None:
    if not rows:
        return
    statement = _UPSERT_SERIES.get(conn.dialect.name)
    if statement is None:
        insert = dialect_insert(conn)(_series)
        statement = _UPSERT_SERIES[conn.dialect.name] = insert.on_conflict_do_update(
            index_elements=[_series.c.run_pk, _series.c.key],
            set_={
                "points": insert.excluded.points,
                "chunks": insert.excluded.chunks,
                "last_step": insert.excluded.last_step,
            },
        )
    conn.execute(statement, rows)


#: After a batch brings this many new metrics, PostgreSQL's statistics are refreshed.
ANALYZE_AFTER = 2000


def refresh_statistics(engine: Engine) -> None:
    """``ANALYZE`` the history tables (PostgreSQL).

    A sync that brings thousands of metrics at once makes the planner's
    statistics stale until autovacuum (when it runs at all) analyzes the
    tables; meanwhile it plans lookups by key as scans of every row of the
    run (0.25 s per 500 keys at 100,000 metrics, 1 ms after ANALYZE).
    """
    if engine.dialect.name == "sqlite":
        return
    with engine.connect() as conn:
        conn.execute(text("ANALYZE history_series, history_chunks"))
        conn.commit()


def history_keys(conn: Connection, run_pk: int, offset: int = 0, limit: int | None = None) -> dict[str, int]:
    """The run's metrics with their number of points, sorted by name (``limit`` of them
    from ``offset``, all by default)."""
    query = select(_series.c.key, _series.c.points).where(_series.c.run_pk == run_pk).order_by(_series.c.key)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return {key: int(points) for key, points in conn.execute(query)}


#: Sketches serve a downsampled read when each point returned stands for at
#: least this many points (four sketch buckets per min/max pair).
SKETCH_FACTOR = 2 * SKETCH_WIDTH


def read_history(
    conn: Connection,
    run_pk: int,
    keys: Iterable[str] | None = None,
    min_step: int | None = None,
    max_step: int | None = None,
    samples: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> dict[str, dict[str, list]]:
    """``{key: {"step": [...], "timestamp": [...], "value": [...]}}`` for the metrics asked for.

    All metrics (by name, from ``offset``, at most ``limit``) when ``keys``
    is None; a key without points gets empty lists. ``samples`` downsamples
    each metric to at most about that many points (min and max per bucket,
    both ends kept). At most :data:`~jupyter_tracker.limits.MAX_HISTORY_KEYS`
    metrics (else :class:`BadRequest`), read with a few queries per
    :data:`_IN_LIMIT` of them whatever their number of chunks.
    """
    if keys is None:
        wanted = list(history_keys(conn, run_pk, offset, min(limit or MAX_HISTORY_KEYS + 1, MAX_HISTORY_KEYS + 1)))
        if len(wanted) > MAX_HISTORY_KEYS:
            total = conn.execute(select(func.count()).where(_series.c.run_pk == run_pk)).scalar()
            raise BadRequest(
                f"the run has {total} metrics and one request reads at most {MAX_HISTORY_KEYS}: "
                f"page through them with offset= and limit= (at most {MAX_HISTORY_KEYS}), or name them with keys="
            )
    else:
        wanted = list(dict.fromkeys(keys))
        if len(wanted) > MAX_HISTORY_KEYS:
            raise BadRequest(f"{len(wanted)} keys asked for; one request reads at most {MAX_HISTORY_KEYS}")
    out: dict[str, dict[str, list]] = {}
    for part in _slices(wanted):
        series = _read_series(conn, run_pk, part, min_step, max_step, samples)
        for key in part:
            steps, stamps, values = series.get(key) or _EMPTY
            if samples is not None and len(steps) > samples:
                picked = minmax_indices(values, samples)
                steps, stamps, values = steps[picked], stamps[picked], values[picked]
            out[key] = {"step": steps.tolist(), "timestamp": float_list(stamps), "value": float_list(values)}
    return out


_EMPTY = (np.empty(0, _I8), np.empty(0, _F8), np.empty(0, _F8))
_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def _read_series(
    conn: Connection, run_pk: int, keys: list[str], lo: int | None, hi: int | None, samples: int | None
) -> dict[str, _Arrays]:
    """Some metrics' points in [lo, hi], or their sketch points there when a downsampled read
    allows; at most four queries for all of them."""
    c = _chunks.c
    where = [c.run_pk == run_pk]  # and one list of keys per query: two make PostgreSQL misjudge it
    if lo is not None:
        where.append(c.max_step >= lo)
    if hi is not None:
        where.append(c.min_step <= hi)
    bounds = ([c.min_step >= lo] if lo is not None else []) + ([c.max_step <= hi] if hi is not None else [])
    inside_range = and_(*bounds) if bounds else true()
    chunks: dict[str, list[Any]] = {}
    for row in conn.execute(select(c.key, c.chunk, c.points, c.min_step, c.max_step).where(*where, c.key.in_(keys))):
        chunks.setdefault(row.key, []).append(row)

    def inside(row: Any) -> bool:
        return (lo is None or row.min_step >= lo) and (hi is None or row.max_step <= hi)

    # A metric is read from its sketches when each point returned stands for many.
    sketched = {
        key for key, rows in chunks.items()
        if samples is not None and sum(row.points for row in rows) >= samples * SKETCH_FACTOR
    }
    plain = [key for key in chunks if key not in sketched]
    parts: dict[tuple[str, int], _Arrays] = {}
    if sketched:
        # the chunks inside the range: their sketches
        for row in conn.execute(select(c.key, c.chunk, c.sketch).where(*where, c.key.in_(sorted(sketched)), inside_range)):
            parts[row.key, row.chunk] = _unsketch(row.sketch)
        # the (at most two) chunks sticking out of the range: their points, sketched here
        edges = sorted({key for key in sketched if any(not inside(row) for row in chunks[key])})
        if edges:
            query = select(c.key, c.chunk, c.steps, c.timestamps, c.vals).where(*where, c.key.in_(edges), ~inside_range)
            for row in conn.execute(query):
                steps, stamps, values = _clip(row, lo, hi)
                if len(steps):
                    picked = extremes_every(values, SKETCH_WIDTH)
                    steps, stamps, values = steps[picked], stamps[picked], values[picked]
                parts[row.key, row.chunk] = (steps, stamps, values)
    if plain:
        query = select(c.key, c.chunk, c.steps, c.timestamps, c.vals).where(*where, c.key.in_(plain))
        for row in conn.execute(query):
            parts[row.key, row.chunk] = _clip(row, lo, hi)
    out: dict[str, _Arrays] = {}
    for key, rows in chunks.items():
        ordered = [parts.pop((key, row.chunk)) for row in sorted(rows, key=lambda r: r.chunk) if (key, row.chunk) in parts]
        if len(ordered) == 1:
            out[key] = ordered[0]
        elif ordered:
            out[key] = tuple(np.concatenate([part[i] for part in ordered]) for i in range(3))  # type: ignore[assignment]
    return out


def _clip(row: Any, lo: int | None, hi: int | None) -> _Arrays:
    """A chunk row's points within [lo, hi]."""
    steps = np.frombuffer(row.steps, dtype=_I8)
    stamps = np.frombuffer(row.timestamps, dtype=_F8)
    values = np.frombuffer(row.vals, dtype=_F8)
    if (lo is not None and steps[0] < lo) or (hi is not None and steps[-1] > hi):
        start = 0 if lo is None else int(np.searchsorted(steps, lo, side="left"))
        stop = len(steps) if hi is None else int(np.searchsorted(steps, hi, side="right"))
        steps, stamps, values = steps[start:stop], stamps[start:stop], values[start:stop]
    return steps, stamps, values
