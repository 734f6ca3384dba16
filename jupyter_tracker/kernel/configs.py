"""``run.config``: the run's hyperparameters, a dict with attribute access."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import orjson

from ..limits import MAX_JSON_DEPTH, MAX_RECORD_BYTES, depth_problem
from ..records import jsonable

__all__ = ["Config", "MAX_VALUE_BYTES", "as_mapping", "clean_value", "in_records"]

#: The largest encoded config value accepted (a config is not a place for data).
MAX_VALUE_BYTES = 1 << 20


def clean_value(what: str, key: Any, value: Any, levels: int = 1) -> Any:
    """``value`` as it is stored (JSON types only), or an error naming ``what`` and ``key``.

    ``levels``: how deep the value sits in its record's payload (1 for a config
    key, 2 for a summary value), so that the payload keeps within
    :data:`~jupyter_tracker.limits.MAX_JSON_DEPTH`. Refused: a key that is not a
    non-empty string, text that cannot be encoded as UTF-8 (a lone surrogate),
    a value nested too deep, one larger than :data:`MAX_VALUE_BYTES` encoded.
    """
    if not isinstance(key, str) or not key:
        raise TypeError(f"{what} keys must be non-empty strings, got {key!r}")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{what} key {key!r} cannot be encoded as UTF-8 (a lone surrogate?)") from None
    clean = jsonable(value)
    problem = depth_problem(clean, MAX_JSON_DEPTH - levels)
    if problem is not None:
        raise ValueError(
            f"{what} value {key!r} {problem} (a {what} holds at most {MAX_JSON_DEPTH} levels "
            f"of nesting, itself included)"
        )
    try:
        size = len(orjson.dumps(clean))
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"{what} value {key!r} cannot be stored as JSON ({exc})") from None
    if size > MAX_VALUE_BYTES:
        raise ValueError(
            f"{what} value {key!r} is {size / 1e6:.1f} MB encoded; the limit is "
            f"{MAX_VALUE_BYTES / 1e6:.0f} MB: save large objects with run.save() instead"
        )
    return clean


def in_records(values: dict[str, Any], budget: int = MAX_RECORD_BYTES // 2) -> Iterator[dict[str, Any]]:
    """``values`` (cleaned) in parts whose encoding stays within ``budget`` bytes,
    so that one ``config.update``/``summary.update`` of many large values makes
    records a server accepts (readers apply the parts in order: the same result)."""
    part: dict[str, Any] = {}
    size = 0
    for key, value in values.items():
        grows = len(orjson.dumps({key: value}))
        if part and size + grows > budget:
            yield part
            part, size = {}, 0
        part[key] = value
        size += grows
    if part:
        yield part


def as_mapping(value: Any, what: str = "config") -> Mapping:
    """A dict, an ``argparse.Namespace`` or ``None`` as a mapping."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":
        return vars(value)
    raise TypeError(f"{what} must be a dict (or argparse.Namespace), got {type(value).__name__}")


class Config(MutableMapping):
    """Dict-like config with attribute access.

    Setting a key that already holds a *different* value raises ``ValueError``
    unless ``update(..., allow_val_change=True)`` is used; setting the same
    value again is a no-op, so re-running a notebook cell does not fail.
    """

    __slots__ = ("_data", "_emit", "_allow_changes")

    def __init__(self, emit: Callable[[dict], None] | None = None) -> None:
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_emit", emit)
        object.__setattr__(self, "_allow_changes", False)

    def set_allow_val_change(self, allow: bool) -> None:
        """Let every later update change values (``init(allow_val_change=True)``)."""
        object.__setattr__(self, "_allow_changes", bool(allow))

    # -- mapping --------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"config keys cannot be deleted (tried {key!r}); set a new value instead")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    # -- attributes -----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    # -- updates --------------------------------------------------------------
    def update(self, d: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys; ``allow_val_change=True`` lets existing keys change."""
        items = dict(as_mapping(d))
        items.update(kwargs)
        changes: dict[str, Any] = {}
        for key, value in items.items():
            clean = clean_value("config", key, value)
            if key in self._data and self._data[key] != clean:
                if not (allow_val_change or self._allow_changes):
                    raise ValueError(
                        f"config key {key!r} already holds {self._data[key]!r}; use "
                        f"config.update({{{key!r}: {value!r}}}, allow_val_change=True) to change it"
                    )
            elif key in self._data:
                continue
            changes[key] = clean
        if changes:
            self._data.update(changes)
            if self._emit is not None:
                for part in in_records(changes):
                    self._emit(part)

    def setdefaults(self, d: Any) -> None:
        """Set the keys of ``d`` that are not set yet."""
        self.update({k: v for k, v in as_mapping(d).items() if k not in self._data})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def _load(self, values: Mapping[str, Any]) -> None:
        """Fill from a replayed log without emitting records."""
        self._data.update(values)

