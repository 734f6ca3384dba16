"""Changing a run read back: ``run.summary.update({...})``, ``run.config.update({...})``, ``run.update()``.

As in wandb's Api, ``run.summary`` and ``run.config`` of a run read back are
dicts that can be changed: ``update(...)`` writes at once, ``run.summary[k] = v``
is kept until ``run.update()``. A change is new records after the run's last
one (``s`` for the summary, ``c`` for the config), never a rewrite: appended
to a local run's ``events.log`` (which ``tracker sync`` then uploads), or sent
to a server as the next batch of the run's events.
"""

from __future__ import annotations

from typing import Any

from .. import records
from ..limits import key_problem

__all__ = ["Editable", "Pending"]


class Pending:
    """Changes not written yet: summary keys set and deleted, config keys set."""

    def __init__(self) -> None:
        self.summary_set: dict[str, Any] = {}
        self.summary_del: list[str] = []
        self.config_set: dict[str, Any] = {}

    def records(self, ts: float) -> list[list]:
        out: list[list] = []
        if self.summary_set or self.summary_del:
            out.append([0, records.SUMMARY, ts, {"set": records.jsonable(self.summary_set),
                                                  "del": list(self.summary_del)}])
        if self.config_set:
            out.append([0, records.CONFIG, ts, records.jsonable(self.config_set)])
        return out

    def apply(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` as it reads with these changes."""
        if kind == "config":
            return {**data, **self.config_set}
        data = {k: v for k, v in data.items() if k not in self.summary_del}
        return {**data, **self.summary_set}


class Editable(dict):
    """A run's summary or config as read; changes go to the run (see the module)."""

    def __init__(self, owner: Any, kind: str, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._owner = owner
        self._kind = kind

    def __setitem__(self, key: str, value: Any) -> None:
        problem = key_problem(key)
        if problem:
            raise ValueError(f"run.{self._kind}[{key!r}]: {problem}")
        super().__setitem__(key, value)
        pending = self._owner._pending
        if self._kind == "config":
            pending.config_set[key] = value
        else:
            pending.summary_set[key] = value
            if key in pending.summary_del:
                pending.summary_del.remove(key)

    def __delitem__(self, key: str) -> None:
        if self._kind == "config":
            raise TypeError(f"del run.config[{key!r}]: config keys cannot be removed from a run (set another value)")
        super().__delitem__(key)
        pending = self._owner._pending
        pending.summary_set.pop(key, None)
        if key not in pending.summary_del:
            pending.summary_del.append(key)

    def __reduce__(self) -> Any:  # copies and pickles are plain dicts
        return (dict, (dict(self),))

    def update(self, values: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Set these keys and write every pending change of the run now."""
        if values is not None and not hasattr(values, "items"):
            raise TypeError(f"run.{self._kind}.update() takes a dict, got {type(values).__name__}")
        for key, value in {**dict(values or {}), **kwargs}.items():
            self[key] = value
        self._owner.update()

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        if key not in self and default:
            return default[0]
        value = self[key]
        del self[key]
        return value
