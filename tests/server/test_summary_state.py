"""A SummaryState survives its trip through the database unchanged."""

from __future__ import annotations

import math

from jupyter_tracker.records import jsonable
from jupyter_tracker.server.summary_state import dump_summary_state, load_summary_state
from jupyter_tracker.summaries import SummaryState


def test_round_trip_keeps_every_rule_and_value() -> None:
    state = SummaryState()
    state.define({"name": "val/*", "summary": "max", "step_metric": None})
    state.add_rows([{"loss": 1.0, "val/acc": 0.2, "z": math.nan}], 0)
    state.define({"name": "loss", "summary": "mean"})
    state.add_rows([{"loss": 3.0, "val/acc": math.inf}, {"loss": -math.inf}], 2)
    state.set_manual({"best": 7, "nan": math.nan})
    state.delete_manual(["z"])
    copy = load_summary_state(dump_summary_state(state))
    assert jsonable(copy.as_dict()) == jsonable(state.as_dict())
    assert list(copy.as_dict()) == list(state.as_dict())  # first-seen order
    for name in ("rows", "last_step", "rules", "deleted"):
        assert getattr(copy, name) == getattr(state, name)
    # and it goes on the same way
    for target in (state, copy):
        target.add_rows([{"loss": 5.0, "new": 1}], 3)
    assert jsonable(copy.as_dict()) == jsonable(state.as_dict())


def test_empty() -> None:
    assert load_summary_state(None).as_dict() == {}
    assert load_summary_state(dump_summary_state(SummaryState())).as_dict() == {}
