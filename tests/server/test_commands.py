"""The server's command line: tokens, sizes, the OpenAPI document, bad settings."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from jupyter_tracker.server import schema
from jupyter_tracker.server.commands import main, parse_size
from jupyter_tracker.server.database import open_engine, reading
from jupyter_tracker.server.openapi import document
from jupyter_tracker.server.settings import database_url

from .conftest import Databases
from .processes import cli


@pytest.fixture
def store(databases: Databases, tmp_path: Path) -> list[str]:
    db = databases.new()
    return ["--data-dir", str(tmp_path / "data")] + (["--db", db] if db else [])


def test_token_create_prints_it_last_and_stores_only_its_hash(store: list[str], tmp_path: Path) -> None:
    done = cli("token", "create", "--name", "alice", *store)
    lines = done.stdout.strip().splitlines()
    token = lines[-1]
    assert len(token) >= 40 and " " not in token
    assert token not in "\n".join(lines[:-1]) and token not in done.stderr
    db = store[store.index("--db") + 1] if "--db" in store else None
    engine = open_engine(database_url(db, tmp_path / "data"))
    try:
        with reading(engine) as conn:
            rows = conn.execute(select(schema.tokens)).all()
    finally:
        engine.dispose()
    assert [row.name for row in rows] == ["alice"]
    assert rows[0].hash == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in rows[0])


def test_token_list_revoke_and_reuse(store: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--name", "bob", *store]) == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["token", "create", "--name", "bob", *store]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["token", "list", *store]) == 0
    listed = capsys.readouterr().out
    assert "bob" in listed and "active" in listed and first not in listed
    assert main(["token", "revoke", "bob", *store]) == 0
    assert main(["token", "revoke", "bob", *store]) == 1
    assert "no active token" in capsys.readouterr().err
    assert main(["token", "list", *store]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["token", "create", "--name", "bob", *store]) == 0  # a revoked name can be used again
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second != first


def test_bad_database_url_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "list", "--data-dir", str(tmp_path), "--db", "nosuchdb://x/y"]) == 2
    assert "tracker server:" in capsys.readouterr().err


def test_openapi_command_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert orjson.loads(capsys.readouterr().out) == orjson.loads(orjson.dumps(document()))


@pytest.mark.parametrize(("text", "size"), [("100", 100), ("16M", 16 * 2**20), ("512k", 512 * 1024), ("1GiB", 2**30),
                                            ("1.5m", int(1.5 * 2**20))])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "abc", "-1", "0", "12q"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)
