"""The API's endpoints (``/api/v1/...``), one handler class per route."""

from __future__ import annotations

from typing import Any

import orjson

from .._version import __version__
from . import schema
from .artifacts import ROUTES as ARTIFACT_ROUTES
from ..limits import MAX_HISTORY_KEYS, STATES
from .bodies import read_batch
from .database import reading
from .errors import BadRequest, NotFound
from .files import Upload, clean_path, list_files, stored_file
from .handlers import BaseHandler
from .history import history_keys, read_history
from .ingest import ingest
from .filters import NOTES_HEADER, listing_notes, notes_header, parse_listing
from .payloads import dumps, loads_column
from .streams import StreamedHandler
from .runs import effective_state, find_run_pk, get_run, heartbeat, list_projects, list_runs, upsert_run
from .tokens import TokenError, create_token, list_tokens, revoke_token

__all__ = ["ROUTES"]


class HealthHandler(BaseHandler):
    auth = False

    async def do_get(self) -> Any:
        return {"ok": True, "version": __version__}


class OpenApiHandler(BaseHandler):
    auth = False

    async def do_get(self) -> Any:
        from .openapi import document_bytes

        return document_bytes()


class ProjectsHandler(BaseHandler):
    async def do_get(self) -> Any:
        return await self.context.call(list_projects, self.context.engine, self.grant.projects)


class RunsHandler(BaseHandler):
    async def do_get(self) -> Any:
        state = self.get_query_argument("state", None) or None
        if state is not None and state not in STATES:
            raise BadRequest(f"state must be one of {', '.join(STATES)}")
        project = self.get_query_argument("project", None) or None
        limit = self.int_argument("limit", 100, 1, 1000)
        offset = self.int_argument("offset", 0, 0, 2**31)
        if project is not None:
            self.grant.check_read(project)
        filters = parse_listing(self.get_query_argument("filters", None), self.get_query_argument("order", None))
        now = self.now()
        runs = await self.context.call(
            list_runs, self.context.engine, self.settings_.heartbeat_timeout, now,
            project=project, state=state, limit=limit, offset=offset, filters=filters,
            projects=self.grant.projects,
        )
        if filters is not None:
            notes = await self.context.call(listing_notes, self.context.engine, filters, project, bool(runs) or offset > 0,
                                            effective_state(self.settings_.heartbeat_timeout, now),
                                            self.grant.projects)
            if notes:
                self.set_header(NOTES_HEADER, notes_header(notes))
        return runs


