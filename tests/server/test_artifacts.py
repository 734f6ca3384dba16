"""Artifacts on a real server (SQLite and PostgreSQL): offline runs log them, ``tracker sync``
uploads them, a run on another machine (another TRACKER_DIR) uses and downloads them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker.client import Refused, ServerClient
from tests.waiting import service_ended

pytestmark = pytest.mark.server


def tracker_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_tracker", *args], capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=120)


def _log(src: Path, text: str, project: str, aliases=()) -> Path:
    (src / "a.txt").write_text(text)
    with tracker.init(project=project, mode="offline") as run:
        art = tracker.Artifact("data", "dataset", metadata={"text": text})
        art.add_dir(src)
        art.add_reference("s3://bucket/extra.csv")
        run.log_artifact(art, aliases=list(aliases))
    service_ended(run)  # its last system window is written: the third sync has nothing new
    return run.path


def test_sync_upload_versions_and_download_elsewhere(server, tmp_path, monkeypatch):
    project = f"art-{os.urandom(3).hex()}"
    host, token = f"http://127.0.0.1:{server.port}", server.token
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(os.urandom(300_000))
    first = _log(src, "one", project, aliases=["best"])
    second = _log(src, "two", project)
    env = {"TRACKER_HOST": host, "TRACKER_API_KEY": token}
    said = []
    for path in (first, second, first):  # the third sync sends nothing new
        done = tracker_cli("sync", str(path), **env)
        assert done.returncode == 0, done.stderr
        said.append(done.stdout)
    assert "1 artifact versions (3 new blobs)" in said[0]  # big.bin, a.txt, the manifest
    assert "1 artifact versions (2 new blobs)" in said[1]  # big.bin was there already
    assert "nothing new" in said[2]
    client = ServerClient(host, token)
    found = client.find_artifacts(project, "data")
    assert [(f["version"], f["aliases"], f["files"]) for f in found] == [("v0", ["best"], 2), ("v1", ["latest"], 2)]
    assert found[0]["metadata"] == {"text": "one"} and found[0]["size"] == 300_003
    # the big file's bytes are stored once though both versions hold it
    assert len(list((server.data_dir / "artifacts").rglob("*"))) - len(list((server.data_dir / "artifacts").glob("*"))) \
        == 5  # big.bin, two a.txt, two manifests
    listing = tracker_cli("artifact", "ls", "--host", host, "--project", project, **env)
    assert "data:v0" in listing.stdout and "best" in listing.stdout and "data:v1" in listing.stdout
    everywhere = tracker_cli("artifact", "ls", "--host", host, **env)  # every project the token sees
    assert everywhere.returncode == 0
    assert any(line.split()[:3] == ["data:v1", "dataset", project] for line in everywhere.stdout.splitlines())

    # another machine: an empty TRACKER_DIR, the server configured
    monkeypatch.setenv("TRACKER_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("TRACKER_HOST", host)
    monkeypatch.setenv("TRACKER_API_KEY", token)
    with tracker.init(project=project, mode="offline") as run:
        art = run.use_artifact("data:best")
        assert (art.version, art.aliases, art.files()) == ("v0", ["best"], ["a.txt", "big.bin", "extra.csv"])
        out = Path(art.download(tmp_path / "got"))
        assert (out / "a.txt").read_text() == "one"
        assert (out / "big.bin").read_bytes() == (src / "big.bin").read_bytes()
        assert run.use_artifact("data").version == "v1"
        with pytest.raises(KeyError, match=f"no artifact data:v9 in project '{project}'.* or on {host}"):
            run.use_artifact("data:v9")

    # the same content logged by a third run keeps its version; latest moves to it
    monkeypatch.setenv("TRACKER_DIR", str(tmp_path / "third"))
    third = _log(src, "one", project)
    assert tracker_cli("sync", str(third), **env).returncode == 0
    found = client.find_artifacts(project, "data")
    assert [(f["version"], f["aliases"]) for f in found] == [("v0", ["latest", "best"]), ("v1", [])]


def test_blobs_are_checked_and_writes_need_a_write_token(server, tmp_path):
    host = f"http://127.0.0.1:{server.port}"
    client = ServerClient(host, server.token)
    data = b"some bytes"
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(Refused, match="sha256"):
        client.put_blob(sha, b"other bytes")
    assert not client.has_blob(sha)
    client.put_blob(sha, data)
    client.put_blob(sha, data)  # again: nothing changes
    assert client.has_blob(sha) and client.get_blob(sha) == data
    other = hashlib.sha256(b"not here").hexdigest()
    assert client.missing_blobs([other, sha, other]) == [other]
    with pytest.raises(Refused, match="at most 10000 sha256s"):
        client.request("POST", "artifacts/missing", b'{"sha256": ["nothex"]}')
    reader = server.cli("token", "create", "--name", f"r-{os.urandom(3).hex()}", "--read-only").stdout
    with pytest.raises(Refused, match="read-only"):
        ServerClient(host, reader.strip().splitlines()[-1]).put_blob(sha, data)
    run_id = f"art{os.urandom(3).hex()}"
    client.put_run(run_id, {"id": run_id, "project": "p"})
    with pytest.raises(Refused, match="not uploaded"):
        client.post_artifact(run_id, {"name": "x", "type": "t", "digest": "0" * 64})
    with pytest.raises(Refused, match="not a valid artifact name"):
        client.post_artifact(run_id, {"name": "x y", "type": "t", "digest": sha})


def test_an_online_run_uploads_its_artifact_and_the_api_reads_it(server, tmp_path, monkeypatch):
    from tests.waiting import wait_for

    host = f"http://127.0.0.1:{server.port}"
    project = f"online-{os.urandom(3).hex()}"
    monkeypatch.setenv("TRACKER_HOST", host)
    monkeypatch.setenv("TRACKER_API_KEY", server.token)
    (tmp_path / "w.bin").write_bytes(b"weights")
    client = ServerClient(host, server.token)
    client.put_run("earlier", {"id": "earlier", "project": project})  # the server has v0 of "model" already
    data = b"an earlier model"
    sha = hashlib.sha256(data).hexdigest()
    client.put_blob(sha, data)
    from jupyter_tracker.api.artifacts import manifest_digest

    digest, manifest = manifest_digest({"version": 1, "entries": {"w.bin": {"sha256": sha, "size": len(data)}}})
    client.put_blob(digest, manifest)
    client.post_artifact("earlier", {"name": "model", "type": "model", "digest": digest})
    with tracker.init(project=project, mode="online") as run:
        run.log({"x": 1.0})
        logged = run.log_artifact(tmp_path / "w.bin", name="model", type="model", aliases=["prod"])
        assert logged.version == "v0"  # this machine's count, until the server answers
        assert logged.wait(timeout=60) is logged and (logged.version, logged.aliases) == ("v1", ["latest", "prod"])
    remote = tracker.Api(host=host, api_key=server.token)
    art = wait_for(lambda: _found(remote, f"{project}/model:prod"), timeout=60)
    assert (art.version, art.type, art.files()) == ("v1", "model", ["w.bin"])
    assert (Path(art.download(tmp_path / "got")) / "w.bin").read_bytes() == b"weights"
    assert [a.qualified_name for a in remote.run(run.id).logged_artifacts()] == ["model:v1"]
    local = tracker.Api().artifact(f"me/{project}/model:latest", type="model")
    assert local.digest == art.digest
    with pytest.raises(ValueError, match="name the project too"):
        remote.artifact("model:prod")


def _found(api, name):
    try:
        return api.artifact(name)
    except KeyError:
        return None


def test_concurrent_versions_of_one_name_are_numbered_without_gaps(server):
    """Eight runs register eight contents of one name at once (PostgreSQL runs them in parallel)."""
    import threading

    from jupyter_tracker.api.artifacts import manifest_digest

    host = f"http://127.0.0.1:{server.port}"
    client = ServerClient(host, server.token)
    project, entries = f"race-{os.urandom(3).hex()}", []
    for i in range(8):
        run_id = f"race{os.urandom(3).hex()}"
        client.put_run(run_id, {"id": run_id, "project": project})
        data = f"file {i}".encode()
        sha = hashlib.sha256(data).hexdigest()
        client.put_blob(sha, data)
        digest, manifest = manifest_digest({"version": 1, "entries": {"f": {"sha256": sha, "size": len(data)}}})
        client.put_blob(digest, manifest)
        entries.append((run_id, {"name": "n", "type": "t", "digest": digest}))
    got, errors = [], []

    def register(run_id, entry):
        try:
            got.append(ServerClient(host, server.token).post_artifact(run_id, entry)["version"])
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=register, args=pair) for pair in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(got, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(8)]


def test_restore_from_the_server(server, tmp_path, monkeypatch):
    host = f"http://127.0.0.1:{server.port}"
    (tmp_path / "notes.txt").write_text("kept")
    with tracker.init(project="restore", mode="offline", config={"lr": 0.5}) as run:
        run.save(str(tmp_path / "notes.txt"), base_path=str(tmp_path), policy="now")
    env = {"TRACKER_HOST": host, "TRACKER_API_KEY": server.token}
    assert tracker_cli("sync", str(run.path), **env).returncode == 0
    done = tracker_cli("restore", run.id, "--host", host, "-o", str(tmp_path / "back"), **env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "back" / "files" / "notes.txt").read_text() == "kept"
    assert '"lr": 0.5' in (tmp_path / "back" / "config.json").read_text()
