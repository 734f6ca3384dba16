"""Schema migrations: ordered steps, applied by the server when it starts.

The database records its version in ``schema_version`` (one row). Starting a
server applies every step above that version, in order, in one transaction
that also writes the new version number; concurrent starts queue on
a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so a
step never runs twice. A database newer than this server is refused.

A new step is appended to :data:`STEPS` and must not change the earlier ones:
it says what changes (``ALTER TABLE``, ``CREATE INDEX`` ...) in terms that hold
on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, Engine

from . import schema
from .database import is_sqlite, writing

__all__ = ["STEPS", "LATEST", "SchemaTooNew", "current_version", "migrate"]

#: pg_advisory_xact_lock key: any constant the tracker alone uses.
_PG_LOCK = 0x7472_6B72


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer server than this one."""


def _v1_tables(conn: Connection) -> None:
    """Tokens, projects, runs, chunked history, system records, files."""
    tables = [
        schema.tokens,
        schema.projects,
        schema.runs,
        schema.history_series,
        schema.history_chunks,
        schema.system_records,
        schema.files,
    ]
    schema.metadata.create_all(conn, tables=tables)
    if not is_sqlite(conn):
        # Float arrays do not compress: store them out of line as they are. Keep
        # the small sketch in the row (up to 8 kB rows), so that downsampled
        # reads never touch the TOAST table.
        conn.execute(
            text(
                "ALTER TABLE history_chunks ALTER COLUMN steps SET STORAGE EXTERNAL, "
                "ALTER COLUMN timestamps SET STORAGE EXTERNAL, ALTER COLUMN vals SET STORAGE EXTERNAL, "
                "ALTER COLUMN sketch SET STORAGE MAIN"
            )
        )
        conn.execute(text("ALTER TABLE history_chunks SET (toast_tuple_target = 8160)"))


def _v2_run_indexes(conn: Connection) -> None:
    """Indexes for listing runs by project and for the crash sweep."""
    conn.execute(text("CREATE INDEX IF NOT EXISTS runs_project_created ON runs (project, created_at)"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at)"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS runs_state ON runs (state)"))


def _v3_missing_ranges(conn: Connection) -> None:
    """The holes clients declare in their logs (``missing`` in a batch)."""
    schema.metadata.create_all(conn, tables=[schema.missing_ranges])


def _v4_token_scopes(conn: Connection) -> None:
    """Token scopes; the tokens made before them keep what they could do: write, every project."""
    schema.metadata.create_all(conn, tables=[schema.token_scopes])
    conn.execute(
        text(
            "INSERT INTO token_scopes (token_id, access, projects) SELECT id, 'write', NULL FROM tokens "
            "WHERE id NOT IN (SELECT token_id FROM token_scopes)"
        )
    )


def _v5_artifacts(conn: Connection) -> None:
    """Artifacts: blobs by sha256, versions per (project, name), aliases."""
    schema.metadata.create_all(conn, tables=[schema.artifact_blobs, schema.artifact_versions,
                                             schema.artifact_aliases])


def _v6_media_records(conn: Connection) -> None:
    """Media references (images, histograms, tables logged by runs)."""
    schema.metadata.create_all(conn, tables=[schema.media_records])


#: The migration steps; step ``i`` (from 0) brings the schema to version ``i + 1``.
STEPS: list[Callable[[Connection], None]] = [_v1_tables, _v2_run_indexes, _v3_missing_ranges, _v4_token_scopes,
                                               _v5_artifacts,
                                               _v6_media_records]
LATEST = len(STEPS)


def current_version(conn: Connection) -> int:
    """The schema version of the database (0 when it has no tables yet)."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(select(schema.schema_version.c.version)).scalar()
    return int(value or 0)


def migrate(engine: Engine, target: int | None = None) -> tuple[int, int]:
    """Bring the database to ``target`` (default: the latest); return (before, after)."""
    target = LATEST if target is None else target
    with writing(engine) as conn:
        if not is_sqlite(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        schema.metadata.create_all(conn, tables=[schema.schema_version])
        before = current_version(conn)
        if before > LATEST:
            raise SchemaTooNew(
                f"the database has schema version {before}, newer than this server's {LATEST}; "
                "upgrade jupyter-tracker"
            )
        version = before
        for step in STEPS[before:target]:
            step(conn)
            version += 1
        if version != before or not conn.execute(select(schema.schema_version.c.version)).first():
            conn.execute(schema.schema_version.delete())
            conn.execute(schema.schema_version.insert().values(version=version))
    return before, version
