"""The query layer's tree: what a wandb-style filter, an order and a group-by key name.

:func:`build_query` parses ``Api.runs``' arguments once into :class:`Query`
(a tree of :class:`Cond`, :class:`And` and :class:`Or`, and an
:class:`Order`), checking every operator and operand; evaluation is in
:mod:`.evaluate` (local runs) and ``server/filters.py`` (SQL).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import orjson

from ..limits import STATES
from ..records import jsonable

__all__ = [
    "Field",
    "Cond",
    "And",
    "Or",
    "Node",
    "Order",
    "Query",
    "NEWEST_FIRST",
    "MAX_DEPTH",
    "OPERATORS",
    "RUN_FIELDS",
    "parse_field",
    "parse_filters",
    "parse_order",
    "build_query",
    "split_path",
    "to_filters",
    "compile_regex",
    "canonical_json",
]

#: Field operators, and the operators that combine filters.
OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$exists")
_COMBINERS = ("$and", "$or")
#: The run's own fields (not config or summary), with the type of their values.
RUN_FIELDS = {
    "id": "string",
    "display_name": "string",
    "project": "string",
    "group": "string",
    "job_type": "string",
    "tags": "tags",
    "state": "string",
    "notes": "string",
    "created_at": "number",
}
_ALIASES = {"name": "display_name", "displayName": "display_name", "jobType": "job_type", "createdAt": "created_at"}
_SOURCES = {"config": "config", "summary_metrics": "summary", "summary": "summary", "summaryMetrics": "summary"}
#: Nested keys with more dots than this are looked up as written and fully split only.
_MAX_SPLIT_DOTS = 4


@dataclass(frozen=True)
class Field:
    """What a key names: a run field (``source`` is its name, ``key`` empty) or a
    key of the run's ``config`` or ``summary`` (``key`` as written after the prefix)."""

    source: str
    key: str = ""
    text: str = ""

    @property
    def is_json(self) -> bool:
        return self.source in ("config", "summary")

    @property
    def kind(self) -> str:
        """``json``, ``string``, ``number`` or ``tags``."""
        return "json" if self.is_json else RUN_FIELDS[self.source]

    @property
    def paths(self) -> tuple[tuple[str, ...], ...]:
        """The ways the key can be found in a nested dict, tried in order."""
        return split_path(self.key, wandb_value=self.source == "config") if self.is_json else ()

    @property
    def label(self) -> str:
        """How messages name it: ``config key 'lr'``, ``summary metric 'val/acc'``, ``group``."""
        if self.source == "config":
            return f"config key {self.key!r}"
        if self.source == "summary":
            return f"summary metric {self.key!r}"
        return self.source


@dataclass(frozen=True)
class Cond:
    """One test of one field: ``op`` is one of :data:`OPERATORS`."""

    field: Field
    op: str
    value: Any


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Union[Cond, And, Or]


@dataclass(frozen=True)
class Order:
    """Sort by ``field``; runs without a value of the field's type come last either way."""

    field: Field
    descending: bool = True

    @property
    def text(self) -> str:
        return ("-" if self.descending else "+") + self.field.text


NEWEST_FIRST = Order(Field("created_at", text="created_at"), True)


@dataclass(frozen=True)
class Query:
    """A parsed filter (``where``, None for every run) and an order."""

    where: Node | None = None
    order: Order = NEWEST_FIRST

    def to_filters(self) -> dict[str, Any] | None:
        """The filter as a wandb-style dict again (what a client sends a server)."""
        return None if self.where is None else to_filters(self.where)

    def fields(self) -> list[Field]:
        """The config and summary fields the filter and the order name, once each."""
        out: dict[Field, None] = {}

        def walk(node: Node | None) -> None:
            if isinstance(node, Cond):
                if node.field.is_json:
                    out[node.field] = None
            elif node is not None:
                for item in node.items:
                    walk(item)

        walk(self.where)
        if self.order.field.is_json:
            out[self.order.field] = None
        return list(out)


