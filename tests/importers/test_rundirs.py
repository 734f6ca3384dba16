"""Writing imported runs (importers/rundirs.py): ids, frames, an interrupted import, files."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records, rundir
from jupyter_tracker.importers import rundirs
from jupyter_tracker.importers.rundirs import Imported, RowBuilder, stable_id, write_run

T0 = 1_800_000_000.0


def sample(rows: int = 600, **changes) -> Imported:
    imported = Imported(source="test", path="/somewhere", run_id=stable_id("test", "/somewhere"), project="p",
                        name="n", created_at=T0, finished_at=T0 + rows, **changes)
    builder = RowBuilder(imported)
    for step in range(rows):
        builder.add(step, T0 + step, "x", step * 0.5)
        builder.add(step, T0 + step, "_step", 1)  # reserved: refused, counted once
        builder.add(step, T0 + step, "name", "text")  # not a number: counted
    imported.body = [["c", T0, {"lr": 0.1}], *builder.records()]
    imported.fingerprint = "one"
    return imported


def test_stable_ids_are_valid_run_ids_and_depend_on_every_part():
    first = stable_id("tensorboard", "/logs/a")
    assert first == stable_id("tensorboard", "/logs/a") and len(first) == 8 and first.isalnum()
    assert first != stable_id("tensorboard", "/logs/b") != stable_id("csv", "/logs/a")


def test_a_written_run_reads_back_whole_in_frames_of_at_most_256_records(tracker_env):
    imported = sample()
    outcome = write_run(tracker_env, imported)
    assert outcome.status == "imported" and outcome.rows == 600
    assert imported.skipped == {"metric '_step': key '_step' is reserved for the tracker; choose another name": 1,
                                "values that are not numbers": 600}
    lines = (outcome.path / rundir.EVENTS).read_bytes().splitlines()
    frames = [records.decode_line(line) for line in lines]
    assert all(frame is not None and len(frame) <= records.FRAME_RECORDS for frame in frames)
    assert [r[0] for frame in frames for r in frame] == list(range(1, 604))  # start, c, 600 h, state
    run = tracker.Api().run(imported.run_id)
    assert run.state == "finished" and run.config == {"lr": 0.1} and run.info["steps"] == 599
    assert outcome.path.name == rundir.dir_name(imported.run_id, True, T0)  # named by the source's start
    assert not (tracker_env / "latest-run").exists()  # an import is not the latest run


def test_an_interrupted_import_leaves_nothing_behind(tracker_env, monkeypatch):
    calls = []

    def broken(chunk):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return records_encode(chunk)

    records_encode = records.encode
    monkeypatch.setattr(rundirs.records, "encode", broken)
    with pytest.raises(KeyboardInterrupt):
        write_run(tracker_env, sample())
    assert list(tracker_env.iterdir()) == []  # neither a run directory nor the scratch folder


def test_files_are_copied_and_a_missing_one_is_named(tracker_env, tmp_path):
    present = tmp_path / "model.txt"
    present.write_text("weights")
    imported = sample(rows=3, files={"model.txt": present, "gone.txt": tmp_path / "gone.txt"})
    outcome = write_run(tracker_env, imported)
    assert (outcome.path / "files" / "model.txt").read_text() == "weights"
    assert any(key.startswith("file 'gone.txt' could not be copied") for key in imported.skipped)
    run = tracker.Api().run(imported.run_id)
    assert "model.txt" in run.files
