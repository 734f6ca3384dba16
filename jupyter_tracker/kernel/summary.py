"""``run.summary``: the run's summary as a mutable mapping, backed by the writer's
:class:`~jupyter_tracker.summaries.SummaryState` (overrides are records in the log)."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from .. import records
from ..summaries import SummaryState
from .configs import clean_value, in_records

if TYPE_CHECKING:
    from .run import Run

__all__ = ["Summary"]


class Summary(MutableMapping):
    """``run.summary``: the last value of each metric, unless rules or you say otherwise."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def _state(self) -> SummaryState:
        return self._run.synced_summary()

    def __getitem__(self, key: str) -> Any:
        return self._state().value(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        state = self._state()
        if key not in state.as_dict():
            raise KeyError(key)
        self._run.record(records.SUMMARY, {"del": [key]})

    def update(self, values: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        values = dict(values or {}, **kwargs)
        # the value sits two levels down in the record: {"set": {key: value}}
        clean = {key: clean_value("summary", key, value, levels=2) for key, value in values.items()}
        for part in in_records(clean):
            self._run.record(records.SUMMARY, {"set": part})
        self._run.synced_summary()

    def __iter__(self) -> Iterator[str]:
        return iter(self._state().as_dict())

    def __len__(self) -> int:
        return len(self._state().as_dict())

    def __repr__(self) -> str:
        return f"Summary({self._state().as_dict()!r})"

    def as_dict(self) -> dict[str, Any]:
        return self._state().as_dict()
