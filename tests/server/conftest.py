"""Fixtures for the server tests: real server processes over SQLite and PostgreSQL.

Tests that take ``backend`` (or a fixture built on it) run once per database.
PostgreSQL comes from ``$TRACKER_TEST_POSTGRES_URL`` (each server gets a fresh
schema, dropped afterwards); without it those tests are skipped, except in CI
(``CI`` is ``true`` or ``1``), where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from .processes import TrackerServer

PG_ENV = "TRACKER_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1")

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/server/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.server)


def postgres_url() -> str:
    """The PostgreSQL URL for tests; skip (or fail in CI) when there is none."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        message = f"PostgreSQL tests need ${PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        if IN_CI:
            pytest.fail(f"{message}; CI must run them")
        pytest.skip(message)
    return url


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Databases:
    """Fresh databases for one backend: None (SQLite in the data dir) or a PostgreSQL schema URL."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.schemas: list[str] = []

    def new(self) -> str | None:
        if self.backend == "sqlite":
            return None
        import psycopg

        url = _plain(postgres_url())
        schema = "tracker_test_" + secrets.token_hex(5)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}options=-csearch_path%3D{schema}"

    def drop_all(self) -> None:
        if not self.schemas:
            return
        import psycopg

        with psycopg.connect(_plain(postgres_url()), autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.schemas.clear()


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        postgres_url()
    return request.param


@pytest.fixture(scope="module")
def databases(backend: str) -> Iterator[Databases]:
    dbs = Databases(backend)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="module")
def spawn_module(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., TrackerServer]]:
    """Start servers that live for the module: ``spawn_module(*args)``."""
    servers: list[TrackerServer] = []

    def spawn(*args: str, db: str | None | bool = True) -> TrackerServer:
        server = TrackerServer(tmp_path_factory.mktemp("server"), databases.new() if db is True else db or None, args)
        servers.append(server)
        server.launch()
        server.token = server.create_token("tests")  # with the CLI, while the server starts
        return server.wait_listening()

    yield spawn
    for server in servers:
        server.stop()


@pytest.fixture
def spawn(databases: Databases, tmp_path: Path) -> Iterator[Callable[..., TrackerServer]]:
    """Start servers for one test (each on a fresh database unless ``db=`` says which)."""
    servers: list[TrackerServer] = []

    def start(
        *args: str, db: str | None | bool = True, data_dir: Path | None = None, token_first: bool = True
    ) -> TrackerServer:
        """``token_first=False`` lets the server alone create or migrate the schema."""
        folder = data_dir or tmp_path / f"server{len(servers)}"
        server = TrackerServer(folder, databases.new() if db is True else db or None, args)
        servers.append(server)
        server.launch()
        if token_first:
            server.token = server.create_token("tests")  # with the CLI, while the server starts
            return server.wait_listening()
        server.wait_listening()
        server.token = server.create_token("tests")
        return server

    yield start
    for server in servers:
        if server.proc is not None:
            server.kill()


@pytest.fixture(scope="module")
def server(spawn_module: Callable[..., TrackerServer]) -> TrackerServer:
    """One server (defaults) shared by a module's tests."""
    return spawn_module()


@pytest.fixture(scope="module")
def engine(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database engine (no server) per module and backend; each test uses its own runs."""
    from jupyter_tracker.server.database import open_engine
    from jupyter_tracker.server.migrations import migrate
    from jupyter_tracker.server.settings import database_url

    eng = open_engine(database_url(databases.new(), tmp_path_factory.mktemp("db")))
    migrate(eng)
    yield eng
    eng.dispose()
