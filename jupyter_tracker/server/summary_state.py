"""A run's :class:`~jupyter_tracker.summaries.SummaryState` as JSON for the database.

The server feeds the same ``SummaryState`` the local reader uses with the same
records in the same order, and keeps it between batches as a JSON document
(no pickle), so ``GET /runs/{id}`` shows the summary ``tracker.Api`` would.
"""

from __future__ import annotations

from ..summaries import SummaryState
from .payloads import dumps_column, loads_column

__all__ = ["dump_summary_state", "load_summary_state"]


def dump_summary_state(state: SummaryState) -> str:
    """The state as JSON text (first-seen key order kept)."""
    return dumps_column(state.to_dict())


def load_summary_state(text: str | None) -> SummaryState:
    """Rebuild a state written by :func:`dump_summary_state` (a new one for ``None``)."""
    return SummaryState.from_dict(loads_column(text, {}))
