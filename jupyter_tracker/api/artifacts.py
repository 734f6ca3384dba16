"""``tracker.Artifact``: a named, typed, versioned set of files (a dataset, a model).

An artifact is built in memory (``add_file``, ``add_dir``, ``add_reference``),
then logged by a run (``run.log_artifact(art, aliases=[...])``): its files are
hashed (sha256) and copied into the run directory's content-addressed store,
and its *manifest* (every entry's path, sha256 and size, or the URI of a
reference) is stored there too; the manifest's own sha256 is the artifact's
digest. Versions ``v0, v1, ...`` count the distinct digests logged under a
name in a project; logging the same content again gives the same version.
``latest`` names the version logged last. See docs/wandb.md and
:mod:`jupyter_tracker.api.artifact_store` for where the bytes are.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Artifact", "parse_ref", "manifest_digest", "check_name", "check_aliases", "copy_hashed", "type_name",
           "MANIFEST_VERSION"]

#: The manifest format's version (in every manifest).
MANIFEST_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_ALIAS = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_VERSION = re.compile(r"^v\d+$")


def check_name(name: Any, what: str = "Artifact(name=...)") -> str:
    """An artifact name: letters, digits, ``-``, ``_`` and ``.``, at most 128 characters."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what}: {name!r} is not a valid artifact name (letters, digits, '-', '_' and '.', "
                         "1 to 128 characters)")
    return name


def check_aliases(aliases: Any, what: str = "log_artifact(aliases=...)") -> list[str]:
    """Aliases as a list of strings (``"v3"``-style names are versions, not aliases)."""
    if aliases is None:
        return []
    if isinstance(aliases, str):
        aliases = [aliases]
    out: list[str] = []
    for alias in aliases:
        if not isinstance(alias, str) or not _ALIAS.match(alias) or _VERSION.match(alias):
            raise ValueError(f"{what}: {alias!r} is not a valid alias (letters, digits, '-', '_', '.', ':'; "
                             "'v<N>' names a version and cannot be an alias)")
        if alias not in out:
            out.append(alias)
    return out


def parse_ref(ref: str) -> tuple[str | None, str, str]:
    """``(project, name, version_or_alias)`` of ``"name"``, ``"name:alias"``, ``"project/name:v1"``
    or ``"entity/project/name:latest"`` (the entity means nothing here; no alias is ``latest``)."""
    if not isinstance(ref, str) or not ref:
        raise ValueError(f"an artifact is named 'name', 'name:alias' or 'project/name:v1', got {ref!r}")
    path, _, alias = ref.partition(":")
    parts = path.strip("/").split("/")
    if len(parts) > 3:
        raise ValueError(f"{ref!r}: name an artifact as 'name:alias', 'project/name:alias' "
                         "or 'entity/project/name:alias'")
    name = check_name(parts[-1], f"artifact {ref!r}")
    project = parts[-2] if len(parts) >= 2 else None
    alias = alias or "latest"
    if not _ALIAS.match(alias):
        raise ValueError(f"{ref!r}: {alias!r} is not a version (v0, v1, ...) or an alias")
    return project, name, alias


def manifest_digest(manifest: dict[str, Any]) -> tuple[str, bytes]:
    """The manifest's canonical bytes and their sha256 (the artifact's digest)."""
    data = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest(), data


def _entry_name(name: str, what: str) -> str:
    clean = "/".join(p for p in name.replace(os.sep, "/").split("/") if p not in ("", "."))
    if not clean or ".." in clean.split("/") or name.startswith("/"):
        raise ValueError(f"{what}: {name!r} is not a relative path inside the artifact")
    return clean


