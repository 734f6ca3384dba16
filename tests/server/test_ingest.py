"""Ingest applies records exactly once, and as the local reader does (in-process, real databases)."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from jupyter_tracker import records as rec
from jupyter_tracker.replay import replay
from jupyter_tracker.server import schema
from jupyter_tracker.server.batches import BadBatch, parse_batch
from jupyter_tracker.server.database import reading
from jupyter_tracker.server.errors import Conflict, NotFound
from jupyter_tracker.server.history import read_history
from jupyter_tracker.server.ingest import ingest
from jupyter_tracker.server.runs import find_run_pk, get_run, upsert_run


def send(engine: Engine, run_id: str, records: list[list], log: str = "events") -> dict:
    body = {"log": log, "first_seq": records[0][0], "last_seq": records[-1][0], "records": records}
    return ingest(engine, run_id, parse_batch(body, 10_000), 10_000, time.time())


def scripted_records() -> list[list]:
    """Every kind of record, every summary rule, merges within and across batches."""
    nan, inf = math.nan, math.inf
    out: list[list] = [
        [0, "start", 1.0, {"pid": 7, "host": "h", "resumed": False}],
        [0, "c", 1.0, {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "bad": nan}],
        [0, "m", 1.0, {"name": "val/*", "step_metric": "epoch", "summary": "max", "hidden": False}],
        [0, "m", 1.0, {"name": "loss", "step_metric": None, "summary": "min", "hidden": False}],
        [0, "h", 0, 2.0, {"loss": 1.0, "val/acc": 0.5, "epoch": 0}],
        [0, "h", 0, 2.5, {"x": 1}],
        [0, "h", 1, 3.0, {"loss": nan, "val/acc": 0.25}],
        [0, "s", 3.0, {"set": {"best": 3, "inf": inf}, "del": []}],
        [0, "h", 2, 4.0, {"loss": 0.5, "val/acc": 0.75}],
        [0, "m", 4.0, {"name": "acc2", "step_metric": None, "summary": "mean", "hidden": False}],
        [0, "h", 3, 5.0, {"acc2": 1}],
        [0, "h", 4, 6.0, {"acc2": 4, "loss": -inf}],
        [0, "s", 6.0, {"set": {}, "del": ["best"]}],
        [0, "m", 6.0, {"name": "first_*", "step_metric": None, "summary": "first", "hidden": False}],
        [0, "h", 5, 7.0, {"first_metric": 9}],
        [0, "h", 6, 8.0, {"first_metric": 10}],
        [0, "m", 8.0, {"name": "quiet", "step_metric": None, "summary": "none", "hidden": True}],
        [0, "h", 7, 9.0, {"quiet": 4}],
        [0, "meta", 9.0, {"name": "renamed", "tags": ["a", "b"], "notes": "n", "git": {"sha": "abc"}}],
        [0, "f", 9.0, {"path": "code/cells.py", "policy": "now"}],
    ]
    rng = random.Random(3)
    step, ts = 8, 10.0
    keys = ["loss", "val/acc", "epoch", "acc2", "k1", "k2", "k3"]
    for _ in range(3000):
        if rng.random() < 0.6:
            step += rng.choice([1, 1, 1, 2, 5])
        ts += 0.01
        row = {k: rng.choice([rng.random(), rng.randint(-5, 5), nan]) for k in rng.sample(keys, rng.randint(1, 4))}
        out.append([0, "h", step, ts, row])
        if rng.random() < 0.002:
            out.append([0, "c", ts, {"lr": rng.random()}])
    out.append([0, "state", ts, {"state": "finished", "exit_code": 0}])
    for seq, record in enumerate(out, 1):
        record[0] = seq
    return out


def local_series(rows: list[dict]) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {}
    for row in rows:
        for key, value in row.items():
            if key in ("_step", "_timestamp"):
                continue
            series = out.setdefault(key, {"step": [], "timestamp": [], "value": []})
            series["step"].append(row["_step"])
            series["timestamp"].append(row["_timestamp"])
            series["value"].append(float(value))
    return out


def test_server_state_matches_the_local_reader(engine: Engine, tmp_path: Path) -> None:
    records = scripted_records()
    events = tmp_path / "events.log"
    with open(events, "wb") as handle:
        for start in range(0, len(records), 200):
            handle.write(rec.encode(records[start : start + 200]))
    local = replay(events)
    upsert_run(engine, "eq1", {"project": "p", "name": "first"}, time.time())
    rng = random.Random(5)
    sent = 0
    while sent < len(records):
        start = max(0, sent - rng.choice([0, 0, 0, 3, 40]))  # some batches overlap what was acked
        end = min(len(records), sent + rng.randint(1, 400))
        assert send(engine, "eq1", records[start:end]) == {"acked": end}
        sent = end
    run = get_run(engine, "eq1", 60, time.time())
    assert rec.jsonable(run["summary"]) == rec.jsonable(local.summary.as_dict())
    assert list(run["summary"]) == list(local.summary.as_dict())
    assert rec.jsonable(run["config"]) == rec.jsonable(local.config)
    assert run["state"] == "finished" and run["exit_code"] == 0
    assert run["name"] == "renamed" and run["tags"] == ["a", "b"] and run["notes"] == "n"
    assert run["info"]["git"] == {"sha": "abc"}
    assert run["metrics"] == local.metrics
    assert run["last_step"] == local.last_step
    assert run["hwm"] == {"events": len(records), "system": 0}
    with reading(engine) as conn:
        history = read_history(conn, find_run_pk(conn, "eq1"))
    assert rec.jsonable(history) == rec.jsonable(local_series(local.rows))


def test_idempotent_overlap_and_gap(engine: Engine) -> None:
    upsert_run(engine, "idem", {"project": "p"}, time.time())
    batch = [[i, "h", i, float(i), {"a": float(i)}] for i in range(1, 11)]
    assert send(engine, "idem", batch) == {"acked": 10}
    assert send(engine, "idem", batch) == {"acked": 10}  # again: nothing written
    assert send(engine, "idem", batch[:4]) == {"acked": 10}
    more = [[i, "h", i, float(i), {"a": float(i)}] for i in range(6, 16)]
    assert send(engine, "idem", more) == {"acked": 15}  # 6..10 skipped, 11..15 written
    with pytest.raises(Conflict) as caught:
        send(engine, "idem", [[17, "h", 17, 1.0, {"a": 1.0}]])
    assert caught.value.status == 409 and caught.value.body() == {"error": "gap", "expected": 16}
    with reading(engine) as conn:
        history = read_history(conn, find_run_pk(conn, "idem"))
    assert history["a"]["step"] == list(range(1, 16))
    assert history["a"]["value"] == [float(i) for i in range(1, 16)]


def test_system_log_has_its_own_sequence(engine: Engine) -> None:
    upsert_run(engine, "sys", {"project": "p"}, time.time())
    send(engine, "sys", [[1, "sys", 10.0, {"host/cpu_percent": 5.0, "_samples": 3}]], log="system")
    send(engine, "sys", [[1, "sys", 10.0, {"host/cpu_percent": 5.0, "_samples": 3}],
                         [2, "sys", 40.0, {"host/cpu_percent": math.nan}]], log="system")
    send(engine, "sys", [[1, "h", 0, 1.0, {"a": 1}]])
    run = get_run(engine, "sys", 60, time.time())
    assert run["hwm"] == {"events": 1, "system": 2}
    with reading(engine) as conn:
        count = conn.execute(select(func.count()).select_from(schema.system_records)).scalar()
    assert count == 2


def test_a_refused_batch_changes_nothing(engine: Engine) -> None:
    upsert_run(engine, "back", {"project": "p"}, time.time())
    send(engine, "back", [[1, "h", 5, 1.0, {"a": 1.0}], [2, "c", 1.0, {"x": 1}]])
    with pytest.raises(BadBatch, match="lower than the run's last step"):
        send(engine, "back", [[3, "c", 1.0, {"x": 2}], [4, "h", 4, 1.0, {"a": 2.0}]])
    run = get_run(engine, "back", 60, time.time())
    assert run["hwm"]["events"] == 2 and run["config"] == {"x": 1}
    with pytest.raises(NotFound):
        send(engine, "nope", [[1, "h", 0, 1.0, {"a": 1.0}]])


def send_holes(engine: Engine, run_id: str, records: list[list], first: int, last: int, missing: list,
               log: str = "events") -> dict:
    body = {"log": log, "first_seq": first, "last_seq": last, "records": records, "missing": missing}
    return ingest(engine, run_id, parse_batch(body, 10_000), 10_000, time.time())


def stored_holes(engine: Engine, run_id: str) -> list[tuple]:
    table = schema.missing_ranges
    with reading(engine) as conn:
        run_pk = find_run_pk(conn, run_id)
        rows = conn.execute(
            select(table.c.log, table.c.first_seq, table.c.last_seq).where(table.c.run_pk == run_pk)
            .order_by(table.c.log, table.c.first_seq)
        ).all()
    return [tuple(row) for row in rows]


def test_declared_holes_advance_the_mark_and_are_stored_once(engine: Engine) -> None:
    upsert_run(engine, "holes", {"project": "p"}, time.time())
    rows = {seq: [seq, "h", seq, float(seq), {"a": float(seq)}] for seq in range(1, 901)}
    kept = [rows[s] for s in (*range(1, 256), *range(512, 901))]
    assert send_holes(engine, "holes", kept, 1, 900, [[256, 511]]) == {"acked": 900}
    # resent whole, or from the middle of the hole: nothing is written twice
    assert send_holes(engine, "holes", kept, 1, 900, [[256, 511]]) == {"acked": 900}
    more = [rows[s] for s in range(512, 901)] + [[901, "h", 901, 901.0, {"a": 901.0}]]
    assert send_holes(engine, "holes", [*kept[200:], more[-1]], 201, 901, [[256, 511]]) == {"acked": 901}
    # holes only, and a hole at the start of a batch
    assert send_holes(engine, "holes", [], 902, 910, [[902, 910]]) == {"acked": 910}
    assert send_holes(engine, "holes", [[913, "h", 913, 1.0, {"a": 913.0}]], 911, 913, [[911, 912]]) == {"acked": 913}
    # after a gap still a 409
    with pytest.raises(Conflict) as caught:
        send_holes(engine, "holes", [], 920, 930, [[920, 930]])
    assert caught.value.body() == {"error": "gap", "expected": 914}
    # the system log has its own holes
    assert send_holes(engine, "holes", [[3, "sys", 1.0, {"cpu": 1.0}]], 1, 3, [[1, 2]], log="system") == {"acked": 3}
    assert stored_holes(engine, "holes") == [
        ("events", 256, 511), ("events", 902, 910), ("events", 911, 912), ("system", 1, 2)
    ]
    run = get_run(engine, "holes", 60, time.time())
    assert run["hwm"] == {"events": 913, "system": 3}
    assert run["missing"] == {"events": [[256, 511], [902, 912]], "system": [[1, 2]]}
    assert run["missing_records"] == {"events": 256 + 11, "system": 2}
    with reading(engine) as conn:
        history = read_history(conn, find_run_pk(conn, "holes"))
    want = [*range(1, 256), *range(512, 902), 913]
    assert history["a"]["step"] == want and history["a"]["value"] == [float(s) for s in want]


def test_a_batch_resent_from_inside_a_hole_stores_the_rest_clipped(engine: Engine) -> None:
    upsert_run(engine, "clip", {"project": "p"}, time.time())
    assert send(engine, "clip", [[i, "c", 1.0, {"x": i}] for i in range(1, 301)]) == {"acked": 300}
    records = [[i, "c", 1.0, {"x": i}] for i in (*range(1, 256), *range(512, 601))]
    assert send_holes(engine, "clip", records, 1, 600, [[256, 511]]) == {"acked": 600}
    assert stored_holes(engine, "clip") == [("events", 301, 511)]
    run = get_run(engine, "clip", 60, time.time())
    assert run["config"] == {"x": 600} and run["missing_records"] == {"events": 211, "system": 0}


def test_a_run_without_holes_reports_none(engine: Engine) -> None:
    upsert_run(engine, "noholes", {"project": "p"}, time.time())
    run = get_run(engine, "noholes", 60, time.time())
    assert run["missing"] == {"events": [], "system": []}
    assert run["missing_records"] == {"events": 0, "system": 0}


def test_a_batch_of_many_new_metrics_refreshes_postgres_statistics(engine: Engine) -> None:
    """With stale statistics PostgreSQL scans every row of a run to find a few of its metrics."""
    from sqlalchemy import text

    from jupyter_tracker.server.history import ANALYZE_AFTER

    upsert_run(engine, "many", {"project": "p"}, time.time())
    row = {f"m{i}": 1.0 for i in range(ANALYZE_AFTER)}
    send(engine, "many", [[1, "h", 0, 1.0, row]])
    if engine.dialect.name == "sqlite":
        return
    with reading(engine) as conn:  # ANALYZE writes the row estimate into the catalog
        estimate = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'history_chunks'::regclass")).scalar()
    assert estimate >= ANALYZE_AFTER
