"""Sending a run's logged artifacts: blobs first (each once), then the version.

Every step is safe to repeat: a blob is stored under its sha256 (one the
server holds is not sent again), and registering a digest the server knows
keeps its version. ``sync.json`` keeps which ``artifacts/logged/<n>.json`` are
done and the version the server gave each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from ..api.artifact_store import BLOBS, logged_entries

if TYPE_CHECKING:
    from .uploader import Uploader

__all__ = ["send_artifacts", "artifacts_left"]


def _blobs_of(uploader: Uploader, digest: str) -> list[str]:
    """The manifest's blobs this run holds (a version used from a server keeps its blobs there), then the manifest."""
    store = uploader.run_dir / BLOBS
    manifest = orjson.loads((store / digest).read_bytes())
    shas = sorted({v["sha256"] for v in manifest["entries"].values() if isinstance(v, dict) and "sha256" in v})
    return [sha for sha in shas if (store / sha).is_file()] + [digest]


def artifacts_left(uploader: Uploader) -> int:
    return sum(1 for key, _ in logged_entries(uploader.run_dir) if key not in uploader.artifacts)


def send_artifacts(uploader: Uploader) -> bool:
    """Send what is new; whether anything was sent. Raises what the client raises."""
    sent = False
    client, store = uploader.client, uploader.run_dir / BLOBS
    for key, entry in logged_entries(uploader.run_dir):
        if key in uploader.artifacts:
            continue
        for sha in _blobs_of(uploader, entry["digest"]):
            if uploader._stop():
                return sent
            if sha in uploader.blobs_known or client.has_blob(sha):
                uploader.blobs_known.add(sha)
                continue
            client.put_blob(sha, (store / sha).read_bytes())
            uploader.blobs_known.add(sha)
            uploader.sent["blobs"] += 1
            sent = True
        answer = client.post_artifact(uploader.run_id, entry)
        with uploader._lock:
            uploader.artifacts[key] = str(answer.get("version") or "")
        uploader.sent["artifacts"] += 1
        uploader.debug.info("artifact %s stored on the server as %s", entry["name"], answer.get("version"))
        sent = True
    return sent