class RunHandler(BaseHandler):
    async def do_get(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        return await self.context.call(
            get_run, self.context.engine, run_id, self.settings_.heartbeat_timeout, self.now(), self.grant
        )

    async def do_put(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        body = await self.json_body()
        return await self.context.call(upsert_run, self.context.engine, run_id, body, self.now(), self.grant)


class RecordsHandler(BaseHandler):
    async def do_post(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        data = self.body_bytes()
        return await self.context.call(self._ingest, run_id, data)

    def _ingest(self, run_id: str, data: bytearray) -> dict[str, int]:
        batch = read_batch(data)  # the records are decoded slice by slice as they are applied
        check = self.grant.check_write
        return ingest(self.context.engine, run_id, batch, self.settings_.max_keys, self.now(),
                      check=lambda row: check(row.project))


class HistoryHandler(BaseHandler):
    async def do_get(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        keys: list[str] | None = None
        if "keys" in self.request.query_arguments or "key" in self.request.query_arguments:
            keys = [k for raw in self.get_query_arguments("keys") for k in raw.split(",") if k]
            keys += [k for k in self.get_query_arguments("key") if k]
        if keys is not None and len(keys) > MAX_HISTORY_KEYS:
            raise BadRequest(f"{len(keys)} keys asked for; one request reads at most {MAX_HISTORY_KEYS}")
        samples = self.int_argument("samples", None, 1, 10_000_000)
        min_step = self.int_argument("min_step", None)
        max_step = self.int_argument("max_step", None)
        page = (self.int_argument("offset", 0, 0, 2**31), self.int_argument("limit", None, 1, MAX_HISTORY_KEYS))
        return await self.context.read(self._read, run_id, keys, samples, min_step, max_step, page)

    def _read(self, run_id: str, keys: list[str] | None, samples: int | None, lo: int | None, hi: int | None,
              page: tuple[int, int | None]) -> bytes:
        with reading(self.context.engine) as conn:
            run_pk = find_run_pk(conn, run_id, self.grant.check_read)
            history = read_history(conn, run_pk, keys, min_step=lo, max_step=hi, samples=samples,
                                   offset=page[0], limit=page[1])
        return orjson.dumps(history)  # JSON-ready already (non-finite floats tagged): encoded here, off the loop


class KeysHandler(BaseHandler):
    async def do_get(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        return await self.context.read(self._read, run_id)

    def _read(self, run_id: str) -> bytes:
        with reading(self.context.engine) as conn:
            return orjson.dumps(history_keys(conn, find_run_pk(conn, run_id, self.grant.check_read)))


class SystemHandler(BaseHandler):
    async def do_get(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        return await self.context.read(self._read, run_id)

    def _read(self, run_id: str) -> bytes:
        table = schema.system_records
        with reading(self.context.engine) as conn:
            run_pk = find_run_pk(conn, run_id, self.grant.check_read)
            rows = conn.execute(
                table.select().where(table.c.run_pk == run_pk).order_by(table.c.seq)
            ).all()
        return dumps([{"_timestamp": row.ts, **loads_column(row.data, {})} for row in rows])


class MediaHandler(BaseHandler):
    """``?key=K``: the references logged under K, by step; without it, the media keys."""

    async def do_get(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        return await self.context.read(self._read, run_id, self.get_argument("key", None))

    def _read(self, run_id: str, key: str | None) -> bytes:
        table = schema.media_records
        with reading(self.context.engine) as conn:
            run_pk = find_run_pk(conn, run_id, self.grant.check_read)
            rows = conn.execute(
                table.select().where(table.c.run_pk == run_pk).order_by(table.c.seq)
            ).all()
        if key is None:
            keys: dict[str, int] = {}
            for row in rows:
                for name in loads_column(row.data, {}):
                    keys[name] = keys.get(name, 0) + 1
            return dumps(keys)
        out = []
        for row in rows:
            values = loads_column(row.data, {})
            if key in values:
                out.append({"step": row.step, "value": values[key]})
        return dumps(out)


class HeartbeatHandler(BaseHandler):
    async def do_post(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        self.body_bytes()  # any body is ignored
        return await self.context.call(heartbeat, self.context.engine, run_id, self.now(), self.grant)


class FilesHandler(BaseHandler):
    async def do_get(self, run_id: str) -> Any:
        run_id = self.run_id(run_id)
        return await self.context.call(list_files, self.context.engine, run_id, self.grant.check_read)


class FileHandler(StreamedHandler):
    """``PUT`` uploads raw bytes (streamed to disk), ``GET`` downloads them."""

    def _target(self, run_id: str, path: str) -> tuple[str, str]:
        run_id = self.run_id(run_id)
        try:
            return run_id, clean_path(path)
        except ValueError as exc:
            raise BadRequest(f"bad file path: {exc}") from None

    async def before_body(self, run_id: str, path: str) -> None:
        if self.request.method != "PUT":
            return
        run_id, path = self._target(run_id, path)
        await self.context.call(self._check_run, run_id)
        self.upload = Upload(self.settings_.files_dir, run_id, path)

    def _check_run(self, run_id: str) -> None:
        with reading(self.context.engine) as conn:
            find_run_pk(conn, run_id, self.grant.check_write)

    async def do_put(self, run_id: str, path: str) -> Any:
        return await self.finish_upload()

    async def do_get(self, run_id: str, path: str) -> Any:
        run_id, path = self._target(run_id, path)
        location, size = await self.context.call(
            stored_file, self.context.engine, self.settings_.files_dir, run_id, path, self.grant.check_read
        )
        await self.send_file(location, size)
        return None


class TokensHandler(BaseHandler):
    """Token management for admin tokens: list (``GET``) and create (``POST``)."""

    public_reads = False

    async def do_get(self) -> Any:
        self.grant.check_admin()
        return await self.context.call(list_tokens, self.context.engine)

    async def do_post(self) -> Any:
        self.grant.check_admin()
        body = await self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise BadRequest("the body must be {\"name\": ..., \"access\": \"read\" | \"write\" | \"admin\", "
                             "\"projects\": [...] or null}")
        access, projects = body.get("access", "write"), body.get("projects")
        if not isinstance(access, str) or not (projects is None or isinstance(projects, list)):
            raise BadRequest("'access' must be a string and 'projects' a list of project names or null")
        try:
            token = await self.context.call(create_token, self.context.engine, body["name"], access, projects)
        except TokenError as exc:
            raise BadRequest(str(exc)) from None
        return {"name": body["name"].strip(), "access": access, "projects": projects, "token": token}


class TokenHandler(BaseHandler):
    """``DELETE /tokens/{name}`` revokes a token (admin tokens only)."""

    public_reads = False

    async def do_delete(self, name: str) -> Any:
        self.grant.check_admin()
        if not await self.context.call(revoke_token, self.context.engine, name):
            raise NotFound(f"no active token named {name!r}")
        return {"name": name, "revoked": True}


_RUN = r"/api/v1/runs/([^/]+)"

ROUTES: list[tuple[str, type[BaseHandler]]] = [
    (r"/api/v1/health", HealthHandler),
    (r"/api/v1/openapi\.json", OpenApiHandler),
    (r"/api/v1/projects", ProjectsHandler),
    (r"/api/v1/runs", RunsHandler),
    (_RUN, RunHandler),
    (_RUN + r"/records", RecordsHandler),
    (_RUN + r"/history", HistoryHandler),
    (_RUN + r"/keys", KeysHandler),
    (_RUN + r"/system", SystemHandler),
    (_RUN + r"/media", MediaHandler),
    (_RUN + r"/heartbeat", HeartbeatHandler),
    (_RUN + r"/files", FilesHandler),
    (_RUN + r"/files/(.+)", FileHandler),
    (r"/api/v1/tokens", TokensHandler),
    (r"/api/v1/tokens/([^/]+)", TokenHandler),
    *ARTIFACT_ROUTES,
]
