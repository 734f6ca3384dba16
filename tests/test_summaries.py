import math

from jupyter_tracker.summaries import SummaryState, match


def test_last_value_by_default_and_key_order_of_first_appearance():
    s = SummaryState()
    s.add_rows([{"b": 1.0, "a": 2.0}, {"a": 3.0}, {"c": 5.0, "b": 4.0}])
    assert s.as_dict() == {"b": 4.0, "a": 3.0, "c": 5.0}
    assert list(s.as_dict()) == ["b", "a", "c"]


def test_rules_min_max_mean_first_none_with_globs():
    s = SummaryState()
    s.define({"name": "loss", "summary": "min"})
    s.define({"name": "acc", "summary": "max"})
    s.define({"name": "val/*", "summary": "mean"})
    s.define({"name": "lr", "summary": "first"})
    s.define({"name": "noise", "summary": "none"})
    rows = [
        {"loss": 3.0, "acc": 0.1, "val/a": 1.0, "lr": 0.1, "noise": 9.0},
        {"loss": 1.0, "acc": 0.5, "val/a": 3.0, "lr": 0.05},
        {"loss": 2.0, "acc": 0.3, "val/a": 5.0, "lr": 0.01},
    ]
    s.add_rows(rows)
    assert s.as_dict() == {"loss": 1.0, "acc": 0.5, "val/a": 3.0, "lr": 0.1}


def test_nan_does_not_poison_min_max_mean_but_last_shows_it():
    s = SummaryState()
    s.define({"name": "m*", "summary": "min"})
    s.define({"name": "x", "summary": "mean"})
    s.add_rows([{"m": 2.0, "x": 1.0, "l": 1.0}, {"m": math.nan, "x": math.nan, "l": math.nan}, {"m": 1.0, "x": 3.0}])
    out = s.as_dict()
    assert out["m"] == 1.0 and out["x"] == 2.0 and math.isnan(out["l"])


def test_only_nan_under_a_rule_gives_nan():
    s = SummaryState()
    s.define({"name": "x", "summary": "max"})
    s.add_rows([{"x": math.nan}])
    assert math.isnan(s.as_dict()["x"])


def test_manual_override_and_delete():
    s = SummaryState()
    s.add_rows([{"a": 1.0}])
    s.apply("s", {"set": {"a": 10, "best": 0.9}})
    s.add_rows([{"a": 2.0}])
    assert s.as_dict() == {"a": 10, "best": 0.9}
    s.apply("s", {"del": ["a"]})
    assert s.as_dict() == {"best": 0.9}


def test_rule_defined_later_applies_to_keys_already_seen_from_then_on():
    s = SummaryState()
    s.add_rows([{"loss": 0.1}])
    s.define({"name": "loss", "summary": "max"})
    s.add_rows([{"loss": 0.5}, {"loss": 0.2}])
    assert s.value("loss") == 0.5


def test_fast_batches_find_last_values_of_keys_missing_from_recent_rows():
    s = SummaryState()
    s.add_rows([{"train": 1.0, "val": 7.0}])
    rows = [{"train": float(i)} for i in range(100)]
    rows[10]["val"] = 8.0
    s.add_rows(rows, check_new=False)
    assert s.as_dict() == {"train": 99.0, "val": 8.0}
    assert s.rows == 101


def test_step_metrics_and_glob_match():
    s = SummaryState()
    s.define({"name": "val/*", "step_metric": "epoch"})
    s.add_rows([{"val/loss": 1.0, "epoch": 1, "train/loss": 2.0}])
    assert s.step_metrics() == {"val/loss": "epoch"}
    assert match("val/*", "val/x") and not match("val/*", "train/x") and match("a", "a")


def test_state_round_trips_through_a_dict_into_an_independent_copy():
    from jupyter_tracker.summaries import SummaryState

    state = SummaryState()
    state.define({"name": "acc", "summary": "max"})
    state.add_rows([{"acc": 0.5, "loss": 2.0}], 0)
    copy = SummaryState.from_dict(state.to_dict())
    copy.add_rows([{"acc": 0.9, "loss": 1.0}], 1)
    assert state.as_dict() == {"acc": 0.5, "loss": 2.0} and copy.as_dict() == {"acc": 0.9, "loss": 1.0}
    assert copy.rows == 2 and state.rows == 1
