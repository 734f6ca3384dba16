"""The artifacts of local run directories: a content-addressed store per run, and versions.

A run directory holds what its run logged::

    artifacts/blobs/<sha256>       every file's bytes, once per content (manifests too)
    artifacts/logged/<n>.json      one per log_artifact() call: name, type, digest,
                                   aliases, metadata, project, run id, time

The versions of a name in a project are the distinct digests logged under it
by the project's runs under ``$TRACKER_DIR``, in the order they were first
logged (``v0``, ``v1``, ...); ``latest`` is the digest logged last, and an
alias names the version that was last logged with it. A server numbers the
versions it receives in the same way, in the order they are synced.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .. import rundir, settings
from .artifacts import Artifact, copy_hashed

__all__ = ["Version", "LocalSource", "store_file", "store_bytes", "record_logged", "logged_entries",
           "versions", "resolve", "artifact_of", "read_manifest", "find_artifact", "BLOBS", "LOGGED"]

BLOBS = "artifacts/blobs"
LOGGED = "artifacts/logged"


@dataclass
class Version:
    """One version of an artifact name in a project, as the local runs have it."""

    project: str
    name: str
    index: int
    digest: str
    type: str
    run_id: str
    run_dir: Path | None
    logged_at: float
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    size: int = 0
    files: int = 0

    @property
    def version(self) -> str:
        return f"v{self.index}"


class LocalSource:
    """Reads blobs from a run directory's store."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def blob_path(self, sha256: str) -> Path:
        return self.run_dir / BLOBS / sha256

    def read_blob(self, sha256: str) -> bytes:
        return self.blob_path(sha256).read_bytes()

    def copy_blob(self, sha256: str, dest: Path) -> None:
        shutil.copyfile(self.blob_path(sha256), dest)


def _blobs(run_dir: Path) -> Path:
    path = Path(run_dir) / BLOBS
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_file(run_dir: Path, source: Path) -> tuple[str, int]:
    """Copy ``source`` into the run's store (once per content): ``(sha256, size)``."""
    blobs = _blobs(run_dir)
    temp = blobs / f".incoming-{os.getpid()}-{time.monotonic_ns()}"
    try:
        sha, size = copy_hashed(source, temp)
        if (blobs / sha).exists():
            temp.unlink()
        else:
            os.replace(temp, blobs / sha)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return sha, size


def store_bytes(run_dir: Path, sha256: str, data: bytes) -> None:
    """Store ``data`` whose sha256 the caller computed (a manifest)."""
    target = _blobs(run_dir) / sha256
    if not target.exists():
        rundir.write_atomic(target, data)


def record_logged(run_dir: Path, entry: dict[str, Any]) -> Path:
    """Write one ``logged/<n>.json`` (the next number; the run's lock keeps one writer)."""
    folder = Path(run_dir) / LOGGED
    folder.mkdir(parents=True, exist_ok=True)
    taken = [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()]
    path = folder / f"{max(taken, default=-1) + 1:06d}.json"
    rundir.write_json(path, entry)
    return path


def logged_entries(run_dir: Path, skip: Any = ()) -> list[tuple[str, dict[str, Any]]]:
    """``(key, entry)`` of every artifact the run logged, in order (key: the file's stem),
    but those whose key is in ``skip`` (not read)."""
    folder = Path(run_dir) / LOGGED
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        if path.stem in skip:
            continue
        entry = rundir.read_json(path)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("digest"), str):
            out.append((path.stem, entry))
    return out


def versions(base: Path, project: str | None = None, name: str | None = None) -> list[Version]:
    """Every version of every artifact (of ``project``, of ``name``) under ``base``, by name and version."""
    logged: list[tuple[float, str, Path, dict[str, Any]]] = []
    for path in rundir.list_run_dirs(Path(base)):
        for key, entry in logged_entries(path):
            if (project is None or entry.get("project") == project) and (name is None or entry["name"] == name):
                logged.append((float(entry.get("logged_at") or 0.0), key, path, entry))
    logged.sort(key=lambda item: (item[0], str(item[2]), item[1]))
    found: dict[tuple[str, str], dict[str, Version]] = {}
    for logged_at, _key, path, entry in logged:
        series = found.setdefault((str(entry.get("project")), entry["name"]), {})
        version = series.get(entry["digest"])
        if version is None:
            version = series[entry["digest"]] = Version(
                project=str(entry.get("project")), name=entry["name"], index=len(series), digest=entry["digest"],
                type=str(entry.get("type")), run_id=str(entry.get("run_id")), run_dir=path, logged_at=logged_at,
                description=entry.get("description"), metadata=dict(entry.get("metadata") or {}),
                size=int(entry.get("size") or 0), files=int(entry.get("files") or 0))
        for alias in ["latest", *(entry.get("aliases") or [])]:
            for other in series.values():
                if alias in other.aliases:
                    other.aliases.remove(alias)
            version.aliases.append(alias)
    return [v for key in sorted(found) for v in found[key].values()]


def resolve(base: Path, project: str, name: str, alias: str) -> Version | None:
    """The version ``alias`` (``latest``, ``v2``, a custom alias) of ``name`` in ``project``."""
    for version in versions(base, project, name):
        if alias == version.version or alias in version.aliases:
            return version
    return None


def artifact_of(version: Version, manifest: dict[str, Any], source: Any) -> Artifact:
    """An :class:`Artifact` for a logged version (its files read through ``source``)."""
    art = Artifact(version.name, version.type or "unknown", version.description, version.metadata)
    art.version, art.digest, art.aliases = version.version, version.digest, list(version.aliases)
    art.project, art.manifest, art._source = version.project, manifest, source
    return art


def read_manifest(source: Any, digest: str) -> dict[str, Any]:
    manifest = orjson.loads(source.read_blob(digest))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("entries"), dict):
        raise ValueError(f"the manifest {digest[:12]} is damaged")
    return manifest


def find_artifact(base: Path, project: str, name: str, alias: str, host: str | None = None,
                  api_key: str | None = None) -> Artifact:
    """A logged version: from the local runs under ``base``, else from the server (``host``,
    default the configured one). ``KeyError`` naming what was looked for when there is none."""
    version = resolve(base, project, name, alias)
    if version is not None and version.run_dir is not None:
        source = LocalSource(version.run_dir)
        return artifact_of(version, read_manifest(source, version.digest), source)
    host = settings.host() if host is None else host  # "": local runs only
    where = f"under {str(base)!r}"
    if host:
        from .artifact_server import remote_artifact

        found = remote_artifact(host, api_key or settings.api_key(), project, name, alias)
        if found is not None:
            return found
        where += f" or on {host}"
    raise KeyError(f"no artifact {name}:{alias} in project {project!r} {where}")
