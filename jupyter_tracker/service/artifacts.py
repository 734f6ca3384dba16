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
from ..client import Refused

if TYPE_CHECKING:
    from .uploader import Uploader

__all__ = ["send_artifacts", "artifacts_left", "refused_artifacts", "REFUSED"]

#: How ``sync.json`` marks an artifact the server refused (the reason follows).
REFUSED = "refused: "


def refused_artifacts(uploader: Uploader) -> dict[str, str]:
    """``{logged key: reason}`` of the artifacts the server refused."""
    return {k: v[len(REFUSED):] for k, v in uploader.artifacts.items() if v.startswith(REFUSED)}


def _blobs_of(uploader: Uploader, digest: str) -> list[str]:
    """The manifest's blobs this run holds (a version used from a server keeps its blobs there), then the manifest."""
    store = uploader.run_dir / BLOBS
    manifest = orjson.loads((store / digest).read_bytes())
    shas = sorted({v["sha256"] for v in manifest["entries"].values() if isinstance(v, dict) and "sha256" in v})
    return [sha for sha in shas if (store / sha).is_file()] + [digest]


def artifacts_left(uploader: Uploader) -> int:
    return len(logged_entries(uploader.run_dir, skip=uploader.artifacts))


def send_artifacts(uploader: Uploader) -> bool:
    """Send what is new; whether anything was sent. Raises what the client raises."""
    sent = False
    client, store = uploader.client, uploader.run_dir / BLOBS
    for key, entry in logged_entries(uploader.run_dir, skip=uploader.artifacts):
        try:
            wanted = [sha for sha in _blobs_of(uploader, entry["digest"]) if sha not in uploader.blobs_known]
            missing = set(client.missing_blobs(wanted)) if wanted else set()
            uploader.blobs_known.update(sha for sha in wanted if sha not in missing)
            for sha in wanted:  # the manifest last
                if sha not in missing:
                    continue
                if uploader._stop():
                    return sent
                client.put_blob(sha, store / sha)  # streamed from disk
                uploader.blobs_known.add(sha)
                uploader.sent["blobs"] += 1
                sent = True
            answer = client.post_artifact(uploader.run_id, entry)
        except Refused as exc:
            if exc.status in (401, 403):  # the token: nothing else of the run would go either
                raise
            # this artifact only (a file over the server's --max-file ...): say so, go on with the rest
            uploader.debug.warning("artifact %s not uploaded: %s", entry["name"], exc)
            with uploader._lock:
                uploader.artifacts[key] = f"{REFUSED}{exc}"
            sent = True
            continue
        with uploader._lock:
            uploader.artifacts[key] = str(answer.get("version") or "")
        uploader.sent["artifacts"] += 1
        uploader.debug.info("artifact %s stored on the server as %s", entry["name"], answer.get("version"))
        sent = True
    return sent
