"""Checking and planning batches of records (no server needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_tracker.server.batches import BadBatch, Planner, parse_batch, plan


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
    assert result.row_steps.tolist() == [0, 1]
    assert result.row_ts.tolist() == [2.0, 4.0]
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
        ([[1, "h", -1, 1.0, {"a": 1}]], "the step must be an integer from 0 to 9223372036854775807"),
        ([[1, "h", 1.5, 1.0, {"a": 1}]], "integer from 0"),
        ([[1, "h", 2**63, 1.0, {"a": 1}]], "integer from 0"),
        ([[1, "h", 0, 1.0, {"a\x00b": 1}]], "NUL"),
        ([[1, "c", 1.0, {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]],
         "record 1: the payload of the 'c' record is nested more than 64 levels deep"),
        ([[1, "meta", 1.0, {"name": "x" * 1025}]], "record 1: 'name' is 1025 characters; the limit is 1024"),
        ([[1, "meta", 1.0, {"tags": ["a"] * 1001}]], "1001 tags; the limit is 1000"),
        ([[1, "meta", 1.0, {"notes": "n\x00"}]], "'notes' holds a NUL"),
        ([[1, "start"]], "timestamp"),
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
        parse_batch(body(records, "system" if records[0][1] == "sys" else "events"), 100)


@pytest.mark.parametrize(
    ("records", "log", "message"),
    [
        ([[1, "h", 0, 1.0, {"a": 1}]], "system", "record 1: 'h' records belong in the events log, not the system log"),
        ([[1, "c", 1.0, {"a": 1}]], "system", "record 1: 'c' records belong in the events log, not the system log"),
        ([[1, "sys", 1.0, {"a": 1}]], "events", "record 1: 'sys' records belong in the system log, not the events log"),
    ],
)
def test_records_of_the_other_log_are_refused(records: list[list], log: str, message: str) -> None:
    with pytest.raises(BadBatch, match=message):
        parse_batch(body(records, log), 100)


@pytest.mark.parametrize("records", [[[2, "h", 0, 1.0, {"a": 1}]], [[1, "h", 0, 1.0, {"a": 1}], [3, "h", 1, 1.0, {"a": 1}]]])
def test_sequence_numbers_must_follow_first_seq(records: list[list]) -> None:
    value = {"log": "events", "first_seq": 1, "last_seq": len(records), "records": records}
    with pytest.raises(BadBatch, match="contiguous"):
        parse_batch(value, 100)


def test_key_limits() -> None:
    with pytest.raises(BadBatch, match="3 keys in one record; the limit is 2"):
        parse_batch(body([[1, "h", 0, 1.0, {"a": 1, "b": 2, "c": 3}]]), 2)
    long_key = "k" * 257
    with pytest.raises(BadBatch, match="record 1: key 'k{40}'... is 257 characters; the limit is 256"):
        parse_batch(body([[1, "h", 0, 1.0, {long_key: 1}]]), 10)
    with pytest.raises(BadBatch, match="the limit is 256"):
        parse_batch(body([[1, "sys", 1.0, {long_key: 1}]], "system"), 10)
    assert parse_batch(body([[1, "h", 0, 1.0, {"k" * 256: 1}]]), 10).plan.series


def test_unknown_kinds_are_kept_for_the_sequence_but_change_nothing() -> None:
    records = [[1, "future-kind", 1.0, {"x": 1}], [2, "start", 1.0], [3, "bare"], [4, "odd", "ts?", [1]],
               [5, "h", 0, 1.0, {"a": 1}], [6, "later"], [7, "h", 0, 2.0, {"b": 2}]]
    batch = parse_batch(body(records), 10)
    assert [op[0] for op in batch.plan.ops] == ["start", "h"]
    assert batch.plan.row_steps.tolist() == [0] and sorted(batch.plan.series) == ["a", "b"]
    assert [op[0] for op in parse_batch(body([[1, "bare"], [2, "x", 1.0]], "system"), 10).plan.ops] == []


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
    assert parse_batch(holes_body(records[3:], 1, 10, [[1, 7]]), 10).plan.row_steps.tolist() == [8, 9, 10]
    only = parse_batch(holes_body([], 5, 9, [[5, 9]]), 10)
    assert list(only.slices()) == [[]] and only.missing == [(5, 9)] and not only.plan.ops
    # a hole does not end a history row: the same step on both sides is one row
    merged = parse_batch(holes_body([[1, "h", 0, 1.0, {"a": 1}], [3, "h", 0, 2.0, {"b": 2}]], 1, 3, [[2, 2]]), 10)
    assert merged.plan.row_steps.tolist() == [0] and merged.plan.row_ts.tolist() == [2.0]


def test_records_and_holes_above_a_mark() -> None:
    records = [[i, "c", 1.0, {"x": i}] for i in (1, 2, 6, 7, 9)]
    batch = parse_batch(holes_body(records, 1, 10, [[3, 5], [8, 8], [10, 10]]), 10)
    assert batch.holes_after(0) == [(3, 5), (8, 8), (10, 10)]
    assert batch.holes_after(4) == [(5, 5), (8, 8), (10, 10)]
    assert batch.holes_after(6) == [(8, 8), (10, 10)]
    assert batch.holes_after(8) == [(10, 10)]
    for mark, planned in ((0, [1, 2, 6, 7, 9]), (4, [6, 7, 9]), (6, [7, 9]), (9, []), (10, [])):
        planner = Planner(1, 10, batch.missing, apply_from=mark + 1)
        planner.feed(records[:3])  # in two slices
        planner.feed(records[3:])
        assert [op[1] for op in planner.finish(10).ops] == planned


def test_records_below_the_mark_are_checked_but_not_planned() -> None:
    records = [[1, "h", 0, 1.0, {"a": 1}], [2, "h", 5, 1.0, {"a": "x"}], [3, "h", 6, 1.0, {"a": 1}]]
    planner = Planner(1, 10, apply_from=3)
    with pytest.raises(BadBatch, match="record 2: the value of 'a' is not a number"):
        planner.feed(records)
    records[1][4]["a"] = 2
    planner = Planner(1, 10, apply_from=3)
    planner.feed(records)
    result = planner.finish(3)
    assert result.row_steps.tolist() == [6] and result.series["a"].values.tolist() == [1.0]
    backwards = [[1, "h", 5, 1.0, {"a": 1}], [2, "h", 4, 1.0, {"a": 1}]]
    with pytest.raises(BadBatch, match="record 2: step 4 is lower than the step before it"):
        Planner(1, 10, apply_from=2).feed(backwards)


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_slices_plan_as_one_list(size: int) -> None:
    """Rows that span slices, fast and general slices mixed, holes: the same plan in any slicing."""
    records = [
        [1, "h", 0, 1.0, {"a": 1, "b": 2}], [2, "h", 0, 2.0, {"a": 3}], [3, "h", 1, 3.0, {"a": 4, "b": 5}],
        [4, "h", 2, 4.0, {"a": 6, "b": 7}], [5, "h", 3, 5.0, {"a": 8, "b": 9}], [6, "c", 5.5, {"x": 1}],
        [7, "h", 3, 6.0, {"b": 10}], [9, "h", 3, 7.0, {"c": 11}], [10, "h", 4, 8.0, {"a": 12, "b": 13}],
        [11, "h", 5, 9.0, {"a": 14, "b": 15}], [12, "h", 6, 10.0, {"a": 16, "b": 17}],
    ]
    whole = plan(records, 1, 10, [(8, 8)])
    planner = Planner(1, 10, [(8, 8)])
    ops = []
    for start in range(0, len(records), size):
        planner.feed(records[start : start + size])
        ops += planner.take_ops()
    parts = planner.finish(12)
    got, want = as_lists(parts), as_lists(whole)
    assert got["series"] == want["series"] and got["row_steps"] == want["row_steps"] == [0, 1, 2, 3, 4, 5, 6]
    assert got["row_ts"] == want["row_ts"]
    assert want["series"]["b"][1] == [2.0, 5.0, 7.0, 10.0, 13.0, 15.0, 17.0]
    flat = [data for op in ops if op[0] == "h" for data in op[1]]
    assert flat == [r[4] for r in records if r[1] == "h"]


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
        ([[1, "c", 1.0, {}], [2, "c", 1.0, {}], [3, "c", 1.0, {}]], 1, 4, [[3, 4]],
         r"record 3 is inside the missing range \[3, 4\]"),
        ([[1, "c", 1.0, {}], [2, "c", 1.0, {}], [4, "c", 1.0, {}], [5, "c", 1.0, {}]], 1, 4, [[3, 3]],
         "more records than sequence numbers 1..4 hold"),
        ([[1, "c", 1.0, {}], [2, "c", 1.0, {}]], 1, 4, [[2, 3]], r"record 2 is inside the missing range \[2, 3\]"),
        ([[1, "c", 1.0, {}], [5, "c", 1.0, {}]], 1, 5, [[2, 3]], r"record 4: expected \[4, kind, ...\] \(sequence numbers are contiguous except across the missing ranges\)"),
        ([[1, "h", 0, 1.0, {"a": 1}], [3, "h", 1, 1.0, {"a": 1}]], 1, 3, [[3, 3]], "record 3 is inside the missing range"),
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
