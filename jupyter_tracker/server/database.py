"""Connecting to the store: SQLite (WAL) or PostgreSQL (psycopg 3).

Write transactions go through :func:`writing`: on SQLite they start with
``BEGIN IMMEDIATE`` so that concurrent writers (threads or worker processes)
queue on the database lock instead of failing half-way; on PostgreSQL the
callers lock the run row they change (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url

__all__ = ["open_engine", "writing", "reading", "dialect_insert", "is_sqlite"]

#: How long a SQLite writer waits for the lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 60.0


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def open_engine(url: str, pool_size: int = 4, overflow: int | None = None) -> Engine:
    """An engine for ``url`` with the settings the server relies on: ``pool_size``
    connections kept, ``overflow`` (default as many) more opened when needed.

    SQLite: the directory of the file is created, the database is put in WAL
    mode with ``synchronous=NORMAL`` and a busy timeout, and transactions are
    begun by hand (``BEGIN`` or ``BEGIN IMMEDIATE``) rather than by the driver.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size if overflow is None else overflow,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # psycopg prepares a statement run five times and PostgreSQL may then keep a generic
    # plan made while the tables were still small: a sequential scan that grows with the
    # history (10 s per query of a run with 30,000 metrics). Plan every query for its values.
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size if overflow is None else overflow, pool_pre_ping=True,
        connect_args={"prepare_threshold": None},
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we send BEGIN ourselves
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("tracker_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection inside a write transaction, committed when the block ends."""
    with engine.connect() as conn:
        conn.execution_options(tracker_write=True)
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection inside a read transaction (one consistent snapshot)."""
    with engine.connect() as conn:
        with conn.begin():
            yield conn


def dialect_insert(conn: Connection) -> Callable[..., Any]:
    """The ``insert`` of the connection's dialect (it has ``on_conflict_do_*``)."""
    if is_sqlite(conn):
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert
