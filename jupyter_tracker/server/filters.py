"""``GET /runs?filters=...&order=...`` in SQL: the query layer's tree on the runs table.

:mod:`jupyter_tracker.query` parses wandb's filter syntax and evaluates it on
local runs; this module translates the same tree to SQLAlchemy clauses, with
the same meaning, on SQLite and on PostgreSQL:

- config and summary are JSON text columns: a value is found with the
  database's JSON functions (``json_type``/``json_extract`` on SQLite, ``->``
  on ``CAST(... AS json)`` on PostgreSQL), trying the paths a dotted key can
  mean in the query layer's order (``CASE WHEN <present> ...``);
- each test is exact about types, as in Python: a number equals a number, a
  string a string; lists and dicts compare by their JSON text; NaN matches
  nothing and infinities (stored ``{"$float": ...}``) compare as infinities;
  a missing value matches ``$ne``, ``$nin``, ``$exists: false`` and ``None``;
- every predicate is made ``NOT NULL`` (``COALESCE(..., false)``), so ``$ne``
  is exactly the negation of ``$eq``;
- strings compare by code point (``COLLATE "C"`` on PostgreSQL), regular
  expressions are Python's on SQLite (a function registered on the
  connection) and PostgreSQL's own (``~``) there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, ProgrammingError

from .. import query as q
from . import schema
from .database import reading
from .errors import BadRequest
from .payloads import ParseError, loads

__all__ = ["parse_listing", "where_clause", "order_clauses", "prepare", "run_listing", "listing_notes",
           "notes_header", "NOTES_HEADER"]

#: The response header that carries the notes of a listing (a JSON list of strings).
NOTES_HEADER = "X-Tracker-Notes"
_runs = schema.runs
_INF, _NINF, _NAN = '{"$float":"Infinity"}', '{"$float":"-Infinity"}', '{"$float":"NaN"}'
_COLUMNS = {
    "id": _runs.c.run_id,
    "display_name": _runs.c.name,
    "project": _runs.c.project,
    "group": _runs.c.run_group,
    "job_type": _runs.c.job_type,
    "notes": _runs.c.notes,
    "created_at": _runs.c.created_at,
}


def parse_listing(filters: str | None, order: str | None) -> q.Query | None:
    """The query of ``filters`` (JSON text) and ``order``; None when neither is given.

    Raises
    ------
    BadRequest
        Malformed JSON, an invalid operator or operand (the message names it).
    """
    if not filters and not order:
        return None
    try:
        parsed = loads(filters.encode()) if filters else None
        return q.build_query(parsed, order or None)
    except ParseError as exc:
        raise BadRequest(f"filters: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise BadRequest(str(exc)) from None


def _sure(expr: Any) -> Any:
    """``expr`` as a boolean that is never NULL."""
    return func.coalesce(expr, false())


class _Value:
    """A run's value of one field in SQL, with the kind tests the query layer's semantics need."""

    def __init__(self, present: Any, *, number: Any = None, nan: Any = None, string: Any = None, boolean: Any = None,
                 null_: Any = None, json_: Any = None, num: Any = None, text: Any = None, truth: Any = None,
                 raw: Any = None) -> None:
        self.present = _sure(present)
        self.number = _sure(number) if number is not None else false()
        self.nan = _sure(nan) if nan is not None else false()
        self.string = _sure(string) if string is not None else false()
        self.boolean = _sure(boolean) if boolean is not None else false()
        self.null = _sure(null_) if null_ is not None else false()
        self.json = _sure(json_) if json_ is not None else false()
        self.num = num if num is not None else null()
        self.text = text if text is not None else null()
        self.truth = _sure(truth) if truth is not None else false()
        self.raw = raw if raw is not None else null()


def _json_path(segments: tuple[str, ...]) -> str:
    for segment in segments:
        if '"' in segment:
            raise BadRequest(f"cannot filter on key {segment!r} here: SQLite paths cannot hold a double quote")
    return "$" + "".join(f'."{segment}"' for segment in segments)


def _sqlite_json(col: Any, segments: tuple[str, ...]) -> _Value:
    path = _json_path(segments)
    kind = func.json_type(col, path)
    value = func.json_extract(col, path)
    tag = and_(kind == "object", value.in_([_INF, _NINF]))
    return _Value(
        kind.isnot(None),
        number=or_(kind.in_(["integer", "real"]), tag),
        nan=and_(kind == "object", value == _NAN),
        string=kind == "text",
        boolean=kind.in_(["true", "false"]),
        null_=kind == "null",
        json_=and_(kind.in_(["array", "object"]), value.notin_([_INF, _NINF, _NAN])),
        num=case((kind.in_(["integer", "real"]), value), (and_(kind == "object", value == _INF), literal_column("9e999")),
                 (and_(kind == "object", value == _NINF), literal_column("-9e999"))),
        text=value,
        truth=kind == "true",
        raw=value,
    )


def _postgres_json(col: Any, segments: tuple[str, ...]) -> _Value:
    parent = cast(col, postgresql.JSON)
    for segment in segments[:-1]:
        parent = parent[segment]
    value = parent[segments[-1]]
    text = parent[segments[-1]].astext
    kind = func.json_typeof(value)
    raw = cast(value, Text)
    return _Value(
        value.isnot(None),
        number=or_(kind == "number", raw.in_([_INF, _NINF])),
        nan=raw == _NAN,
        string=kind == "string",
        boolean=kind == "boolean",
        null_=kind == "null",
        json_=and_(kind.in_(["array", "object"]), raw.notin_([_INF, _NINF, _NAN])),
        num=case((kind == "number", cast(text, Float)), (raw == _INF, literal_column("'Infinity'::float8")),
                 (raw == _NINF, literal_column("'-Infinity'::float8"))),
        text=text,
        truth=and_(kind == "boolean", text == "true"),
        raw=raw,
    )


class _Compiler:
    """Clauses for one dialect and one meaning of ``state`` (the effective state)."""

    def __init__(self, dialect: str, state: Any) -> None:
        self.postgres = dialect != "sqlite"
        self.state = state

    # -- values ---------------------------------------------------------------------
    def _column_value(self, name: str) -> _Value:
        col = self.state if name == "state" else _COLUMNS[name]
        if name == "created_at":
            return _Value(col.isnot(None), number=col.isnot(None), num=col)
        return _Value(col.isnot(None), string=col.isnot(None), text=col)

    def _json_values(self, fld: q.Field) -> list[_Value]:
        col = _runs.c.config if fld.source == "config" else _runs.c.summary
        make = _postgres_json if self.postgres else _sqlite_json
        return [make(col, path) for path in fld.paths]

    def _text(self, expr: Any) -> Any:
        return expr.collate("C") if self.postgres else expr

    # -- tests ----------------------------------------------------------------------------
    def _eq(self, value: _Value, operand: Any) -> Any:
        if operand is None:
            return or_(not_(value.present), value.null)
        if isinstance(operand, bool):
            return and_(value.boolean, value.truth if operand else not_(value.truth))
        if isinstance(operand, (int, float)):
            if operand != operand:
                return false()
            return and_(value.number, _sure(value.num == literal(float(operand), Float)))
        if isinstance(operand, str):
            return and_(value.string, _sure(value.text == operand))
        return and_(value.json, _sure(value.raw == q.canonical_json(operand).decode()))

    def _test(self, value: _Value, op: str, operand: Any) -> Any:
        if op == "$eq":
            return self._eq(value, operand)
        if op == "$ne":
            return not_(self._eq(value, operand))
        if op == "$in":
            return or_(false(), *[self._eq(value, item) for item in operand])
        if op == "$nin":
            return not_(or_(false(), *[self._eq(value, item) for item in operand]))
        if op == "$exists":
            return value.present if operand else not_(value.present)
        if op == "$regex":
            if self.postgres:
                return and_(value.string, _sure(value.text.op("~")(operand)))
            return and_(value.string, _sure(func.tracker_regexp(operand, value.text) == 1))
        compare: Callable[[Any, Any], Any] = {
            "$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
            "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b,
        }[op]
        if isinstance(operand, str):
            return and_(value.string, _sure(compare(self._text(value.text), operand)))
        if operand != operand:
            return false()
        return and_(value.number, _sure(compare(value.num, literal(float(operand), Float))))

    def _tags(self, op: str, operand: Any) -> Any:
        tags = _runs.c.tags
        if op == "$ne":
            return not_(self._tags("$eq", operand))
        if op == "$nin":
            return not_(self._tags("$in", operand))
        if self.postgres:
            length = func.json_array_length(cast(tags, postgresql.JSON))
        else:
            length = func.json_array_length(tags)
        some = _sure(func.coalesce(length, 0) > 0)
        if op == "$exists":
            return some if operand else not_(some)
        if op == "$eq" and operand is None:
            return not_(some)
        if op == "$eq" and isinstance(operand, (list, dict)):
            return _sure(func.coalesce(tags, "[]") == q.canonical_json(operand).decode())
        if op == "$in":
            return or_(false(), *[self._tags("$eq", item) for item in operand])
        if self.postgres:
            elements = func.json_array_elements_text(cast(tags, postgresql.JSON)).table_valued(
                column("value", Text)).render_derived()
        else:
            elements = func.json_each(tags).table_valued("value")
        element = elements.c.value
        test = self._test(_Value(true(), string=true(), text=element), op, operand)
        return exists(select(literal(1)).select_from(elements).where(test))

    def where(self, node: q.Node | None) -> Any:
        if node is None:
            return None
        if isinstance(node, q.And):
            return and_(true(), *[self.where(item) for item in node.items])
        if isinstance(node, q.Or):
            return or_(false(), *[self.where(item) for item in node.items])
        fld = node.field
        if fld.source == "tags":
            return self._tags(node.op, node.value)
        if not fld.is_json:
            return self._test(self._column_value(fld.source), node.op, node.value)
        values = self._json_values(fld)
        missing = true() if q.holds_when_missing(node) else false()
        tests = [(value.present, self._test(value, node.op, node.value)) for value in values]
        return type_coerce(case(*tests, else_=missing), Boolean)

    # -- order ---------------------------------------------------------------------------
    def order(self, order: q.Order) -> list[Any]:
        fld = order.field
        if fld.source == "tags":
            terms: list[Any] = []
        else:
            values = self._json_values(fld) if fld.is_json else [self._column_value(fld.source)]
            rank, number, text = [], [], []
            for value in values:
                rank.append((value.present, case((value.number, 0), (value.nan, 1), (value.string, 2),
                                                 (value.boolean, 3), else_=4)))
                number.append((value.present, case((value.number, value.num),
                                                   (value.boolean, case((value.truth, 1.0), else_=0.0)))))
                text.append((value.present, case((value.string, value.text))))
            ranked = case(*rank, else_=4)
            numbers = case(*number, else_=null())
            texts = self._text(case(*text, else_=null()))
            terms = [ranked.asc()] + ([numbers.desc(), texts.desc()] if order.descending
                                      else [numbers.asc(), texts.asc()])
        return terms + [_runs.c.created_at.desc(), self._text(_runs.c.run_id).asc()]


def where_clause(node: q.Node | None, state: Any, dialect: str) -> Any:
    """The ``WHERE`` clause of a filter tree (None for no filter); ``state`` is the
    SQL expression of a run's effective state."""
    return _Compiler(dialect, state).where(node)


