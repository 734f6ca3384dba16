"""Checking and planning batches of records (no server needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_tracker.server.batches import BadBatch, parse_batch, plan


def body(records: list[list], log: str = "events") -> dict:
    return {"log": log, "first_seq": records[0][0], "last_seq": records[-1][0], "records": records}


def as_lists(result) -> dict:
    return {
        "row_steps": list(result.row_steps),
        "row_ts": list(result.row_ts),
        "series": {
            key: (p.steps.tolist(), p.values.tolist(), p.rows.tolist()) for key, p in result.series.items()
        },
        "ops": [(op[0], op[1], op[2]) for op in result.ops],
    }


def test_fast_and_general_paths_agree() -> None:
    records = [[i, "h", i * 2, 100.0 + i, {"a": i, "b": i / 3}] for i in range(1, 50)]
    fast = plan(records, 1, 100)
    assert fast.ops[0][3] is True  # the fast path: one row per record, same keys
    slow_records = records + [[50, "c", 1.0, {"x": 1}]]  # any other kind takes the general walk
    slow = plan(slow_records, 1, 100)
    assert slow.ops[0][3] is False
    got, want = as_lists(slow), as_lists(fast)
    assert got["series"] == want["series"]
    assert got["row_steps"] == want["row_steps"] and got["row_ts"] == want["row_ts"]
    assert slow.ops[-1] == ("c", 50, 1.0, {"x": 1})


def test_records_of_one_step_make_one_row_later_values_win() -> None:
    records = [
        [1, "h", 0, 1.0, {"a": 1, "b": 2}],
        [2, "h", 0, 2.0, {"a": 3}],
        [3, "h", 1, 3.0, {"b": 4}],
        [4, "h", 1, 4.0, {"c": 5}],
    ]
    result = plan(records, 1, 100)
    assert result.row_steps == [0, 1]
    assert result.row_ts == [2.0, 4.0]
    assert result.series["a"].values.tolist() == [3.0]
    assert result.series["b"].steps.tolist() == [0, 1]
    assert result.series["b"].rows.tolist() == [0, 1]
    assert sorted(result.last_row_keys()) == ["b", "c"]


def test_non_finite_values_are_numbers() -> None:
    result = plan([[1, "h", 0, 1.0, {"a": math.nan, "b": math.inf, "c": -math.inf}]], 1, 10)
    values = [result.series[k].values[0] for k in "abc"]
    assert np.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "JSON object"),
        ({"log": "other", "first_seq": 1, "last_seq": 1, "records": [[1, "c", 1.0, {}]]}, "'log'"),
        ({"log": "events", "first_seq": 0, "last_seq": 1, "records": []}, "first_seq"),
        ({"log": "events", "first_seq": 2, "last_seq": 1, "records": []}, "first_seq"),
        ({"log": "events", "first_seq": True, "last_seq": 1, "records": [[1, "c", 1.0, {}]]}, "first_seq"),
        ({"log": "events", "first_seq": 1, "last_seq": 2, "records": [[1, "c", 1.0, {}]]}, "1 records sent"),
        ({"log": "events", "first_seq": 1, "last_seq": 1, "records": "x"}, "list of records"),
    ],
)
def test_bad_envelopes(value: object, message: str) -> None:
    with pytest.raises(BadBatch, match=message):
        parse_batch(value, 100)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([[1, "h", -1, 1.0, {"a": 1}]], "non-negative integer"),
        ([[1, "h", 1.5, 1.0, {"a": 1}]], "non-negative integer"),
        ([[1, "h", 0, "now", {"a": 1}]], "timestamp"),
        ([[1, "h", 0, 1.0, {"a": "x"}]], "'a' is not a number"),
        ([[1, "h", 0, 1.0, {"a": None}]], "'a' is not a number"),
        ([[1, "h", 0, 1.0, {"a": True}]], "'a' is not a number"),
        ([[1, "h", 0, 1.0, {"a": {"b": 1}}]], "'a' is not a number"),
        ([[1, "h", 0, 1.0, {"": 1}]], "empty metric key"),
        ([[1, "h", 0, 1.0, {"_step": 1}]], "reserved"),
        ([[1, "h", 0, 1.0, [1]]], "JSON object"),
        ([[1, "h", 0, 1.0]], "history record"),
        ([[1, "h", 5, 1.0, {"a": 1}], [2, "h", 4, 1.0, {"a": 1}]], "lower than the step before"),
        ([[1, 7, 1.0, {}]], "kind"),
        ([[1, "c", 1.0, [1]]], "JSON object"),
        ([[1, "s", 1.0, {"set": [1]}]], "'set'"),
        ([[1, "s", 1.0, {"del": [1]}]], "'del'"),
        ([[1, "m", 1.0, {"summary": "min"}]], "'name'"),
        ([[1, "m", 1.0, {"name": "a", "summary": "median"}]], "summary must be"),
        ([[1, "f", 1.0, {"policy": "now"}]], "'path'"),
        ([[1, "state", 1.0, {"state": "sleeping"}]], "state must be"),
        ([[1, "state", 1.0, {"state": "failed", "exit_code": "1"}]], "exit_code"),
        ([[1, "sys", 1.0, {"cpu": "high"}]], "'cpu' is not a number"),
    ],
)
def test_bad_records(records: list[list], message: str) -> None:
    with pytest.raises(BadBatch, match=message):
        parse_batch(body(records), 100)


@pytest.mark.parametrize("records", [[[2, "h", 0, 1.0, {"a": 1}]], [[1, "h", 0, 1.0, {"a": 1}], [3, "h", 1, 1.0, {"a": 1}]]])
def test_sequence_numbers_must_follow_first_seq(records: list[list]) -> None:
    value = {"log": "events", "first_seq": 1, "last_seq": len(records), "records": records}
    with pytest.raises(BadBatch, match="contiguous"):
        parse_batch(value, 100)


def test_key_limits() -> None:
    with pytest.raises(BadBatch, match="3 keys in one record; the limit is 2"):
        parse_batch(body([[1, "h", 0, 1.0, {"a": 1, "b": 2, "c": 3}]]), 2)
    long_key = "k" * 257
    with pytest.raises(BadBatch, match=f"key '{long_key}' is 257 characters long; the limit is 256"):
        parse_batch(body([[1, "h", 0, 1.0, {long_key: 1}]]), 10)
    with pytest.raises(BadBatch, match="the limit is 256"):
        parse_batch(body([[1, "sys", 1.0, {long_key: 1}]], "system"), 10)
    assert parse_batch(body([[1, "h", 0, 1.0, {"k" * 256: 1}]]), 10).plan.series


def test_unknown_kinds_are_kept_for_the_sequence_but_change_nothing() -> None:
    batch = parse_batch(body([[1, "future-kind", 1.0, {"x": 1}], [2, "start", 1.0]]), 10)
    assert [op[0] for op in batch.plan.ops] == ["future-kind", "start"]


def holes_body(records: list[list], first: int, last: int, missing: list, log: str = "events") -> dict:
    return {"log": log, "first_seq": first, "last_seq": last, "records": records, "missing": missing}


def test_records_across_declared_holes() -> None:
    records = [[i, "h", i, float(i), {"a": i}] for i in (*range(1, 4), *range(8, 11))]
    batch = parse_batch(holes_body(records, 1, 12, [[4, 7], [11, 12]]), 10)
    assert batch.missing == [(4, 7), (11, 12)]
    assert batch.plan.ops[0][3] is True  # still the fast path
    assert batch.plan.series["a"].steps.tolist() == [1, 2, 3, 8, 9, 10]
    general = parse_batch(holes_body([*records[:3], [8, "c", 1.0, {"x": 1}], *records[4:]], 1, 12,
                                     [[4, 7], [11, 12]]), 10)
    assert general.plan.series["a"].steps.tolist() == [1, 2, 3, 9, 10]
    # a hole first, a batch of holes only
    assert parse_batch(holes_body(records[3:], 1, 10, [[1, 7]]), 10).plan.row_steps == [8, 9, 10]
    only = parse_batch(holes_body([], 5, 9, [[5, 9]]), 10)
    assert only.records == [] and only.missing == [(5, 9)] and not only.plan.ops
    # a hole does not end a history row: the same step on both sides is one row
    merged = parse_batch(holes_body([[1, "h", 0, 1.0, {"a": 1}], [3, "h", 0, 2.0, {"b": 2}]], 1, 3, [[2, 2]]), 10)
    assert merged.plan.row_steps == [0] and merged.plan.row_ts == [2.0]


def test_records_and_holes_above_a_mark() -> None:
    records = [[i, "c", 1.0, {"x": i}] for i in (1, 2, 6, 7, 9)]
    batch = parse_batch(holes_body(records, 1, 10, [[3, 5], [8, 8], [10, 10]]), 10)
    assert batch.after(0) == (records, [(3, 5), (8, 8), (10, 10)])
    assert batch.after(4) == (records[2:], [(5, 5), (8, 8), (10, 10)])
    assert batch.after(6) == (records[3:], [(8, 8), (10, 10)])
    assert batch.after(8) == (records[4:], [(10, 10)])


@pytest.mark.parametrize(
    ("records", "first", "last", "missing", "message"),
    [
        ([[1, "c", 1.0, {}]], 1, 3, {"2": 3}, "'missing' must be a list"),
        ([[1, "c", 1.0, {}]], 1, 3, [[2, 3, 4]], r"missing\[0\] must be \[from_seq, to_seq\]"),
        ([[1, "c", 1.0, {}]], 1, 3, [[2, "3"]], r"missing\[0\] must be"),
        ([[1, "c", 1.0, {}]], 1, 3, [[2, True]], r"missing\[0\] must be"),
        ([[1, "c", 1.0, {}]], 1, 3, [2, 3], r"missing\[0\] must be"),
        ([[1, "c", 1.0, {}]], 1, 3, [[3, 2]], r"missing\[0\] \[3, 2\]: from_seq is greater than to_seq"),
        ([[2, "c", 1.0, {}]], 2, 4, [[1, 1], [3, 4]], r"missing\[0\] \[1, 1\] is outside first_seq..last_seq \(2..4\)"),
        ([[1, "c", 1.0, {}]], 1, 3, [[2, 5]], r"outside first_seq..last_seq \(1..3\)"),
        ([[1, "c", 1.0, {}], [5, "c", 1.0, {}]], 1, 5, [[3, 4], [2, 2]], r"missing\[1\] \[2, 2\] overlaps or comes before"),
        ([[1, "c", 1.0, {}], [5, "c", 1.0, {}]], 1, 5, [[2, 3], [3, 4]], "overlaps"),
        ([[1, "c", 1.0, {}], [5, "c", 1.0, {}]], 1, 5, [[2, 3], [4, 4]], r"missing\[1\] \[4, 4\] is adjacent to missing\[0\]"),
        ([[1, "c", 1.0, {}]], 1, 4, [[3, 4]], "1 records and 2 missing sequence numbers sent for sequence numbers 1..4"),
        ([[1, "c", 1.0, {}], [2, "c", 1.0, {}], [3, "c", 1.0, {}]], 1, 4, [[3, 4]], "3 records and 2 missing"),
        ([[1, "c", 1.0, {}], [2, "c", 1.0, {}]], 1, 4, [[2, 3]], r"record 4: expected \[4, kind, ...\] \(sequence numbers are contiguous except across the missing ranges\)"),
        ([[1, "h", 0, 1.0, {"a": 1}], [3, "h", 1, 1.0, {"a": 1}]], 1, 3, [[3, 3]], "record 2: expected"),
        ([[1, "c", 1.0, {}], [1, "c", 1.0, {}]], 1, 3, [[2, 2]], "record 3: expected"),
    ],
)
def test_bad_missing_ranges(records: list[list], first: int, last: int, missing: object, message: str) -> None:
    with pytest.raises(BadBatch, match=message):
        parse_batch(holes_body(records, first, last, missing), 10)


def test_missing_absent_null_or_empty_is_todays_format() -> None:
    records = [[1, "c", 1.0, {}], [2, "c", 1.0, {}]]
    for missing in (None, []):
        assert parse_batch(holes_body(records, 1, 2, missing), 10).missing == []
    assert parse_batch(body(records), 10).missing == []