# -- parsing ---------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def split_path(key: str, wandb_value: bool = False) -> tuple[tuple[str, ...], ...]:
    """The paths a dotted key can mean in nested dicts, the key as written first.

    ``"a.b.c"`` gives ``("a.b.c",)``, ``("a", "b.c")``, ``("a.b", "c")`` and
    ``("a", "b", "c")``: a key holding dots is found whether it was logged as
    one key or as nested dicts. With ``wandb_value``, a trailing ``.value``
    (wandb's ``config.lr.value``) may also be left out.
    """
    parts = key.split(".")
    dots = len(parts) - 1
    if dots == 0:
        out: list[tuple[str, ...]] = [(key,)]
    elif dots > _MAX_SPLIT_DOTS:
        out = [(key,), tuple(parts)]
    else:
        splits = []
        for mask in range(1 << dots):
            segments, current = [], parts[0]
            for i in range(dots):
                if mask >> i & 1:
                    segments.append(current)
                    current = parts[i + 1]
                else:
                    current += "." + parts[i + 1]
            segments.append(current)
            splits.append(tuple(segments))
        out = sorted(splits, key=lambda s: (len(s), [len(x) for x in s]))
    if wandb_value and parts[-1] == "value" and dots:
        out += [p for p in split_path(key[: -len(".value")]) if p not in out]
    return tuple(out)


def parse_field(key: Any) -> Field:
    """The field a filter, order or group-by key names.

    Raises
    ------
    TypeError
        The key is not a string.
    ValueError
        An empty key, or a prefix without a key (``"config."``).
    """
    if not isinstance(key, str):
        raise TypeError(f"filter keys must be strings, got {key!r}")
    if not key:
        raise ValueError("empty filter key")
    name = _ALIASES.get(key, key)
    if name in RUN_FIELDS:
        return Field(name, text=key)
    prefix, dot, rest = key.partition(".")
    if dot and prefix in _SOURCES:
        if not rest:
            raise ValueError(f"filter key {key!r} names no key after {prefix + '.'!r}")
        return Field(_SOURCES[prefix], rest, key)
    if key in _SOURCES:
        raise ValueError(f"filter key {key!r} needs a key after it, e.g. {key + '.lr'!r}")
    if key.startswith("$"):
        raise ValueError(f"invalid operator {key!r}: use one of {', '.join(_COMBINERS)} here")
    return Field("config", key, key)


