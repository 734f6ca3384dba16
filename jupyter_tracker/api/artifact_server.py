"""Artifacts read from a tracking server: the version an alias names, its manifest and blobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .artifact_store import Version, artifact_of
from .artifacts import Artifact

__all__ = ["RemoteSource", "remote_artifact", "remote_versions"]


class RemoteSource:
    """Reads blobs from a server."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def read_blob(self, sha256: str) -> bytes:
        return self.client.get_blob(sha256)

    def copy_blob(self, sha256: str, dest: Path) -> None:
        self.client.download_blob(sha256, Path(dest))


def _version(found: dict[str, Any]) -> Version:
    return Version(project=found["project"], name=found["name"], index=int(str(found["version"]).lstrip("v")),
                   digest=found["digest"], type=found.get("type") or "", run_id=found.get("run_id") or "",
                   run_dir=None, logged_at=float(found.get("created_at") or 0.0),
                   description=found.get("description"), metadata=dict(found.get("metadata") or {}),
                   aliases=list(found.get("aliases") or []), size=int(found.get("size") or 0),
                   files=int(found.get("files") or 0))


def remote_versions(client: Any, project: str, name: str | None = None) -> list[Version]:
    return [_version(found) for found in client.find_artifacts(project, name)]


def remote_artifact(host: str, api_key: str | None, project: str, name: str, alias: str,
                    client: Any = None) -> Artifact | None:
    """The version ``alias`` of ``name`` on the server at ``host`` (``None`` when it has none)."""
    if client is None:
        from ..client import ServerClient

        client = ServerClient(host, api_key)
    found = client.find_artifacts(project, name, alias)
    if not found:
        return None
    version = _version(found[0])
    source = RemoteSource(client)
    manifest = orjson.loads(source.read_blob(version.digest))
    return artifact_of(version, manifest, source)
