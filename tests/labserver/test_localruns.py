"""The local source's index: only changed runs are read again, and the index kept between
Jupyter servers is used only while each run's files are as they were."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jupyter_tracker.labserver import localruns
from jupyter_tracker.labserver.localruns import LocalSource, index_path, stamp_of
from jupyter_tracker.labserver.sources import ListQuery

from .conftest import make_run


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setattr(localruns, "_SAVE_EVERY", 0.0)
    return tmp_path / "jupyter-data"


def test_a_refresh_reads_only_the_runs_that_changed(tracker_env: Path, monkeypatch: pytest.MonkeyPatch):
    runs = [make_run("p", f"r{i}") for i in range(3)]
    source = LocalSource(lambda: [tracker_env])
    assert len(source.scan()) == 3
    built: list[str] = []
    real = localruns._resource
    monkeypatch.setattr(localruns, "_resource", lambda run, stamp, full: built.append(run.id) or real(run, stamp, full))
    source.scan()
    assert built == []
    with open(runs[1].path / "events.log", "ab") as handle:
        from jupyter_tracker import records

        handle.write(records.encode([[1000, "s", time.time(), {"set": {"note": 1}}]]))
    resources = source.scan()
    assert built == [runs[1].id]
    assert next(r for r in resources if r["id"] == runs[1].id)["summary"]["note"] == 1


def test_a_new_server_uses_the_saved_index_while_the_files_match(tracker_env: Path, data_dir: Path):
    runs = [make_run("p", f"r{i}") for i in range(3)]
    first = LocalSource(lambda: [tracker_env])
    listed, _ = first.runs(ListQuery())
    assert index_path(tracker_env).is_file() and str(index_path(tracker_env)).startswith(str(data_dir))
    assert not any((tracker_env / name).exists() for name in ("lab-index.json",))  # nothing written in the run folders

    second = LocalSource(lambda: [tracker_env])
    assert second.runs(ListQuery())[0] == listed
    assert all(entry._run is None for entry in second._entries.values())  # no run read again

    (runs[0].path / "run.json").write_text((runs[0].path / "run.json").read_text().replace('"r0"', '"renamed"'))
    third = LocalSource(lambda: [tracker_env])
    names = {r["name"] for r in third.runs(ListQuery())[0]}
    assert names == {"renamed", "r1", "r2"}  # a stale entry is not trusted


def test_a_damaged_saved_index_is_ignored(tracker_env: Path):
    make_run("p", "a")
    LocalSource(lambda: [tracker_env]).scan()
    index_path(tracker_env).write_bytes(b"{not json")
    assert [r["name"] for r in LocalSource(lambda: [tracker_env]).scan()] == ["a"]


def test_stamps_change_with_the_files(tracker_env: Path):
    run = make_run("p", "a")
    before = stamp_of(run.path)
    assert before[0] is not None and before[1] is not None and before[2] is None  # no sync.json offline
    (run.path / "sync.json").write_text("{}")
    assert stamp_of(run.path) != before


def test_lines_are_read_again_only_for_runs_that_changed(tracker_env: Path, monkeypatch: pytest.MonkeyPatch):
    from jupyter_tracker import api

    runs = [make_run("p", f"r{i}", steps=30) for i in range(3)]
    source = LocalSource(lambda: [tracker_env])
    ids = [r.id for r in runs]
    first = source.columns(ids, None, 2000, None, None, ("ema", 0.6))
    read: list[list[str]] = []
    real = api.Runs.columns
    monkeypatch.setattr(api.Runs, "columns", lambda self, *a, **k: read.append([r.id for r in self]) or real(self, *a, **k))
    again = source.columns(ids, None, 2000, None, None, ("ema", 0.6))
    assert read == [] and again.keys() == first.keys()
    with open(runs[2].path / "events.log", "ab") as handle:
        from jupyter_tracker import records

        handle.write(records.encode([[1000, "h", 30, time.time(), {"loss": 9.0}]]))
    changed = source.columns(ids, None, 2000, None, None, ("ema", 0.6))
    assert read == [[runs[2].id]]
    assert list(changed[runs[2].id]["loss"]["value"])[-1] == 9.0
    source.columns(ids, None, 2000, None, None, ("ema", 0.9))  # another question: read again
    assert read[-1] == ids
