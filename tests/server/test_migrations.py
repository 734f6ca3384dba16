"""The schema is created and migrated by the server, in order, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from jupyter_tracker.server import schema
from jupyter_tracker.server.database import open_engine, reading, writing
from jupyter_tracker.server.migrations import (
    LATEST,
    SchemaTooNew,
    current_version,
    migrate,
)
from jupyter_tracker.server.settings import database_url

from .conftest import Databases
from .processes import TrackerServer, history_records


def test_steps_apply_in_order_and_once(databases: Databases, tmp_path: Path) -> None:
    engine = open_engine(database_url(databases.new(), tmp_path))
    try:
        assert migrate(engine, target=1) == (0, 1)
        with reading(engine) as conn:
            assert current_version(conn) == 1
            indexes = {i["name"] for i in inspect(conn).get_indexes("runs")}
        assert "runs_project_created" not in indexes
        assert migrate(engine) == (1, LATEST)
        assert migrate(engine) == (LATEST, LATEST)
        with reading(engine) as conn:
            assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == 1
            indexes = {i["name"] for i in inspect(conn).get_indexes("runs")}
        assert {"runs_project_created", "runs_state"} <= indexes
    finally:
        engine.dispose()


def test_a_newer_database_is_refused(databases: Databases, tmp_path: Path) -> None:
    engine = open_engine(database_url(databases.new(), tmp_path))
    try:
        migrate(engine)
        with writing(engine) as conn:
            conn.execute(schema.schema_version.update().values(version=LATEST + 1))
        with pytest.raises(SchemaTooNew):
            migrate(engine)
    finally:
        engine.dispose()


def test_server_migrates_an_existing_database_and_restarts_on_it(
    spawn: Callable[..., TrackerServer], databases: Databases, tmp_path: Path
) -> None:
    db = databases.new()
    data = tmp_path / "data"
    engine = open_engine(database_url(db, data))
    try:
        migrate(engine, target=1)  # a database left by an older server
    finally:
        engine.dispose()
    server = spawn(db=db or False, data_dir=data, token_first=False)
    assert f"from version 1 to {LATEST}" in server.logs()
    client = server.client()
    run_id = client.new_run()
    assert client.send(run_id, history_records(1, range(10))).status_code == 200
    assert server.stop() == 0
    server.start()  # a second start finds nothing to do and the data in place
    assert "migrated" not in server.logs().split("tracker server listening")[-1]
    assert server.client().history(run_id)["a"]["step"] == list(range(10))
