"""The query layer: wandb's filter syntax, parsed and evaluated for local runs."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from jupyter_tracker import query as q

RUNS = {
    "a": {"id": "a", "display_name": "base-1", "project": "p", "group": "g1", "job_type": "train", "tags": ["x", "y"],
          "state": "finished", "notes": None, "created_at": 100.0,
          "config": {"lr": 0.1, "batch": 64, "opt": {"name": "adam", "lr": 0.5}, "layers": [64, 64], "flag": True,
                     "a.b": 1, "seed": 0},
          "summary": {"val/acc": 0.9, "loss": math.nan, "best": math.inf}},
    "b": {"id": "b", "display_name": "base-2", "project": "p", "group": "g1", "job_type": None, "tags": ["y"],
          "state": "crashed", "notes": "n", "created_at": 200.0,
          "config": {"lr": 0.01, "batch": 128, "opt": {"name": "sgd"}, "flag": False, "name": "x", "seed": 1},
          "summary": {"val/acc": 0.95, "loss": 0.2, "best": -math.inf}},
    "c": {"id": "c", "display_name": "other", "project": "q", "group": None, "job_type": "eval", "tags": [],
          "state": "running", "notes": None, "created_at": 300.0,
          "config": {"lr": "auto", "batch": 64.0, "opt": None, "seed": 2},
          "summary": {"val/acc": 0.5}},
}


def source(run_id: str) -> q.Source:
    return RUNS[run_id].__getitem__


def select(filters, **kwargs) -> list[str]:
    query = q.build_query(filters, **kwargs)
    return sorted(r for r in RUNS if q.matches(query.where, source(r)))


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"config.lr": 0.1}, ["a"]),
        ({"config.lr": {"$eq": 0.01}}, ["b"]),
        ({"config.lr": {"$ne": 0.1}}, ["b", "c"]),
        ({"config.lr": {"$gt": 0.01}}, ["a"]),
        ({"config.lr": {"$gte": 0.01}}, ["a", "b"]),
        ({"config.lr": {"$lt": 0.1}}, ["b"]),
        ({"config.lr": {"$lte": 0.1}}, ["a", "b"]),
        ({"config.lr": {"$gt": "a"}}, ["c"]),  # strings compare with strings only
        ({"config.batch": 64}, ["a", "c"]),  # 64 == 64.0
        ({"config.batch": {"$in": [128, 256]}}, ["b"]),
        ({"config.batch": {"$nin": [128]}}, ["a", "c"]),
        ({"config.opt.name": "adam"}, ["a"]),  # nested
        ({"config.opt.lr": 0.5}, ["a"]),
        ({"config.a.b": 1}, ["a"]),  # a key holding a dot
        ({"config.lr.value": 0.1}, ["a"]),  # wandb's config.<key>.value
        ({"config.opt": None}, ["c"]),  # null, and missing (no run lacks opt)
        ({"config.name": None}, ["a", "c"]),
        ({"config.name": {"$exists": True}}, ["b"]),
        ({"config.name": {"$exists": False}}, ["a", "c"]),
        ({"config.flag": True}, ["a"]),
        ({"config.flag": False}, ["b"]),
        ({"config.flag": 1}, []),  # a boolean is not a number
        ({"config.layers": [64, 64]}, ["a"]),
        ({"config.opt": {"name": "sgd"}}, ["b"]),
        ({"lr": 0.1}, ["a"]),  # a bare key is a config key
        ({"summary_metrics.val/acc": {"$gte": 0.9}}, ["a", "b"]),
        ({"summary.val/acc": {"$lt": 0.9}}, ["c"]),
        ({"summary_metrics.loss": {"$lt": 1}}, ["b"]),  # NaN compares with nothing
        ({"summary_metrics.loss": {"$ne": 0.2}}, ["a", "c"]),
        ({"summary_metrics.best": {"$gt": 1e308}}, ["a"]),  # infinities compare as such
        ({"summary_metrics.best": -math.inf}, ["b"]),
        ({"display_name": {"$regex": "^base"}}, ["a", "b"]),
        ({"name": "other"}, ["c"]),
        ({"group": "g1"}, ["a", "b"]),
        ({"group": None}, ["c"]),
        ({"group": {"$exists": True}}, ["a", "b"]),
        ({"job_type": {"$in": ["train", "eval"]}}, ["a", "c"]),
        ({"tags": "y"}, ["a", "b"]),  # tags: contains
        ({"tags": {"$in": ["x", "z"]}}, ["a"]),
        ({"tags": {"$nin": ["x"]}}, ["b", "c"]),
        ({"tags": {"$ne": "y"}}, ["c"]),
        ({"tags": {"$regex": "^x"}}, ["a"]),
        ({"tags": {"$exists": False}}, ["c"]),
        ({"tags": ["y"]}, ["b"]),  # a list: the whole list
        ({"state": "finished"}, ["a"]),
        ({"state": {"$in": ["running", "crashed"]}}, ["b", "c"]),
        ({"project": "q"}, ["c"]),
        ({"id": {"$in": ["a", "c"]}}, ["a", "c"]),
        ({"notes": {"$exists": True}}, ["b"]),
        ({"created_at": {"$gte": 200}}, ["b", "c"]),
        ({"created_at": {"$lt": "1970-01-01T00:03:20Z"}}, ["a"]),  # ISO dates are UTC
        ({"$or": [{"config.lr": 0.1}, {"group": None}]}, ["a", "c"]),
        ({"$and": [{"group": "g1"}, {"config.batch": 128}]}, ["b"]),
        ({"$or": [{"$and": [{"project": "p"}, {"tags": "x"}]}, {"config.lr": "auto"}]}, ["a", "c"]),
        ({"config.batch": {"$gt": 32, "$lt": 100}}, ["a", "c"]),  # several operators: all hold
        ({"$and": [{}]}, ["a", "b", "c"]),
        ({}, ["a", "b", "c"]),
    ],
)
def test_every_operator(filters, expected) -> None:
    assert select(filters) == expected


def test_shortcuts_and_filters_all_hold() -> None:
    assert select(None, project="p") == ["a", "b"]
    assert select(None, group="g1", state="crashed") == ["b"]
    assert select(None, tags=["x", "y"]) == ["a"]
    assert select(None, tags="y") == ["a", "b"]
    assert select({"config.lr": {"$lt": 1}}, project="p", state=["finished", "crashed"]) == ["a", "b"]


def test_numpy_operands_are_numbers() -> None:
    assert select({"config.batch": np.int64(64)}) == ["a", "c"]
    assert select({"config.lr": {"$lt": np.float32(0.05)}}) == ["b"]


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"config.lr": {"$gtt": 1}}, "invalid operator '\\$gtt' for 'config.lr'"),
        ({"$nor": [{"a": 1}]}, "invalid operator '\\$nor'"),
        ({"config.lr": {"$in": 0.1}}, "'\\$in' for 'config.lr' takes a list"),
        ({"config.lr": {"$regex": "("}}, "bad pattern"),
        ({"config.lr": {"$exists": 1}}, "takes true or false"),
        ({"config.lr": {"$gt": [1]}}, "compares with a number or a string"),
        ({"config.lr": {"$gt": 1, "x": 2}}, "mixes operators and plain keys"),
        ({"$or": []}, "non-empty list"),
        ({"state": "finsihed"}, "no run state is called 'finsihed'"),
        ({"config.": 1}, "names no key"),
        ({"created_at": {"$gt": "yesterday"}}, "is not a time"),
    ],
)
def test_bad_input_names_what_is_wrong(filters, message) -> None:
    with pytest.raises(ValueError, match=message):
        q.parse_filters(filters)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    deep: dict = {"config.lr": 1}
    for _ in range(40):
        deep = {"$and": [deep]}
    with pytest.raises(ValueError, match="more than 32 levels"):
        q.parse_filters(deep)


def test_bad_types() -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        q.parse_filters([("config.lr", 1)])
    with pytest.raises(TypeError, match="not a value a filter can hold"):
        q.parse_filters({"config.lr": object()})


def test_order_parses_and_sorts_with_missing_last() -> None:
    assert q.parse_order(None).text == "-created_at"
    assert q.parse_order("summary_metrics.val/acc").descending is False
    assert q.parse_order("+config.lr").descending is False
    order = q.parse_order("-summary.val/acc")
    assert order.descending and order.field == q.Field("summary", "val/acc", "summary.val/acc")
    with pytest.raises(ValueError, match="order must be a key"):
        q.parse_order("-")

    def ordered(text: str) -> list[str]:
        return q.sort_runs(list(RUNS), q.parse_order(text), source, lambda r: (RUNS[r]["created_at"], r))

    assert ordered(None) == ["c", "b", "a"]
    assert ordered("created_at") == ["a", "b", "c"]
    assert ordered("-summary_metrics.val/acc") == ["b", "a", "c"]
    assert ordered("+summary_metrics.val/acc") == ["c", "a", "b"]
    # numbers, then NaN, then strings; missing last in both directions
    assert ordered("-summary.loss") == ["b", "a", "c"]
    assert ordered("config.lr") == ["b", "a", "c"]  # 0.01, 0.1, then the string "auto"
    assert ordered("-config.lr") == ["a", "b", "c"]
    assert ordered("config.name") == ["b", "c", "a"]  # only b has it; ties newest first
    assert ordered("-summary.best") == ["a", "b", "c"]  # inf, -inf, missing


def test_group_by() -> None:
    groups = q.group_runs(list(RUNS), "batch", source)
    assert groups == {64: ["a", "c"], 128: ["b"]}  # 64 and 64.0 are one group
    assert q.group_runs(list(RUNS), "group", source) == {"g1": ["a", "b"], None: ["c"]}
    assert list(q.group_runs(list(RUNS), "config.layers", source)) == ["[64,64]", None]


def test_fields_and_round_trip_through_a_dict() -> None:
    query = q.build_query({"config.lr": {"$lt": 0.05}, "$or": [{"tags": {"$in": ["x"]}}, {"summary.loss": None}]},
                          "-summary_metrics.val/acc", project="p", state="finished")
    assert [f.text for f in query.fields()] == ["config.lr", "summary.loss", "summary_metrics.val/acc"]
    again = q.build_query(query.to_filters(), query.order.text)
    assert again.where == query.where and again.order == query.order


def test_split_path_tries_the_key_as_written_first() -> None:
    assert q.split_path("a.b.c") == (("a.b.c",), ("a", "b.c"), ("a.b", "c"), ("a", "b", "c"))
    assert q.split_path("lr.value", True) == (("lr.value",), ("lr", "value"), ("lr",))
    many = "a.b.c.d.e.f.g"
    assert q.split_path(many) == ((many,), tuple(many.split(".")))


def test_missing_key_notes() -> None:
    fields = [q.parse_field("config.lr"), q.parse_field("summary.acc")]
    notes = q.missing_key_notes(fields, lambda f: f.key == "lr", "sweep")
    assert notes == ["no run of project 'sweep' has summary metric 'acc'"]


def test_dates() -> None:
    when = dt.datetime(1970, 1, 1, 0, 3, 20, tzinfo=dt.timezone.utc)
    assert select({"created_at": {"$gte": when}}) == ["b", "c"]