class Artifact:
    """A versioned set of files, logged by a run and used by others.

    Parameters
    ----------
    name
        Letters, digits, ``-``, ``_`` and ``.`` (e.g. ``"mnist"``, ``"model-k3x9p2ab"``).
    type
        What it holds: ``"dataset"``, ``"model"``, ... (free text).
    description, metadata
        Kept with the version.

    After ``run.log_artifact(art)`` (or for an artifact from ``run.use_artifact``)
    ``version`` (``"v0"``...), ``digest``, ``aliases`` and ``project`` are set and
    :meth:`download` copies its files out.
    """

    def __init__(self, name: str, type: str, description: str | None = None,  # noqa: A002
                 metadata: dict[str, Any] | None = None) -> None:
        self.name = check_name(name)
        if not isinstance(type, str) or not type.strip():
            raise ValueError(f"Artifact(type={type!r}): give the kind of artifact as text, e.g. 'dataset' or 'model'")
        self.type = type
        if description is not None and not isinstance(description, str):
            raise TypeError(f"Artifact(description=...) must be text, got {description!r}")
        self.description = description
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"Artifact(metadata=...) must be a dict, got {type_name(metadata)}")
        self.metadata: dict[str, Any] = dict(metadata or {})
        #: Entries added so far: path in the artifact -> local file, or ``{"ref": uri}``.
        self._pending: dict[str, Path | dict[str, Any]] = {}
        self.version: str | None = None
        self.digest: str | None = None
        self.aliases: list[str] = []
        self.project: str | None = None
        self.manifest: dict[str, Any] | None = None
        #: Where the logged bytes are: a local run directory or a server (set when logged or found).
        self._source: Any = None
        #: Logged by an online run: ``(client, project)`` to ask for the server's version (:meth:`wait`).
        self._remote_pending: Any = None

    # -- building -------------------------------------------------------------------
    def _check_open(self, what: str) -> None:
        if self.manifest is not None:
            raise ValueError(f"artifact {self.name}:{self.version}: {what} on a logged artifact; "
                             f"make a new tracker.Artifact({self.name!r}, {self.type!r}) for a new version")

    def add_file(self, local_path: str | os.PathLike, name: str | None = None) -> str:
        """Add one file, as ``name`` (default: its file name); returns the name in the artifact."""
        self._check_open("add_file()")
        source = Path(local_path)
        if not source.is_file():
            raise FileNotFoundError(f"add_file({str(local_path)!r}): no such file")
        entry = _entry_name(name if name is not None else source.name, "add_file(name=...)")
        self._pending[entry] = source
        return entry

    def add_dir(self, local_path: str | os.PathLike, name: str | None = None) -> list[str]:
        """Add every file under a folder (under the prefix ``name`` if given); returns their names."""
        self._check_open("add_dir()")
        base = Path(local_path)
        if not base.is_dir():
            raise NotADirectoryError(f"add_dir({str(local_path)!r}): no such folder")
        prefix = _entry_name(name, "add_dir(name=...)") + "/" if name else ""
        added = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            entry = prefix + path.relative_to(base).as_posix()
            self._pending[entry] = path
            added.append(entry)
        return added

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True,
                      max_objects: int | None = None) -> str:
        """Record a reference to data elsewhere (``s3://``, ``https://``, ``file://`` ...).

        The URI is recorded in the manifest, never fetched: ``download`` writes
        nothing for it, and two versions differ only if their URIs differ.
        ``checksum`` and ``max_objects`` are accepted for wandb's sake.
        """
        self._check_open("add_reference()")
        if not isinstance(uri, str) or "://" not in uri:
            raise ValueError(f"add_reference({uri!r}): give a URI such as 's3://bucket/key' or 'https://...'")
        entry = _entry_name(name if name is not None else uri.rstrip("/").rsplit("/", 1)[-1] or uri, "add_reference(name=...)")
        self._pending[entry] = {"ref": uri}
        return entry

    # -- reading ----------------------------------------------------------------------
    @property
    def qualified_name(self) -> str:
        """``"name:v3"`` once logged (``"name"`` before)."""
        return f"{self.name}:{self.version}" if self.version else self.name

    def files(self) -> list[str]:
        """Paths of the entries (logged, or added so far)."""
        if self.manifest is not None:
            return sorted(self.manifest["entries"])
        return sorted(self._pending)

    def references(self) -> dict[str, str]:
        """``{path: uri}`` of the references."""
        entries = self.manifest["entries"] if self.manifest is not None else self._pending
        return {k: v["ref"] for k, v in entries.items() if isinstance(v, dict) and "ref" in v}

    def wait(self, timeout: float | None = 60.0) -> Artifact:
        """The artifact once its version is final.

        Logged by an offline run, it is final when ``log_artifact`` returns. Logged
        by an online run, the version is the server's, given when the run's
        service has uploaded it: ``wait()`` asks the server (every half second, at
        most ``timeout`` seconds) and sets ``version`` and ``aliases`` to its answer.

        Raises
        ------
        TimeoutError
            When the server has not registered it in time (the upload goes on).
        """
        pending = self._remote_pending
        if pending is None:
            return self
        import time

        from .artifact_server import remote_versions

        client, project = pending
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = [v for v in remote_versions(client, project, self.name) if v.digest == self.digest]
            if found:
                self.version, self.aliases, self._remote_pending = found[0].version, found[0].aliases, None
                return self
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"artifact {self.name} ({(self.digest or '')[:12]}) is not on {client.host} after "
                                   f"{timeout} s; the run's service is still uploading it (sync.json says how far)")
            time.sleep(0.5)

    def download(self, root: str | os.PathLike | None = None) -> str:
        """Copy the artifact's files into ``root`` (default ``./artifacts/<name>:<version>``);
        each file is checked against its sha256. Returns the folder."""
        if self.manifest is None or self._source is None:
            raise ValueError(f"artifact {self.name!r} is not logged yet: log it with run.log_artifact(art) "
                             "or get it with run.use_artifact(name)")
        target = Path(root) if root is not None else Path("artifacts") / f"{self.name}:{self.version}"
        target.mkdir(parents=True, exist_ok=True)
        for entry, value in sorted(self.manifest["entries"].items()):
            if "sha256" not in value:
                continue  # a reference: recorded, not fetched
            dest = target / entry
            dest.parent.mkdir(parents=True, exist_ok=True)
            temp = dest.with_name(f".{dest.name}.download")
            self._source.copy_blob(value["sha256"], temp)
            if _sha256_of(temp) != value["sha256"]:
                temp.unlink()
                raise OSError(f"artifact {self.qualified_name}: {entry!r} does not match its sha256 "
                              "(the stored copy is damaged)")
            os.replace(temp, dest)
        return str(target)

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self.type!r} files={len(self.files())}>"


def type_name(value: Any) -> str:
    """The name of ``value``'s type, for messages."""
    return type(value).__name__


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashed(source: Path, temp: Path) -> tuple[str, int]:
    """Copy ``source`` to ``temp``, hashing as it goes: ``(sha256, size)``."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(temp, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    shutil.copystat(source, temp)
    return digest.hexdigest(), size