def order_clauses(order: q.Order, state: Any, dialect: str) -> list[Any]:
    """The ``ORDER BY`` terms of an order, ties newest first then by id (as locally)."""
    return _Compiler(dialect, state).order(order)


def _regexp(pattern: str, text: Any) -> int:
    if not isinstance(text, str):
        return 0
    return 1 if q.compile_regex(pattern).search(text) else 0


def run_listing(conn: Connection, statement: Any) -> list[Any]:
    """The rows of a listing; a filter the database refuses (a regular expression
    PostgreSQL does not know) is a 400, not a 500."""
    try:
        return conn.execute(statement).all()
    except DBAPIError as exc:
        if isinstance(exc, (DataError, ProgrammingError)) or "regular expression" in str(exc.orig):
            raise BadRequest(f"the database cannot apply this filter: {str(exc.orig).splitlines()[0][:200]}") from None
        raise


def prepare(conn: Connection) -> None:
    """Give a SQLite connection the regular-expression function the filters use."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        raw.create_function("tracker_regexp", 2, _regexp, deterministic=True)


def listing_notes(
    engine: Engine, query: q.Query, project: str | None, found: bool, state: Any,
    projects: frozenset[str] | None = None,
) -> list[str]:
    """Why a listing may surprise: the project has no runs, no run has a key the
    filter (when nothing was found) or the order names. Only runs of ``projects``
    (those the token may read) are looked at, when given."""
    compiler = _Compiler(engine.dialect.name, state)
    scope = [] if project is None else [_runs.c.project == project]
    if projects is not None:
        scope.append(_runs.c.project.in_(sorted(projects)))
    fields = query.fields() if not found else [f for f in query.fields() if f == query.order.field]
    if found and not fields:
        return []
    with reading(engine) as conn:
        if conn.execute(select(_runs.c.id).where(*scope).limit(1)).first() is None:
            return [f"no runs in project {project!r}" if project is not None else "no runs on this server"]

        def has(fld: q.Field) -> bool:
            present = or_(*[value.present for value in compiler._json_values(fld)])
            return conn.execute(select(_runs.c.id).where(*scope, present).limit(1)).first() is not None

        return q.missing_key_notes(fields, has, project)


def notes_header(notes: list[str]) -> str:
    """The notes as header text (ASCII JSON)."""
    return json.dumps(notes, ensure_ascii=True)
