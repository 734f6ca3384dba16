"""The query layer on local runs: whether a run passes a filter, and in which order runs come.

The meaning of every operator is written once here (and in docs/api.md);
``server/filters.py`` builds the same meaning in SQL, and a test checks that
both select and sort the same runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .tree import And, Cond, Field, Node, Order, canonical_json, compile_regex, parse_field

__all__ = [
    "Source",
    "value_of",
    "present",
    "holds_when_missing",
    "matches",
    "sort_runs",
    "group_key",
    "group_runs",
    "missing_key_notes",
]

_MISSING = object()

#: ``source(name)`` gives a run's field (``"config"`` and ``"summary"``: its dicts).
Source = Callable[[str], Any]


def value_of(fld: Field, source: Source) -> Any:
    """The run's value of ``fld``, or the ``_MISSING`` marker (test with ``is``)."""
    if not fld.is_json:
        value = source(fld.source)
        if fld.source == "tags":
            return list(value or [])
        return _MISSING if value is None else value
    data = source(fld.source)
    for path in fld.paths:
        current = data
        for segment in path:
            if isinstance(current, dict) and segment in current:
                current = current[segment]
            else:
                break
        else:
            return current
    return _MISSING


def present(fld: Field, source: Source) -> bool:
    """Whether the run has a value for ``fld`` (tags: at least one tag)."""
    value = value_of(fld, source)
    return bool(value) if fld.source == "tags" else value is not _MISSING


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "nan" if value != value else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, dict)):
        return "json"
    return "other"


def _equal(value: Any, operand: Any) -> bool:
    kind = _kind(value)
    if operand is None:
        return kind in ("missing", "null")
    if isinstance(operand, bool):
        return kind == "bool" and value == operand
    if isinstance(operand, (int, float)):
        return kind == "number" and value == operand
    if isinstance(operand, str):
        return kind == "string" and value == operand
    return kind == "json" and canonical_json(value) == canonical_json(operand)


def _compare(value: Any, op: str, operand: Any) -> bool:
    kind = _kind(value)
    if isinstance(operand, str):
        if kind != "string":
            return False
    elif kind != "number" or operand != operand:
        return False
    if op == "$gt":
        return value > operand
    if op == "$gte":
        return value >= operand
    if op == "$lt":
        return value < operand
    return value <= operand


def _test(value: Any, op: str, operand: Any) -> bool:
    """One condition on one (non-tags) value; never raises."""
    if op == "$eq":
        return _equal(value, operand)
    if op == "$ne":
        return not _equal(value, operand)
    if op == "$in":
        return any(_equal(value, item) for item in operand)
    if op == "$nin":
        return not any(_equal(value, item) for item in operand)
    if op == "$exists":
        return (value is not _MISSING) == operand
    if op == "$regex":
        return isinstance(value, str) and compile_regex(operand).search(value) is not None
    return _compare(value, op, operand)


def holds_when_missing(cond: Cond) -> bool:
    """Whether ``cond`` holds for a run that has no value for its field (``$ne``,
    ``$nin``, ``$exists: false``, equality with None)."""
    return _test(_MISSING, cond.op, cond.value)


def _test_tags(tags: list[str], op: str, operand: Any) -> bool:
    """Tags: a list of strings; a condition holds when it holds for one of them."""
    if op == "$ne":
        return not _test_tags(tags, "$eq", operand)
    if op == "$nin":
        return not _test_tags(tags, "$in", operand)
    if op == "$exists":
        return bool(tags) == operand
    if op == "$eq" and operand is None:
        return not tags
    if op == "$eq" and isinstance(operand, (list, dict)):
        return canonical_json(tags) == canonical_json(operand)
    if op == "$in":
        return any(_test_tags(tags, "$eq", item) for item in operand)
    return any(_test(tag, op, operand) for tag in tags)


def matches(node: Node | None, source: Source) -> bool:
    """Whether the run whose fields ``source`` gives passes the filter ``node``."""
    if node is None:
        return True
    if isinstance(node, Cond):
        value = value_of(node.field, source)
        if node.field.source == "tags":
            return _test_tags(value, node.op, node.value)
        return _test(value, node.op, node.value)
    if isinstance(node, And):
        return all(matches(item, source) for item in node.items)
    return any(matches(item, source) for item in node.items)


def _rank(value: Any) -> tuple[int, Any]:
    """Where a value sorts: numbers, then NaN, strings, booleans, then the rest."""
    kind = _kind(value)
    if kind == "number":
        return 0, float(value)
    if kind == "nan":
        return 1, 0
    if kind == "string":
        return 2, value
    if kind == "bool":
        return 3, int(value)
    return 4, 0


def sort_runs(items: Sequence[Any], order: Order, source_of: Callable[[Any], Source],
              identity: Callable[[Any], tuple[float | None, str]]) -> list[Any]:
    """``items`` in ``order``; ties newest first, then by id (as the server sorts).

    ``identity(item)`` gives ``(created_at, id)``.
    """
    def tie(item: Any) -> tuple[float, str]:
        created, run_id = identity(item)
        return (-(created if created is not None else -math.inf), run_id)

    ranks: dict[int, list[tuple[Any, Any]]] = {}
    for item in sorted(items, key=tie):
        rank, value = _rank(value_of(order.field, source_of(item)))
        ranks.setdefault(rank, []).append((value, item))
    out = []
    for rank in sorted(ranks):
        ranks[rank].sort(key=lambda pair: pair[0], reverse=order.descending)
        out.extend(item for _, item in ranks[rank])
    return out


def group_key(value: Any) -> Any:
    """A hashable group for a value (lists and dicts by their JSON text; missing is None)."""
    if value is _MISSING:
        return None
    if isinstance(value, (list, dict)):
        return canonical_json(value).decode()
    return value


def group_runs(items: Iterable[Any], key: str, source_of: Callable[[Any], Source]) -> dict[Any, list[Any]]:
    """``{value: [items...]}`` by the value of ``key`` (``"lr"`` = ``"config.lr"``,
    ``"group"``, ``"job_type"`` ...), groups in order of first appearance; runs without
    the key are under ``None``."""
    fld = parse_field(key)
    groups: dict[Any, list[Any]] = {}
    for item in items:
        groups.setdefault(group_key(value_of(fld, source_of(item))), []).append(item)
    return groups


def missing_key_notes(fields: Iterable[Field], has_key: Callable[[Field], bool], project: str | None) -> list[str]:
    """Messages for the config and summary keys no run (of ``project``) has; ``has_key`` tells."""
    scope = f" of project {project!r}" if project is not None else ""
    return [f"no run{scope} has {fld.label}" for fld in fields if not has_key(fld)]
