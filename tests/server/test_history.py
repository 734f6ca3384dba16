"""Chunked history: appends across chunk boundaries, step ranges, downsampled reads."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from jupyter_tracker.server import schema
from jupyter_tracker.server.batches import parse_batch
from jupyter_tracker.server.database import reading
from jupyter_tracker.server.history import SKETCH_FACTOR, read_history
from jupyter_tracker.server.ingest import ingest
from jupyter_tracker.server.runs import find_run_pk, upsert_run
from jupyter_tracker.server.schema import CHUNK_POINTS


def load(engine: Engine, run_id: str, values: np.ndarray, batch: int, step0: int = 0, seq0: int = 1) -> None:
    upsert_run(engine, run_id, {"project": "p"}, time.time())
    for start in range(0, len(values), batch):
        chunk = values[start : start + batch]
        records = [
            [seq0 + start + i, "h", step0 + start + i, 1000.0 + start + i, {"m": float(v)}] for i, v in enumerate(chunk)
        ]
        body = {"log": "events", "first_seq": records[0][0], "last_seq": records[-1][0], "records": records}
        ingest(engine, run_id, parse_batch(body, 100), 100, time.time())


def read(engine: Engine, run_id: str, **kwargs: object) -> dict:
    with reading(engine) as conn:
        return read_history(conn, find_run_pk(conn, run_id), ["m"], **kwargs)["m"]


@pytest.mark.parametrize("batch", [300, 1000, 4096, 5000, 20_000])
def test_appends_fill_chunks_in_order(engine: Engine, batch: int) -> None:
    values = np.arange(20_000, dtype=float) * 0.5
    run_id = f"append{batch}"
    load(engine, run_id, values, batch)
    got = read(engine, run_id)
    assert got["step"] == list(range(20_000))
    assert got["value"] == values.tolist()
    assert got["timestamp"][:2] == [1000.0, 1001.0]
    chunks = schema.history_chunks.c
    with reading(engine) as conn:
        run_pk = find_run_pk(conn, run_id)
        rows = conn.execute(
            select(chunks.chunk, chunks.points).where(chunks.run_pk == run_pk).order_by(chunks.chunk)
        ).all()
    assert [r.chunk for r in rows] == list(range(len(rows)))
    assert all(0 < r.points <= CHUNK_POINTS for r in rows)
    if batch < CHUNK_POINTS // 4:  # small appends fill the open chunk
        assert all(r.points == CHUNK_POINTS for r in rows[:-1])
    else:  # large ones start new chunks
        assert len(rows) <= 2 * -(-20_000 // CHUNK_POINTS)
    assert sum(r.points for r in rows) == 20_000


def test_step_ranges(engine: Engine) -> None:
    load(engine, "ranges", np.arange(10_000, dtype=float), 3000, step0=100)
    got = read(engine, "ranges", min_step=4000, max_step=8200)
    assert got["step"] == list(range(4000, 8201))
    assert read(engine, "ranges", min_step=20_000)["step"] == []
    assert read(engine, "ranges", max_step=100)["step"] == [100]


@pytest.mark.parametrize(("size", "samples"), [(50_000, 1000), (50_000, 100), (150_000, 1000)])
def test_downsampled_reads_keep_extremes_and_ends(engine: Engine, size: int, samples: int) -> None:
    rng = np.random.default_rng(size)
    values = rng.normal(size=size)
    spikes = [size // 10, size * 3 // 10, size // 2, size * 7 // 10, size * 9 // 10]
    values[spikes] = [40, -40, 35, -35, 60]
    values[size // 7] = np.nan
    assert (size >= samples * SKETCH_FACTOR) == (samples == 100 or size > 100_000)
    run_id = f"down{size}-{samples}"
    load(engine, run_id, values, 50_000)
    sketched = size >= samples * SKETCH_FACTOR
    got = read(engine, run_id, samples=samples)
    assert len(got["step"]) <= samples
    assert got["step"][0] == 0 and got["step"][-1] == size - 1
    assert np.all(np.diff(got["step"]) > 0)
    kept = np.array([v if isinstance(v, float) else np.nan for v in got["value"]])
    assert np.nanmax(kept) == 60 and np.nanmin(kept) == -40
    for step in spikes:  # every spike stands out in its bucket
        assert int(step) in got["step"]
    # each point returned is a real point: its value and timestamp are those of its step
    steps = np.array(got["step"])
    assert np.array_equal(np.nan_to_num(kept, nan=1e9), np.nan_to_num(values[steps], nan=1e9))
    assert got["timestamp"] == (1000.0 + steps).tolist()
    if not sketched:  # the exact per-bucket result on the raw points
        from jupyter_tracker.server.downsample import minmax_indices

        assert got["step"] == minmax_indices(values, samples).tolist()
    # a range that cuts chunks: still its own ends and extremes
    lo, hi = size // 5 + 17, size - size // 5 - 3
    part = read(engine, run_id, samples=samples, min_step=lo, max_step=hi)
    assert part["step"][0] == lo and part["step"][-1] == hi
    inside = values[lo : hi + 1]
    kept = np.array([v if isinstance(v, float) else np.nan for v in part["value"]])
    assert np.nanmax(kept) == np.nanmax(inside) and np.nanmin(kept) == np.nanmin(inside)


@pytest.mark.parametrize("samples", [None, 3])
def test_many_metrics_are_read_with_a_bounded_number_of_queries(engine: Engine, samples: int | None) -> None:
    from sqlalchemy import event

    run_id = f"wide{samples}"
    upsert_run(engine, run_id, {"project": "p"}, time.time())
    names = [f"m{i:04d}" for i in range(1200)]
    records = [[1 + step, "h", step, 1000.0 + step, {name: float(step + i) for i, name in enumerate(names)}]
               for step in range(CHUNK_POINTS // 8)]
    body = {"log": "events", "first_seq": 1, "last_seq": len(records), "records": records}
    ingest(engine, run_id, parse_batch(body, 2000), 2000, time.time())
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with reading(engine) as conn:
            history = read_history(conn, find_run_pk(conn, run_id), min_step=10, samples=samples)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert list(history) == names
    assert history["m0007"]["step"][0] == 10 and history["m0007"]["value"][0] == 17.0
    if samples is None:
        assert history["m0007"]["step"] == list(range(10, CHUNK_POINTS // 8))
    else:
        assert len(history["m0007"]["step"]) <= 4
    # the names, then per 500 metrics: chunks, and points or sketches and edges
    assert len(statements) <= 1 + 3 * 4, len(statements)
