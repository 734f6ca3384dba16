"""``tracker import wandb`` on runs that wandb itself wrote, offline (no network), in this test."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records
from jupyter_tracker.cli import main
from tests.integrations.frameworks import NO_NETWORK

pytestmark = pytest.mark.integration
WRITER = Path(__file__).resolve().parent / "scripts" / "wandb_write.py"


@pytest.fixture(scope="module")
def wandb_runs(tmp_path_factory) -> dict:
    """A full run, a run resumed once (two folders) and a run killed mid-way, written by wandb."""
    folder = tmp_path_factory.mktemp("wandb")
    out = {"root": folder}
    for what in ("full", "resumed", "killed"):
        done = subprocess.run([sys.executable, str(WRITER), what], cwd=folder, capture_output=True, text=True,
                              env={**os.environ, **NO_NETWORK}, timeout=180)
        assert done.returncode == (0 if what != "killed" else -9), done.stderr[-3000:]
        out[what] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


@pytest.fixture(scope="module")
def wandb_media_run(tmp_path_factory) -> dict:
    """A run that logged images, a list of images, histograms and tables, written by wandb."""
    folder = tmp_path_factory.mktemp("wandb-media")
    done = subprocess.run([sys.executable, str(WRITER), "media"], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, **NO_NETWORK}, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"root": folder, **json.loads(done.stdout.strip().splitlines()[-1])}


def test_media_become_media_records_with_their_files(wandb_media_run, tracker_env, capsys):
    import numpy as np

    assert main(["import", "wandb", str(wandb_media_run["root"] / wandb_media_run["dir"])]) == 0
    out = capsys.readouterr().out
    assert "media values" not in out and "values of wandb" not in out, out  # every media value imported
    run = tracker.Api().run(wandb_media_run["id"])
    assert [r["x"] for r in run.history(keys=["x"])] == [0.0, 1.0, 2.0]
    for step in range(3):
        pixels = np.zeros((6, 8, 3), dtype=np.uint8)
        pixels[:, step, 0] = 255
        assert np.array_equal(np.asarray(run.media("img", step=step)), pixels)
        grid = run.media("grid", step=step)
        assert [np.asarray(i).shape for i in grid] == [(6, 8, 3), (6, 8)]
        counts, edges = run.media("hist", step=step)
        assert counts.sum() == 100 and edges[0] == 0 and edges[-1] == 99 * (step + 1)
        # wandb writes a table logged again unchanged once: each step still finds its file
        assert run.media("tab", step=step, pandas=False) == {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}
    counts, edges = run.media("given")
    assert counts.tolist() == [1, 2] and edges.tolist() == [0.0, 1.0, 2.0]
    summary = run.summary
    assert summary["img"]["caption"] == "c2" and summary["tab"]["_type"] == "table-file"
    for record in records.read_log(Path(run.dir) / "events.log"):
        if record[1] == "media":
            for reference in record[3]["values"].values():
                for item in reference.get("items", [reference]):
                    if "path" in item:
                        assert (Path(run.dir) / "files" / item["path"]).is_file(), item


def test_a_full_wandb_run(wandb_runs, tracker_env, capsys):
    full = wandb_runs["full"]
    assert main(["import", "wandb", str(wandb_runs["root"] / full["dir"])]) == 0
    out = capsys.readouterr().out
    assert f"imported as run {full['id']}" in out and "20 history values that are not numbers" in out
    run = tracker.Api().run(full["id"])
    assert run.state == "finished" and run.name == "full-run" and run.project == "wb"
    assert run.group == "g1" and run.job_type == "train" and run.tags == ["a", "b"] and run.notes == "some notes"
    assert run.info["host"] and run.info["program"].endswith("wandb_write.py") and run.info["wandb_id"] == full["id"]
    config = run.config
    assert config["lr"] == 0.01 and config["layers"] == [8, 4] and config["opt"] == {"name": "adam", "beta": 0.9}
    assert config["late"] == 7 and config["long"] == "x" * 80_000 and "_wandb" not in config

    rows = run.history()
    for row, logged in zip(rows, full["logged"]):
        assert {k: row[k] for k in logged} == logged  # the same steps, values, nested keys as a/b
    assert len(rows) == 21 and rows[-1]["_step"] == 20 and math.isnan(rows[-1]["odd"])
    assert all(b["_timestamp"] >= a["_timestamp"] for a, b in zip(rows, rows[1:]))

    specs = {m["name"]: m for m in run.metrics}
    assert specs["val/*"]["step_metric"] == "epoch" and specs["val/*"]["summary"] == "max"  # the custom x axis
    assert specs["train/loss"]["summary"] == "min" and "epoch" in specs
    summary = run.summary
    assert summary["train/loss"] == pytest.approx(0.05) and summary["val/acc"] == pytest.approx(0.95)
    assert summary["best"] == 0.5 and summary["note"] == "hello"  # set by hand in wandb
    assert summary["label"] == "text"  # wandb's summary keeps the last string logged

    system = run.system()
    assert len(system) >= 3 and all("proc/rss_mb" in s and "_timestamp" in s for s in system)
    assert "notes.txt" in run.files
    assert (Path(run.dir) / "files" / "notes.txt").read_text() == "a saved file"

    assert main(["import", "wandb", str(wandb_runs["root"] / "wandb")]) == 0  # again, with the others
    out = capsys.readouterr().out
    assert f"already imported as run {full['id']}" in out and out.count("imported as run") == 3


def test_a_resumed_run_is_one_run(wandb_runs, tracker_env, capsys):
    root = wandb_runs["root"] / "wandb"
    folders = sorted(str(p) for p in root.glob("offline-run-*-resumeme"))
    assert len(folders) == 2
    assert main(["import", "wandb", *folders]) == 0
    assert "started its steps again at 0: its rows follow the earlier ones, from step 5" in capsys.readouterr().out
    (run,) = tracker.Api().runs()
    assert run.id == "resumeme" and run.state == "finished"
    assert [(r["_step"], r["x"]) for r in run.history()] == [(i, i) for i in range(10)]


def test_a_killed_run_is_crashed_with_what_wandb_had_written(wandb_runs, tracker_env, capsys):
    killed = wandb_runs["killed"]
    assert main(["import", "wandb", str(wandb_runs["root"] / killed["dir"])]) == 0
    run = tracker.Api().run(killed["id"])
    assert run.state == "crashed" and "no exit record" in run.info["crash_reason"]
    rows = run.history(samples=None)
    assert len(rows) > 1000 and [(r["_step"], r["x"]) for r in rows] == [(i, i) for i in range(len(rows))]


def test_a_damaged_log_keeps_the_blocks_around_the_damage(wandb_runs, tracker_env, tmp_path, capsys):
    source = wandb_runs["root"] / wandb_runs["killed"]["dir"]
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    (log,) = copy.glob("*.wandb")
    data = bytearray(log.read_bytes())
    assert len(data) > 4 * 32768
    data[2 * 32768 + 100] ^= 0xFF  # one byte in the third block
    log.write_bytes(bytes(data))
    assert main(["import", "wandb", str(copy)]) == 0
    assert "not imported: 1 damaged 32 KiB blocks of the wandb log (CRC mismatch)" in capsys.readouterr().out
    rows = tracker.Api().run(wandb_runs["killed"]["id"]).history(samples=None)
    steps = [r["_step"] for r in rows]
    assert steps[0] == 0 and steps == sorted(steps)
    gap = [b - a for a, b in zip(steps, steps[1:]) if b - a > 1]
    assert len(gap) == 1 and 10 < gap[0] < 500  # one block's rows lost, the rest read
    assert all(r["x"] == r["_step"] for r in rows)


def test_bad_input_and_a_missing_wandb(tmp_path, tracker_env, capsys):
    folder = tmp_path / "offline-run-20260101_000000-abc"
    folder.mkdir()
    (folder / "run-abc.wandb").write_bytes(b"PK\x03\x04 not a wandb log")
    assert main(["import", "wandb", str(folder)]) == 2
    assert "run-abc.wandb: not a wandb run log (its header is not ':W&B')" in capsys.readouterr().err
    assert main(["import", "wandb", str(tmp_path / "nope")]) == 2
    assert "nope: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["import", "wandb", str(tmp_path / "empty")]) == 2
    assert "neither a wandb run folder (with a .wandb file) nor a folder holding some" in capsys.readouterr().err
    code = ("import sys; sys.modules['wandb'] = None\n"
            "from jupyter_tracker.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "import", "wandb", str(folder)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "needs wandb: pip install 'jupyter-tracker[wandb]'" in done.stderr


def test_a_torn_log_keeps_every_whole_record(wandb_runs, tracker_env, tmp_path, capsys):
    source = wandb_runs["root"] / wandb_runs["full"]["dir"]
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    (log,) = copy.glob("*.wandb")
    log.write_bytes(log.read_bytes()[:-5])  # the last record cut short, as by a kill during a write
    assert main(["import", "wandb", str(copy)]) == 0
    assert "not imported: 1 torn last record of the wandb log" in capsys.readouterr().out
    run = tracker.Api().run(wandb_runs["full"]["id"])
    assert run.state == "crashed"  # the exit record was the one cut
    assert len(run.history()) == 21 and run.config["long"] == "x" * 80_000
