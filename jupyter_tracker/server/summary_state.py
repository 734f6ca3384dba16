"""A run's :class:`~jupyter_tracker.summaries.SummaryState` as JSON for the database.

The server feeds the same ``SummaryState`` the local reader uses with the same
records in the same order, and keeps it between batches as a JSON document
(no pickle), so ``GET /runs/{id}`` shows the summary ``tracker.Api`` would.
"""

from __future__ import annotations

from typing import Any

from ..summaries import SummaryState
from .payloads import dumps_column, loads_column

__all__ = ["dump_summary_state", "load_summary_state"]


def dump_summary_state(state: SummaryState) -> str:
    """The state as JSON text (first-seen key order kept)."""
    return dumps_column(
        {
            "last": state.last,
            "first": state.first,
            "stats": state.stats,
            "rules": state.rules,
            "specs": state.specs,
            "overrides": state.overrides,
            "deleted": sorted(state.deleted),
            "rows": state.rows,
            "last_step": state.last_step,
        }
    )


def load_summary_state(text: str | None) -> SummaryState:
    """Rebuild a state written by :func:`dump_summary_state` (a new one for ``None``)."""
    state = SummaryState()
    data: dict[str, Any] = loads_column(text, {})
    if not data:
        return state
    state.last = data.get("last") or {}
    state.first = data.get("first") or {}
    state.stats = data.get("stats") or {}
    state.rules = data.get("rules") or {}
    state.specs = data.get("specs") or []
    state.overrides = data.get("overrides") or {}
    state.deleted = set(data.get("deleted") or [])
    state._seen = set(state.first)  # keys are seen exactly when they get a first value
    state.rows = int(data.get("rows") or 0)
    state.last_step = data.get("last_step")
    return state