def _operand(value: Any, where: str) -> Any:
    """``value`` as plain JSON types (numpy scalars become numbers)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            raise ValueError(f"{where}: {value} is too large for a number a run can hold") from None
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _operand(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_operand(v, where) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return _operand(item(), where)
    raise TypeError(f"{where}: {value!r} ({type(value).__name__}) is not a value a filter can hold")


def _time(value: Any, where: str) -> Any:
    """A ``created_at`` operand: a number, or an ISO 8601 date (UTC unless it says otherwise)."""
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, _dt.date):
        moment = _dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not a time (seconds since the epoch or an ISO 8601 date)") from None
    else:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _check(fld: Field, op: str, value: Any) -> Any:
    where = f"{op!r} for {fld.text!r}"
    if op in ("$in", "$nin"):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, set, frozenset)):
            raise ValueError(f"{where} takes a list of values, got {value!r}")
        if fld.source == "created_at":
            value = [_time(v, where) for v in value]
        values = [_operand(v, where) for v in value]
        if fld.source == "state":
            for v in values:
                _check_state(v, where)
        return tuple(values)
    if op == "$regex":
        if not isinstance(value, str):
            raise ValueError(f"{where} takes a pattern string, got {value!r}")
        try:
            compile_regex(value)
        except re.error as exc:
            raise ValueError(f"{where}: bad pattern {value!r} ({exc})") from None
        return value
    if op == "$exists":
        if not isinstance(value, bool):
            raise ValueError(f"{where} takes true or false, got {value!r}")
        return value
    if fld.source == "created_at":
        value = _time(value, where)
    value = _operand(value, where)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{where} compares with a number or a string, got {value!r}")
    elif fld.source == "state":
        _check_state(value, where)
    return value


def _check_state(value: Any, where: str) -> None:
    if isinstance(value, str) and value not in STATES:
        raise ValueError(f"{where}: no run state is called {value!r} (states: {', '.join(STATES)})")


def _parse_value(fld: Field, value: Any) -> list[Node]:
    if isinstance(value, Mapping) and any(isinstance(k, str) and k.startswith("$") for k in value):
        plain = [k for k in value if not (isinstance(k, str) and k.startswith("$"))]
        if plain:
            raise ValueError(f"filter on {fld.text!r} mixes operators and plain keys ({plain[0]!r})")
        out: list[Node] = []
        for op, operand in value.items():
            if op not in OPERATORS:
                raise ValueError(f"invalid operator {op!r} for {fld.text!r}: use one of {', '.join(OPERATORS)}")
            out.append(Cond(fld, op, _check(fld, op, operand)))
        if not out:
            raise ValueError(f"filter on {fld.text!r} is an empty dict")
        return out
    return [Cond(fld, "$eq", _check(fld, "$eq", value))]


#: How deep ``$and``/``$or`` may nest (a filter is written by a person or a UI).
MAX_DEPTH = 32


def _parse_doc(doc: Any, where: str, depth: int = 0) -> Node:
    if depth > MAX_DEPTH:
        raise ValueError(f"filters nest $and/$or more than {MAX_DEPTH} levels deep")
    if not isinstance(doc, Mapping):
        raise TypeError(f"{where} must be a dict of filters, got {type(doc).__name__}")
    items: list[Node] = []
    for key, value in doc.items():
        if isinstance(key, str) and key.startswith("$"):
            if key not in _COMBINERS:
                raise ValueError(f"invalid operator {key!r}: at the top of a filter use {' or '.join(_COMBINERS)}")
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError(f"{key!r} takes a non-empty list of filter dicts")
            parts = tuple(_parse_doc(part, f"each item of {key!r}", depth + 1) for part in value)
            items.append(And(parts) if key == "$and" else Or(parts))
        else:
            items.extend(_parse_value(parse_field(key), value))
    return items[0] if len(items) == 1 else And(tuple(items))


def parse_filters(filters: Mapping[str, Any] | None) -> Node | None:
    """The tree of a wandb-style filter dict (``None`` for no filter).

    Raises
    ------
    ValueError
        An invalid operator (named), a bad operand, a state that does not exist.
    TypeError
        Not a dict, or a value no filter can hold.
    """
    if filters is None:
        return None
    node = _parse_doc(filters, "filters")
    return None if node == And(()) else node


def parse_order(order: str | None) -> Order:
    """``"-summary_metrics.val/acc"`` (descending), ``"+config.lr"`` or ``"config.lr"``
    (ascending, as in wandb); ``None`` is newest first (``"-created_at"``)."""
    if order is None:
        return NEWEST_FIRST
    if not isinstance(order, str) or not order.strip("+- "):
        raise ValueError(f"order must be a key with an optional '+' or '-' in front, got {order!r}")
    text = order.strip()
    descending = text.startswith("-")
    return Order(parse_field(text.lstrip("+-")), descending)


def build_query(filters: Mapping[str, Any] | None = None, order: str | None = None, *,
                project: str | None = None, group: str | None = None,
                tags: str | Iterable[str] | None = None, state: str | Iterable[str] | None = None) -> Query:
    """One query from ``Api.runs``' arguments: ``filters`` and the shortcuts, all of which must hold.

    ``tags`` keeps runs that have every tag given; ``state`` one state or a list of them.
    """
    items: list[Node] = []
    for name, value in (("project", project), ("group", group)):
        if value is not None:
            items.append(Cond(parse_field(name), "$eq", _check(parse_field(name), "$eq", value)))
    if tags is not None:
        for tag in [tags] if isinstance(tags, str) else list(tags):
            if not isinstance(tag, str):
                raise TypeError(f"tags must be strings, got {tag!r}")
            items.append(Cond(parse_field("tags"), "$eq", tag))
    if state is not None:
        states = [state] if isinstance(state, str) else list(state)
        items.append(Cond(parse_field("state"), "$in", _check(parse_field("state"), "$in", states)))
    node = parse_filters(filters)
    if node is not None:
        items.append(node)
    where = None if not items else items[0] if len(items) == 1 else And(tuple(items))
    return Query(where, parse_order(order))


def to_filters(node: Node) -> dict[str, Any]:
    """A filter dict that parses back to ``node``."""
    if isinstance(node, Cond):
        value = list(node.value) if isinstance(node.value, tuple) else node.value
        return {node.field.text: {node.op: value}}
    return {"$and" if isinstance(node, And) else "$or": [to_filters(item) for item in node.items]}


def canonical_json(value: Any) -> bytes:
    """The JSON text lists and dicts are compared by (the server compares the same text)."""
    return orjson.dumps(jsonable(value))
