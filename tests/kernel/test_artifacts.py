"""``run.log_artifact`` / ``run.use_artifact`` in this process, read back in another."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records


def _files(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "d" / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello")
    (src / "d" / "x.bin").write_bytes(b"\x00" * 1000)
    (src / "d" / "sub" / "y.bin").write_bytes(b"\x00" * 1000)  # same bytes as x.bin: one blob
    return src


def _dataset(src: Path) -> tracker.Artifact:
    art = tracker.Artifact("mnist", "dataset", description="digits", metadata={"rows": np.int64(3)})
    art.add_file(src / "a.txt")
    art.add_dir(src / "d", name="data")
    art.add_reference("s3://bucket/train.csv")
    return art


def test_versions_latest_aliases_dedup_and_download(tracker_env, tmp_path):
    src = _files(tmp_path)
    run = tracker.init(project="p")
    art = run.log_artifact(_dataset(src), aliases=["best"])
    assert (art.version, art.aliases, art.qualified_name) == ("v0", ["latest", "best"], "mnist:v0")
    assert art.files() == ["a.txt", "data/sub/y.bin", "data/x.bin", "train.csv"]
    blobs = run.path / "artifacts" / "blobs"
    # a.txt, the shared zero bytes once, the manifest
    assert sorted(p.name for p in blobs.iterdir()) == sorted(
        {hashlib.sha256(b"hello").hexdigest(), hashlib.sha256(b"\x00" * 1000).hexdigest(), art.digest})
    again = run.log_artifact(_dataset(src))  # same content: same version, latest stays on it
    assert (again.version, again.digest) == ("v0", art.digest)
    (src / "a.txt").write_text("changed")
    newer = run.log_artifact(_dataset(src))
    assert (newer.version, newer.aliases) == ("v1", ["latest"])
    run.finish()
    kinds = [r[1] for r in records.read_log(run.path / "events.log")]
    assert kinds.count("art") == 3
    assert [a.qualified_name for a in tracker.Api().run(run.id).logged_artifacts()] == ["mnist:v0", "mnist:v1"]

    user = tracker.init(project="p")
    best = user.use_artifact("mnist:best")
    assert (best.version, best.aliases, best.type, best.metadata) == ("v0", ["best"], "dataset", {"rows": 3})
    out = Path(best.download(tmp_path / "out"))
    assert (out / "a.txt").read_text() == "hello"
    assert (out / "data" / "sub" / "y.bin").read_bytes() == b"\x00" * 1000
    assert not (out / "train.csv").exists()  # a reference is recorded, not fetched
    assert best.references() == {"train.csv": "s3://bucket/train.csv"}
    assert user.use_artifact("p/mnist:latest").version == "v1"
    assert tracker.use_artifact("entity/p/mnist:v0").digest == art.digest
    assert user.use_artifact("mnist").version == "v1"
    user.finish()
    assert [a.qualified_name for a in tracker.Api().run(user.id).used_artifacts()] == ["mnist:v0", "mnist:v1"]
    used = [r[3] for r in records.read_log(user.path / "events.log") if r[1] == "use"]
    assert [(u["name"], u["version"]) for u in used] == [("mnist", "v0"), ("mnist", "v1"), ("mnist", "v0"),
                                                         ("mnist", "v1")]


def test_another_process_reads_the_versions(tracker_env, tmp_path):
    src = _files(tmp_path)
    with tracker.init(project="p") as run:
        run.log_artifact(_dataset(src))
        run.log_artifact(src / "a.txt", name="notes", type="text", aliases=["first"])
    script = ("import tracker\nrun = tracker.init(project='p')\na = run.use_artifact('notes:first')\n"
              "print(a.version, a.type, a.files(), open(a.download('got') + '/a.txt').read())\nrun.finish()\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout
    assert out.strip().splitlines()[-1] == "v0 text ['a.txt'] hello"


def test_usage_errors_name_the_problem(tracker_env, tmp_path):
    src = _files(tmp_path)
    with pytest.raises(ValueError, match="'bad name!' is not a valid artifact name"):
        tracker.Artifact("bad name!", "dataset")
    with pytest.raises(ValueError, match="type"):
        tracker.Artifact("ok", "")
    art = tracker.Artifact("ok", "dataset")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        art.add_file(tmp_path / "nope.txt")
    with pytest.raises(NotADirectoryError, match="nodir"):
        art.add_dir(tmp_path / "nodir")
    with pytest.raises(ValueError, match="not a relative path"):
        art.add_file(src / "a.txt", name="../up.txt")
    with pytest.raises(ValueError, match="give a URI"):
        art.add_reference("just-a-name")
    with pytest.raises(ValueError, match="not logged yet"):
        art.download(tmp_path / "x")
    run = tracker.init(project="p")
    with pytest.raises(ValueError, match="is empty"):
        run.log_artifact(art)
    art.add_file(src / "a.txt")
    with pytest.raises(ValueError, match="'v3' is not a valid alias"):
        run.log_artifact(art, aliases=["v3"])
    logged = run.log_artifact(art)
    with pytest.raises(ValueError, match="on a logged artifact"):
        logged.add_file(src / "a.txt", name="b.txt")
    with pytest.raises(KeyError, match="no artifact ok:v7 in project 'p'"):
        run.use_artifact("ok:v7")
    with pytest.raises(ValueError, match="is of type 'dataset'"):
        run.use_artifact("ok:latest", type="model")
    with pytest.raises(TypeError, match="takes a name"):
        run.use_artifact(3)
    run.finish()
    with pytest.raises(ValueError, match="finished"):
        run.log_artifact(art)


def test_an_unreadable_file_is_reported_not_raised(tracker_env, tmp_path):
    src = _files(tmp_path)
    art = tracker.Artifact("ok", "dataset")
    art.add_file(src / "a.txt")
    (src / "a.txt").unlink()  # gone between add_file and log_artifact
    run = tracker.init(project="p")
    result = run.log_artifact(art)
    assert result.version is None
    run.finish()
    assert "log_artifact('ok'): not stored" in (run.path / "logs" / "debug.log").read_text()


def test_a_disabled_run_accepts_artifacts_and_reads_none(tracker_env, tmp_path):
    run = tracker.init(mode="disabled")
    art = tracker.Artifact("x", "dataset")
    assert run.log_artifact(art) is art
    used = run.use_artifact("p/x:latest", type="dataset")
    assert (used.name, used.type, used.version) == ("x", "dataset", None)
    with pytest.raises(ValueError, match="not logged yet"):
        used.download(tmp_path / "x")
    run.finish()


def test_an_artifact_used_then_logged_again_by_another_run_is_stored_there_too(tracker_env, tmp_path):
    src = _files(tmp_path)
    with tracker.init(project="p") as first:
        first.log_artifact(_dataset(src))
    with tracker.init(project="p") as second:
        used = second.use_artifact("mnist:latest")
        again = second.log_artifact(used, aliases=["checked"])
    assert (again.version, again.aliases) == ("v0", ["latest", "checked"])
    blobs = {p.name for p in (second.path / "artifacts" / "blobs").iterdir()}
    assert blobs == {p.name for p in (first.path / "artifacts" / "blobs").iterdir()}  # self-contained for sync
