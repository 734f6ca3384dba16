"""``run.log_artifact()`` and ``run.use_artifact()``: artifacts in and out of a live run.

Logging stores every file of the artifact in the run directory's
content-addressed store (:mod:`jupyter_tracker.api.artifact_store`), writes its
manifest and one ``artifacts/logged/<n>.json``, and records an ``art`` record in
the events log. The service's uploader sends the bytes and the version to the
server. Using one finds it among the local runs of the project (then on the
configured server) and records a ``use`` record.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import records
from ..api.artifact_store import BLOBS, LocalSource, find_artifact, record_logged, store_bytes, store_file, versions
from ..api.artifacts import MANIFEST_VERSION, Artifact, check_aliases, manifest_digest, parse_ref, type_name

if TYPE_CHECKING:
    from .run import Run

__all__ = ["log_artifact", "use_artifact"]


def _as_artifact(value: Any, name: str | None, type: str | None, what: str) -> Artifact:  # noqa: A002
    if isinstance(value, Artifact):
        return value
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        art = Artifact(name or path.name.replace(" ", "_") or "artifact", type or "unspecified")
        if path.is_dir():
            art.add_dir(path)
        else:
            art.add_file(path)
        return art
    raise TypeError(f"{what} takes a tracker.Artifact or a path, got {type_name(value)}")


def _build_manifest(run: Run, art: Artifact) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for entry, value in sorted(art._pending.items()):
        if isinstance(value, dict):
            entries[entry] = dict(value)
            continue
        sha, size = store_file(run.path, value)
        entries[entry] = {"sha256": sha, "size": size}
    return {"version": MANIFEST_VERSION, "entries": entries}


def log_artifact(run: Run, artifact: Any, name: str | None = None, type: str | None = None,  # noqa: A002
                 aliases: Any = None) -> Artifact:
    """Store ``artifact`` (a :class:`tracker.Artifact`, or a file or folder path with
    ``name`` and ``type``) as a version of its name; returns it with ``version`` set."""
    art = _as_artifact(artifact, name, type, "log_artifact()")
    aliases = check_aliases(aliases)
    if run.finished:
        raise ValueError(f"run {run.id} is finished; log_artifact() needs a live run")
    if art.manifest is None and not art._pending:
        raise ValueError(f"log_artifact(): artifact {art.name!r} is empty; add_file, add_dir or add_reference first")
    try:
        manifest = art.manifest if art.manifest is not None else _build_manifest(run, art)
        digest, data = manifest_digest(manifest)
        store_bytes(run.path, digest, data)
        if art.manifest is not None and isinstance(art._source, LocalSource):
            _copy_blobs(art, run.path)  # (a server's artifact logged again keeps its blobs on the server)
        sized = [v for v in manifest["entries"].values() if "sha256" in v]
        entry = {
            "name": art.name, "type": art.type, "digest": digest, "aliases": aliases,
            "description": art.description, "metadata": records.jsonable(art.metadata), "project": run.project,
            "run_id": run.id, "logged_at": time.time(), "files": len(sized),
            "size": sum(int(v["size"]) for v in sized),
        }
        record_logged(run.path, entry)
    except OSError as exc:  # a full disk, an unreadable file: say so, never break the training loop
        run.notices.warn(f"log_artifact({art.name!r}): not stored ({exc.strerror or exc})", f"artifact:{art.name}")
        return art
    run.record(records.ARTIFACT, entry)
    version = next((v for v in versions(run.path.parent, run.project, art.name) if v.digest == digest), None)
    art.manifest, art.digest, art._pending = manifest, digest, {}
    if version is not None:
        art.version, art.aliases, art.project = version.version, list(version.aliases), version.project
        art._source = LocalSource(run.path)
    if run.mode == "online":  # the server gives the version that counts: art.wait() asks for it
        from .. import settings
        from ..client import ServerClient

        host = settings.host()
        if host:
            art._remote_pending = (ServerClient(host, settings.api_key()), run.project)
    return art


def _copy_blobs(art: Artifact, run_dir: Path) -> None:
    """A logged artifact logged again by another run: its blobs go into this run's store too."""
    store = run_dir / BLOBS
    for value in art.manifest["entries"].values():  # type: ignore[index]
        if "sha256" in value and not (store / value["sha256"]).exists():
            temp = store / f".copy-{value['sha256']}"
            art._source.copy_blob(value["sha256"], temp)
            os.replace(temp, store / value["sha256"])


def use_artifact(run: Run, artifact: Any, type: str | None = None, aliases: Any = None) -> Artifact:  # noqa: A002
    """The artifact ``"name"``, ``"name:v1"``, ``"name:latest"`` or ``"project/name:alias"``,
    recorded as an input of the run. A :class:`tracker.Artifact` not logged yet is logged first."""
    if run.finished:
        raise ValueError(f"run {run.id} is finished; use_artifact() needs a live run")
    if isinstance(artifact, Artifact):
        art = artifact if artifact.version else log_artifact(run, artifact, aliases=aliases)
    elif isinstance(artifact, str):
        project, name, alias = parse_ref(artifact)
        project = project or run.project
        art = find_artifact(run.path.parent, project, name, alias)
    else:
        raise TypeError(f"use_artifact() takes a name such as 'dataset:latest' or a tracker.Artifact, "
                        f"got {type_name(artifact)}")
    if type is not None and art.type != type:
        raise ValueError(f"use_artifact({artifact!r}, type={type!r}): {art.qualified_name} is of type {art.type!r}")
    run.record(records.USE_ARTIFACT,
               {"project": art.project, "name": art.name, "version": art.version, "digest": art.digest})
    return art
