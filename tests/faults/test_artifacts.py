"""Artifact upload under faults: a real ``tracker server`` (SQLite and PostgreSQL), ``tracker sync``
as a command, the server refusing blobs, dropping the registration, and killed mid-upload.

After each fault a second ``tracker sync`` completes: every version exactly once on the
server, every blob there and matching its sha256, nothing sent twice that was stored.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from jupyter_tracker.client import ServerClient
from tests.server.conftest import backend, databases, spawn  # noqa: F401 - fixtures
from tests.service.faultproxy import Fault, FaultProxy
from tests.waiting import service_ended, wait_for

pytestmark = pytest.mark.server


def sync(run_dir: Path, host: str, token: str, *args: str, wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:
    env = dict(os.environ, TRACKER_HOST=host, TRACKER_API_KEY=token)
    command = [sys.executable, "-m", "jupyter_tracker", "sync", str(run_dir), *args]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def logged_run(tmp_path: Path, files: int, size: int) -> tuple[Path, dict[str, str]]:
    src = tmp_path / "model"
    src.mkdir()
    shas = {}
    for i in range(files):
        data = os.urandom(size)
        (src / f"part{i}.bin").write_bytes(data)
        shas[f"part{i}.bin"] = hashlib.sha256(data).hexdigest()
    with tracker.init(project="faults-art", mode="offline") as run:
        art = tracker.Artifact("model", "model")
        art.add_dir(src)
        run.log_artifact(art, aliases=["best"])
    service_ended(run)  # its last system window is written: a sync now sends everything
    return run.path, shas


def assert_complete(server, run_dir: Path, shas: dict[str, str]) -> None:
    client = ServerClient(f"http://127.0.0.1:{server.port}", server.token)
    found = client.find_artifacts("faults-art", "model")
    assert [(f["version"], f["aliases"], f["files"]) for f in found] == [("v0", ["latest", "best"], len(shas))]
    for sha in shas.values():
        assert hashlib.sha256(client.get_blob(sha)).hexdigest() == sha
    assert rundir.read_sync(run_dir)["artifacts"] == {"000000": "v0"}


def test_refused_blob_and_lost_registration_then_resync(spawn, tmp_path):  # noqa: F811
    server = spawn()
    run_dir, shas = logged_run(tmp_path, files=3, size=50_000)
    puts = []

    def rule(method: str, path: str) -> Fault | None:
        if method == "PUT" and "/artifacts/blobs/" in path:
            puts.append(path)
            if len(puts) == 2:
                return Fault(status=500)
        if method == "POST" and path.endswith("/artifacts"):
            return Fault(drop=True)  # the connection dies before the server sees it
        return None

    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        proxy.rule = rule
        failed = sync(run_dir, proxy.url, server.token, "--retry-for", "3")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 artifacts" in failed.stderr and f"tracker sync {run_dir}" in failed.stderr
    client = ServerClient(f"http://127.0.0.1:{server.port}", server.token)
    assert client.find_artifacts("faults-art") == []  # no version until every blob is there
    done = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert done.returncode == 0, done.stderr
    assert "(0 new blobs)" in done.stdout  # each blob was stored once, by the first sync
    assert_complete(server, run_dir, shas)
    again = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert_complete(server, run_dir, shas)


def test_registration_repeated_keeps_one_version(spawn, tmp_path):  # noqa: F811
    """The answer to a registration lost after the server stored it: the retry changes nothing."""
    server = spawn()
    run_dir, shas = logged_run(tmp_path, files=1, size=1000)
    assert sync(run_dir, f"http://127.0.0.1:{server.port}", server.token).returncode == 0
    client = ServerClient(f"http://127.0.0.1:{server.port}", server.token)
    entry = rundir.read_json(run_dir / "artifacts" / "logged" / "000000.json")
    run_id = (rundir.read_info(run_dir) or {})["id"]
    assert client.post_artifact(run_id, entry)["version"] == "v0"
    assert client.post_artifact(run_id, entry)["version"] == "v0"
    assert_complete(server, run_dir, shas)


def test_server_killed_mid_upload_then_resync(spawn, tmp_path):  # noqa: F811
    server = spawn()
    run_dir, shas = logged_run(tmp_path, files=12, size=2_000_000)
    host = f"http://127.0.0.1:{server.port}"
    proc = sync(run_dir, host, server.token, "--retry-for", "2", wait=False)
    store = server.data_dir / "artifacts"
    wait_for(lambda: store.is_dir() and any(p.name in shas.values() for p in store.rglob("*")), timeout=60,
             interval=0.005)
    server.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    assert f"tracker sync {run_dir}" in err
    server.start()
    done = sync(run_dir, host, server.token)
    assert done.returncode == 0, done.stderr
    assert_complete(server, run_dir, shas)


def test_an_artifact_over_the_servers_file_limit_is_reported_and_the_run_uploads(spawn, tmp_path):  # noqa: F811
    server = spawn("--max-file", "4MiB")
    run_dir, shas = logged_run(tmp_path, files=1, size=5 << 20)
    host = f"http://127.0.0.1:{server.port}"
    first = sync(run_dir, host, server.token)
    assert first.returncode == 0, first.stderr  # the records went; the artifact is named
    assert "1 artifacts refused by the server, not uploaded" in first.stdout and "413" in first.stdout
    assert tracker.Api(host=host, api_key=server.token).run(rundir.read_info(run_dir)["id"]).state == "finished"
    assert rundir.read_sync(run_dir)["status"] == "done"
    assert "artifact model not uploaded" in (run_dir / "logs" / "debug.log").read_text()
    server.args = ["--max-file", "64MiB"]
    server.restart()
    again = sync(run_dir, host, server.token)  # tried again: the server takes it now
    assert again.returncode == 0 and "1 artifact versions (2 new blobs)" in again.stdout, again.stdout
    assert_complete(server, run_dir, shas)
