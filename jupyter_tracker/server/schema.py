"""The server's tables (SQLAlchemy Core), as of the latest migration.

History is stored in chunks: one row per (run, metric, chunk) holding up to
:data:`CHUNK_POINTS` points as three little-endian binary arrays (steps as
int64, timestamps and values as float64), with the chunk's first and last
steps as columns so that step ranges are found without reading the arrays,
and a *sketch*: the chunk's first and last points and the min and max of every
:data:`SKETCH_WIDTH` points, which is all a downsampled read of many points
needs (about 1/30 of the bytes).
``history_series`` has one row per (run, metric): how many points and chunks
it has, so that ingest finds the open (last) chunk of each metric at once.

JSON-valued columns (``info``, ``config``, ...) hold text written by
:mod:`jupyter_tracker.server.payloads` (non-finite floats tagged as in the
events log), so they read back the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "CHUNK_POINTS",
    "SKETCH_WIDTH",
    "metadata",
    "schema_version",
    "tokens",
    "projects",
    "runs",
    "history_series",
    "history_chunks",
    "system_records",
    "files",
    "missing_ranges",
    "token_scopes",
    "artifact_blobs",
    "artifact_versions",
    "artifact_aliases",
]

#: Most points one history chunk holds.
CHUNK_POINTS = 4096
#: Points per bucket of a chunk's sketch (its min and max are kept).
SKETCH_WIDTH = 64

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created_at", Double, nullable=False),
    Column("revoked_at", Double),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("created_at", Double, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(128), nullable=False, unique=True),
    Column("project", String(256), nullable=False),
    Column("name", Text),
    Column("run_group", Text),
    Column("job_type", Text),
    Column("tags", Text),  # JSON list
    Column("notes", Text),
    Column("state", String(32), nullable=False),
    Column("exit_code", Integer),
    Column("info", Text),  # JSON object: run.json as sent, plus start/state details
    Column("config", Text),  # JSON object
    Column("summary", Text),  # JSON object: SummaryState.as_dict(), cached
    Column("summary_state", Text),  # JSON: the SummaryState itself
    Column("metrics", Text),  # JSON list of define_metric payloads
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("heartbeat_at", Double, nullable=False),
    Column("hwm_events", BigInteger, nullable=False, default=0),
    Column("hwm_system", BigInteger, nullable=False, default=0),
    Column("last_step", BigInteger),  # step of the last history row
    Column("open_keys", Text),  # JSON list: keys of the last history row
)

history_series = Table(
    "history_series",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(256), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_pk", "key"),
)

history_chunks = Table(
    "history_chunks",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(256), nullable=False),
    Column("chunk", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    # The chunk's endpoints and the min and max of every SKETCH_WIDTH points,
    # as steps (int64), timestamps and values (float64) one after the other.
    # Before the arrays: SQLite reads a row's columns in order, through its
    # overflow pages, so a small column after large ones is slow to reach.
    Column("sketch", LargeBinary, nullable=False),
    Column("steps", LargeBinary, nullable=False),  # int64 little-endian
    Column("timestamps", LargeBinary, nullable=False),  # float64 little-endian
    Column("vals", LargeBinary, nullable=False),  # float64 little-endian
    PrimaryKeyConstraint("run_pk", "key", "chunk"),
)

system_records = Table(
    "system_records",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", Double, nullable=False),
    Column("data", Text, nullable=False),  # JSON object
    PrimaryKeyConstraint("run_pk", "seq"),
)

#: Media references (``media`` records): ``data`` is {key: reference}, see docs/format.md.
media_records = Table(
    "media_records",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", Double, nullable=False),
    Column("data", Text, nullable=False),  # JSON object
    PrimaryKeyConstraint("run_pk", "seq"),
)

files = Table(
    "files",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("policy", String(16)),  # from the run's "f" record
    Column("logged_at", Double),  # when the run recorded it
    Column("size", BigInteger),  # None until the bytes are uploaded
    Column("sha256", String(64)),
    Column("uploaded_at", Double),
    PrimaryKeyConstraint("run_pk", "path"),
)

#: Permanent holes of a run's local logs, declared by the client that synced it
#: (records that were unreadable there and will never arrive).
missing_ranges = Table(
    "missing_ranges",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("log", String(16), nullable=False),  # "events" or "system"
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("declared_at", Double, nullable=False),
    PrimaryKeyConstraint("run_pk", "log", "first_seq"),
)

#: What each token may do (``access.Grant``): one row per token.
token_scopes = Table(
    "token_scopes",
    metadata,
    Column("token_id", Integer, ForeignKey("tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("access", String(16), nullable=False),  # "read", "write" or "admin"
    Column("projects", Text),  # JSON list of project names; NULL: every project
)

#: Artifact bytes, once per sha256 (under ``<data-dir>/artifacts/``), uploaded by any run.
artifact_blobs = Table(
    "artifact_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("uploaded_at", Double, nullable=False),
)

#: The versions of each artifact name of a project: v0, v1, ... in the order they arrived.
artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("project", String(256), nullable=False),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),  # sha256 of the manifest (a blob)
    Column("type", String(128), nullable=False),
    Column("description", Text),
    Column("metadata", Text),  # JSON object
    Column("run_id", String(128), nullable=False),  # the run that logged it first
    Column("size", BigInteger, nullable=False),
    Column("files", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    PrimaryKeyConstraint("project", "name", "version"),
    UniqueConstraint("project", "name", "digest"),
)

#: Aliases (``latest``, ``best`` ...): each names one version of a name.
artifact_aliases = Table(
    "artifact_aliases",
    metadata,
    Column("project", String(256), nullable=False),
    Column("name", String(128), nullable=False),
    Column("alias", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("project", "name", "alias"),
)
