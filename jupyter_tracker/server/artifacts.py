"""Artifacts on the server: blobs by sha256, versions per (project, name), aliases.

The uploader sends an artifact in two steps, each safe to repeat:

1. ``PUT /api/v1/artifacts/blobs/{sha256}`` for every file and the manifest:
   streamed into a temporary file, checked against its sha256 and only then
   put in place (``<data-dir>/artifacts/<ab>/<sha256>``), so a cut upload
   leaves nothing and an upload of bytes already stored changes nothing.
2. ``POST /api/v1/runs/{id}/artifacts`` with name, type, digest and aliases:
   refused while a blob the manifest names is missing; a digest new to the
   name gets the next version (``v0``, ``v1`` ...), one already there keeps
   its version; ``latest`` and the aliases then name it.

``POST /api/v1/artifacts/missing`` says which of a list of blobs the server
lacks (so a folder of small files costs one question, not one per file);
``GET /api/v1/artifacts?project=P[&name=N[&alias=A]]`` lists versions (or
finds one); ``GET /api/v1/artifacts/blobs/{sha256}`` returns bytes.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..api.artifacts import check_aliases, check_name
from . import schema
from .access import Grant
from .database import dialect_insert, is_sqlite, reading, writing
from .errors import ApiError, BadRequest, Forbidden, NotFound
from .handlers import BaseHandler
from .streams import Incoming, StreamedHandler
from .payloads import dumps_column, loads_column

__all__ = ["ROUTES", "blob_location", "register_version", "find_versions"]

_SHA = re.compile(r"^[0-9a-f]{64}$")


def blob_location(data_dir: Path, sha256: str) -> Path:
    return data_dir / "artifacts" / sha256[:2] / sha256


class BlobUpload(Incoming):
    """One blob being received: hashed as it comes, kept only if the hash is its name."""

    def __init__(self, data_dir: Path, sha256: str) -> None:
        self.sha256 = sha256
        target = blob_location(data_dir, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(target)

    def finish(self, engine: Engine) -> dict[str, Any]:
        got = self.complete()
        if got != self.sha256:
            self.abort()
            raise BadRequest(f"the body's sha256 is {got}, not {self.sha256}")
        os.replace(self.temp, self.target)
        with writing(engine) as conn:
            insert = dialect_insert(conn)(schema.artifact_blobs).values(
                sha256=self.sha256, size=self.size, uploaded_at=time.time())
            conn.execute(insert.on_conflict_do_nothing(index_elements=[schema.artifact_blobs.c.sha256]))
        return {"sha256": self.sha256, "size": self.size}


def stored_blob(engine: Engine, data_dir: Path, sha256: str) -> tuple[Path, int]:
    with reading(engine) as conn:
        size = conn.execute(select(schema.artifact_blobs.c.size).where(
            schema.artifact_blobs.c.sha256 == sha256)).scalar()
    location = blob_location(data_dir, sha256)
    if size is None or not location.is_file():
        raise NotFound(f"no artifact blob {sha256}")
    return location, location.stat().st_size


def _have(conn: Connection, shas: set[str]) -> set[str]:
    table = schema.artifact_blobs
    found: set[str] = set()
    ordered = sorted(shas)
    for start in range(0, len(ordered), 500):
        found |= set(conn.execute(select(table.c.sha256).where(table.c.sha256.in_(ordered[start:start + 500])))
                     .scalars())
    return found


def _aliases(conn: Connection, project: str, name: str) -> dict[int, list[str]]:
    table = schema.artifact_aliases
    out: dict[int, list[str]] = {}
    for row in conn.execute(select(table.c.alias, table.c.version).where(
            table.c.project == project, table.c.name == name).order_by(table.c.alias)):
        out.setdefault(row.version, []).append(row.alias)
    for aliases in out.values():
        if "latest" in aliases:
            aliases.remove("latest")
            aliases.insert(0, "latest")
    return out


def _resource(row: Any, aliases: dict[int, list[str]]) -> dict[str, Any]:
    return {"project": row.project, "name": row.name, "version": f"v{row.version}", "digest": row.digest,
            "type": row.type, "description": row.description, "metadata": loads_column(row.metadata, {}),
            "run_id": row.run_id, "size": row.size, "files": row.files, "created_at": row.created_at,
            "aliases": aliases.get(row.version, [])}


def _check_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be {\"name\", \"type\", \"digest\", \"aliases\", ...}")
    try:
        check_name(body.get("name"), "name")
        aliases = check_aliases(body.get("aliases"), "aliases")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(body.get("type"), str) or not body["type"] or len(body["type"]) > 128:
        raise BadRequest("'type' must be a non-empty string of at most 128 characters")
    if not isinstance(body.get("digest"), str) or not _SHA.match(body["digest"]):
        raise BadRequest("'digest' must be the manifest's sha256 (64 lowercase hex digits)")
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        raise BadRequest("'metadata' must be an object")
    if body.get("description") is not None and not isinstance(body["description"], str):
        raise BadRequest("'description' must be a string")
    return {**body, "aliases": aliases}


def register_version(engine: Engine, data_dir: Path, run_id: str, body: Any, grant: Grant) -> dict[str, Any]:
    """Make (or find) the version of ``body['digest']`` under its name; apply its aliases."""
    body = _check_body(body)
    name, digest = body["name"], body["digest"]
    try:
        manifest = orjson.loads(blob_location(data_dir, digest).read_bytes())
        entries = manifest["entries"]
        shas = {v["sha256"] for v in entries.values() if isinstance(v, dict) and "sha256" in v}
        sized = [v for v in entries.values() if isinstance(v, dict) and "sha256" in v]
        if not all(isinstance(v["sha256"], str) and _SHA.match(v["sha256"]) and isinstance(v.get("size"), int)
                   for v in sized):
            raise ValueError("bad entry")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise BadRequest(f"the manifest {digest} is not uploaded, or is not a manifest (PUT it to "
                         f"/api/v1/artifacts/blobs/{digest})") \
            from None
    for _attempt in range(3):
        try:
            return _register(engine, run_id, body, name, digest, shas, sized, grant)
        except IntegrityError:  # another request gave the same name a version at the same time: look again
            continue
    raise ApiError(f"artifact {name}: versions kept changing while registering it; try again", 503)


def _register(engine: Engine, run_id: str, body: dict[str, Any], name: str, digest: str, shas: set[str],
              sized: list[dict[str, Any]], grant: Grant) -> dict[str, Any]:
    versions, aliases_table = schema.artifact_versions, schema.artifact_aliases
    with writing(engine) as conn:
        run = conn.execute(select(schema.runs.c.project).where(schema.runs.c.run_id == run_id)).first()
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        project = run.project
        grant.check_write(project)
        missing = (shas | {digest}) - _have(conn, shas | {digest})
        if missing:
            raise BadRequest(f"artifact {name}: {len(missing)} blobs are not uploaded yet "
                             f"(e.g. {sorted(missing)[0]}); PUT them first")
        if not is_sqlite(conn):  # one registration per name at a time (SQLite runs one writer anyway)
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"artifact/{project}/{name}"})
        where = (versions.c.project == project, versions.c.name == name)
        row = conn.execute(select(versions).where(*where, versions.c.digest == digest)).first()
        if row is None:
            number = conn.execute(select(func.max(versions.c.version)).where(*where)).scalar()
            number = 0 if number is None else number + 1
            conn.execute(versions.insert().values(
                project=project, name=name, version=number, digest=digest, type=body["type"],
                description=body.get("description"), metadata=dumps_column(body.get("metadata") or {}),
                run_id=run_id, size=sum(int(v.get("size") or 0) for v in sized), files=len(sized),
                created_at=time.time()))
            row = conn.execute(select(versions).where(*where, versions.c.digest == digest)).first()
        insert = dialect_insert(conn)
        for alias in ["latest", *body["aliases"]]:
            statement = insert(aliases_table).values(project=project, name=name, alias=alias, version=row.version)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[aliases_table.c.project, aliases_table.c.name, aliases_table.c.alias],
                set_={"version": statement.excluded.version}))
        return _resource(row, _aliases(conn, project, name))


def find_versions(engine: Engine, project: str, name: str | None, alias: str | None,
                  grant: Grant) -> list[dict[str, Any]]:
    """The versions of a project (of a name), by name and version; with ``alias``, the one it names."""
    grant.check_read(project)
    versions = schema.artifact_versions
    with reading(engine) as conn:
        query = select(versions).where(versions.c.project == project)
        if name is not None:
            query = query.where(versions.c.name == name)
        if alias is not None:
            if re.fullmatch(r"v\d+", alias):
                query = query.where(versions.c.version == int(alias[1:]))
            else:
                number = conn.execute(select(schema.artifact_aliases.c.version).where(
                    schema.artifact_aliases.c.project == project, schema.artifact_aliases.c.name == name,
                    schema.artifact_aliases.c.alias == alias)).scalar()
                if number is None:
                    return []
                query = query.where(versions.c.version == number)
        rows = conn.execute(query.order_by(versions.c.name, versions.c.version)).all()
        names = {row.name for row in rows}
        aliases = {n: _aliases(conn, project, n) for n in names}
        return [_resource(row, aliases[row.name]) for row in rows]


class BlobHandler(StreamedHandler):
    """``PUT`` stores bytes under their sha256 (checked); ``GET`` returns them."""

    async def before_body(self, sha256: str) -> None:
        if self.request.method != "PUT":
            return
        if self.grant.level == "read":
            raise Forbidden("a read-only token may not upload artifacts")
        self.upload = BlobUpload(self.settings_.data_dir, sha256)

    async def do_put(self, sha256: str) -> Any:
        return await self.finish_upload()

    async def do_get(self, sha256: str) -> Any:
        location, size = await self.context.call(stored_blob, self.context.engine, self.settings_.data_dir, sha256)
        await self.send_file(location, size)
        return None


#: Most sha256s one ``POST /artifacts/missing`` may ask about.
MAX_MISSING_QUERY = 10_000


def missing_blobs(engine: Engine, shas: list[str]) -> list[str]:
    """Those of ``shas`` the server does not hold, in the order given."""
    with reading(engine) as conn:
        have = _have(conn, set(shas))
    return [sha for sha in dict.fromkeys(shas) if sha not in have]


class MissingHandler(BaseHandler):
    """``POST {"sha256": [...]}``: which of these blobs are not here (one request for a folder of files)."""

    async def do_post(self) -> Any:
        if self.grant.level == "read":
            raise Forbidden("a read-only token may not upload artifacts")
        body = await self.json_body()
        shas = body.get("sha256") if isinstance(body, dict) else None
        if not isinstance(shas, list) or len(shas) > MAX_MISSING_QUERY or not all(
                isinstance(sha, str) and _SHA.match(sha) for sha in shas):
            raise BadRequest(f"the body must be {{\"sha256\": [...]}}: at most {MAX_MISSING_QUERY} sha256s "
                             "(64 lowercase hex digits each)")
        return {"missing": await self.context.call(missing_blobs, self.context.engine, shas)}


class RunArtifactsHandler(BaseHandler):
    async def do_post(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        body = await self.json_body()
        return await self.context.call(register_version, self.context.engine, self.settings_.data_dir, run_id,
                                       body, self.grant)


class ArtifactsHandler(BaseHandler):
    async def do_get(self) -> Any:
        project = self.get_query_argument("project", None)
        if not project:
            raise BadRequest("pass ?project=P (and &name=N, &alias=latest to find one version)")
        name = self.get_query_argument("name", None)
        alias = self.get_query_argument("alias", None)
        if alias is not None and name is None:
            raise BadRequest("alias needs a name")
        return await self.context.call(find_versions, self.context.engine, project, name, alias, self.grant)


ROUTES: list[tuple[str, type[BaseHandler]]] = [
    (r"/api/v1/artifacts", ArtifactsHandler),
    (r"/api/v1/artifacts/missing", MissingHandler),
    (r"/api/v1/artifacts/blobs/([0-9a-f]{64})", BlobHandler),
    (r"/api/v1/runs/([^/]+)/artifacts", RunArtifactsHandler),
]
