"""Filters and order in SQL select exactly the runs the query layer selects in Python.

Runs with config and summary values of every type (integers and floats that
are equal, NaN, infinities, booleans, null, strings, lists, dicts, nested
keys, keys holding dots) are written to the database; a few thousand filters
and orders, drawn from those values, are evaluated both by the server's SQL
(SQLite and PostgreSQL) and by :func:`jupyter_tracker.query.matches` /
``sort_runs`` on the same values, and must agree.
"""

from __future__ import annotations

import math
import random
import time

import pytest
from sqlalchemy import update

from jupyter_tracker import query as q
from jupyter_tracker.server import schema
from jupyter_tracker.server.database import writing
from jupyter_tracker.server.errors import BadRequest
from jupyter_tracker.server.filters import parse_listing
from jupyter_tracker.server.payloads import dumps_column
from jupyter_tracker.server.runs import list_runs, upsert_run

VALUES = [0, 1, 1.0, -1, 0.1, 2.5, 1e300, math.nan, math.inf, -math.inf, True, False, None, "a", "b", "B", "é",
          "", "10", [1, 2], [], {"x": 1}, {"lr": 0.5}]
TAGS = ["x", "y", "z", "é"]
TIMEOUT = 3600.0


def _pick(rng: random.Random) -> object:
    return rng.choice(VALUES)


def _make_runs(rng: random.Random, count: int) -> list[dict]:
    runs = []
    for i in range(count):
        config: dict = {}
        for key in ("lr", "opt", "a.b", "seed"):
            if rng.random() < 0.8:
                config[key] = _pick(rng)
        if rng.random() < 0.5:
            config["a"] = {"b": _pick(rng), "c": {"d": _pick(rng)}}
        summary = {key: _pick(rng) for key in ("val/acc", "loss") if rng.random() < 0.8}
        runs.append({
            "id": f"run{i:03d}",
            "project": rng.choice(["p", "q"]),
            "name": rng.choice(["base-1", "base-2", "other", "Base", None]),
            "group": rng.choice(["g1", "g2", None]),
            "job_type": rng.choice(["train", "eval", None]),
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
            "notes": rng.choice([None, "n"]),
            "state": rng.choice(["finished", "failed", "crashed", "running"]),
            "created_at": 1000.0 + rng.choice([0, 1, 2, 3, 4, 5, 5, 6]) * 10,
            "config": config,
            "summary": summary,
        })
    return runs


def _source(run: dict) -> q.Source:
    def get(name: str) -> object:
        return run["name"] if name == "display_name" else run[name]

    return get


FIELDS = ["config.lr", "config.opt", "config.opt.lr", "config.a.b", "config.a.c.d", "config.seed", "config.lr.value",
          "config.missing", "lr", "summary_metrics.val/acc", "summary.loss", "display_name", "group", "job_type",
          "tags", "state", "notes", "created_at", "id", "project"]
OPS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$exists"]


def _filters(rng: random.Random, count: int) -> list[dict]:
    out = []
    while len(out) < count:
        fld = rng.choice(FIELDS)
        op = rng.choice(OPS)
        if op in ("$in", "$nin"):
            operand: object = [_pick(rng) for _ in range(rng.randint(0, 3))]
        elif op == "$regex":
            operand = rng.choice(["^b", "a", "e$", "^$", "[xy]", "(?i)^base"])
        elif op == "$exists":
            operand = rng.random() < 0.5
        elif fld == "state":
            operand = rng.choice(["finished", "running", "crashed"])
        elif fld == "created_at":
            operand = 1000.0 + rng.randint(0, 6) * 10
        elif fld == "tags":
            operand = rng.choice([*TAGS, None, ["x"], []])
        else:
            operand = _pick(rng)
        candidate = {fld: {op: operand}} if op != "$eq" or rng.random() < 0.5 else {fld: operand}
        try:
            q.parse_filters(candidate)
        except (ValueError, TypeError):
            continue
        out.append(candidate)
    combined = []
    for _ in range(count // 4):
        parts = rng.sample(out, 2)
        combined.append({rng.choice(["$and", "$or"]): parts})
        combined.append({**parts[0], **{k: v for k, v in parts[1].items() if k not in parts[0]}})
    return out + combined


@pytest.fixture(scope="module")
def stored(engine):
    rng = random.Random(11)
    runs = _make_runs(rng, 60)
    now = time.time()
    for run in runs:
        body = {k: run[k] for k in ("project", "name", "group", "job_type", "tags", "notes", "state", "created_at")}
        upsert_run(engine, run["id"], body, now)
        with writing(engine) as conn:
            conn.execute(update(schema.runs).where(schema.runs.c.run_id == run["id"]).values(
                config=dumps_column(run["config"]), summary=dumps_column(run["summary"])))
    return runs


def _sql(engine, query: q.Query, **kwargs) -> list[str]:
    return [r["id"] for r in list_runs(engine, TIMEOUT, time.time(), limit=1000, filters=query, **kwargs)]


def _python(runs: list[dict], query: q.Query) -> list[str]:
    found = [run for run in runs if q.matches(query.where, _source(run))]
    ordered = q.sort_runs(found, query.order, _source, lambda run: (run["created_at"], run["id"]))
    return [run["id"] for run in ordered]


def test_every_filter_selects_the_same_runs_in_sql_and_in_python(engine, stored) -> None:
    rng = random.Random(5)
    mismatches = []
    for filters in _filters(rng, 600):
        query = q.build_query(filters)
        expected = sorted(_python(stored, query))
        got = sorted(_sql(engine, query))
        if got != expected:
            mismatches.append((filters, sorted(set(got) ^ set(expected))[:5]))
    assert not mismatches, f"{len(mismatches)} filters differ, e.g. {mismatches[:5]}"


@pytest.mark.parametrize("order", [None, "created_at", "-created_at", "config.lr", "-config.lr", "summary.loss",
                                   "-summary_metrics.val/acc", "display_name", "-group", "config.a.b", "-tags",
                                   "state", "-id", "config.opt.lr"])
def test_every_order_sorts_the_same_in_sql_and_in_python(engine, stored, order) -> None:
    query = q.build_query(None, order)
    assert _sql(engine, query) == _python(stored, query)
    filtered = q.build_query({"project": "p"}, order)
    assert _sql(engine, filtered) == _python(stored, filtered)


def test_filters_and_the_old_parameters_together(engine, stored) -> None:
    query = q.build_query({"config.seed": {"$exists": True}}, "-created_at")
    got = _sql(engine, query, project="q", state="finished")
    expected = [r for r in _python(stored, query)
                if next(s for s in stored if s["id"] == r)["project"] == "q"
                and next(s for s in stored if s["id"] == r)["state"] == "finished"]
    assert got == expected and got


def test_a_stale_live_run_filters_as_crashed(engine, stored) -> None:
    body = {"project": "stale", "state": "running", "created_at": 5.0}
    upsert_run(engine, "stale-run", body, time.time() - 2 * TIMEOUT)
    crashed = q.build_query({"state": "crashed"}, project="stale")
    assert _sql(engine, crashed) == ["stale-run"]
    assert _sql(engine, q.build_query({"state": "running"}, project="stale")) == []


@pytest.mark.parametrize("filters, order, message", [
    ('{"config.lr": {"$gtt": 1}}', None, "invalid operator '\\$gtt'"),
    ("{not json", None, "filters: malformed JSON"),
    ('{"state": "finsihed"}', None, "no run state is called"),
    (None, "-", "order must be a key"),
    ('{"config.lr": {"$in": 3}}', None, "takes a list"),
])
def test_bad_listing_arguments_are_400s(filters, order, message) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_listing(filters, order)


def test_a_pattern_only_python_knows_is_a_400_on_postgresql(engine, stored) -> None:
    query = q.build_query({"display_name": {"$regex": "(?P<word>base)"}})
    if engine.dialect.name == "sqlite":  # Python's regular expressions there
        assert sorted(_sql(engine, query)) == sorted(_python(stored, query))
    else:
        with pytest.raises(BadRequest, match="the database cannot apply this filter"):
            _sql(engine, query)
