"""The run API in this process: semantics of log, config, summary, finish, resume."""

import math
import os
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records
from jupyter_tracker.kernel import writer


def debug_log(run) -> str:
    return (run.path / "logs" / "debug.log").read_text()


def warnings_logged(run) -> str:
    """The WARNING lines of debug.log (repeats of a once-only message are DEBUG lines)."""
    return "\n".join(line for line in debug_log(run).splitlines() if " WARNING " in line)


def read_back(run):
    return tracker.Api().run(run.id)


def test_the_issue_walkthrough_reads_back_in_another_process(tracker_env):
    run = tracker.init(project="demo", name="first", config={"lr": 0.01, "batch": 64})
    for i in range(20000):
        tracker.log({"train/loss": 1 / (i + 1), "train/acc": i / 20000})
    tracker.define_metric("val/*", step_metric="epoch")
    tracker.log({"val/loss": 0.5, "epoch": 1})
    tracker.summary["best"] = 0.9
    started = time.monotonic()
    tracker.finish()
    assert time.monotonic() - started < 0.5
    script = (
        "import tracker; r = tracker.Api().runs(project='demo')[0];"
        "rows = r.history(keys=['train/loss'], samples=None);"
        "print(r.state, r.name, r.config['lr'], r.summary['best'], len(rows), rows[-1]['_step'],"
        " sorted(rows[0]), len(r.history(keys=['val/loss'])))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split(" ", 6)[:6] == ["finished", "first", "0.01", "0.9", "20000", "19999"]
    assert "['_step', '_timestamp', 'train/loss'] 1" in out
    assert run.state == "finished"


def test_steps_implicit_explicit_commit_and_merging(tracker_env):
    run = tracker.init()
    run.log({"a": 1.0})  # step 0
    run.log({"a": 2.0}, commit=False)  # step 1, still open
    run.log({"b": 3.0})  # step 1, committed
    run.log({"a": 4.0}, step=5)  # jumps to 5, open
    run.log({"b": 5.0}, step=5)  # same row
    run.log({"a": 6.0})  # step 5 committed
    run.log({"a": 7.0}, step=np.int64(9), commit=True)  # 9, committed
    run.log({"a": 8.0})  # step 10
    assert run.step == 11
    run.finish()
    rows = read_back(run).history(samples=None)
    assert [(r["_step"], r.get("a"), r.get("b")) for r in rows] == [
        (0, 1.0, None), (1, 2.0, 3.0), (5, 6.0, 5.0), (9, 7.0, None), (10, 8.0, None)
    ]


def test_lower_step_is_not_written_and_said_once_per_metric(tracker_env):
    run = tracker.init()
    run.log({"a": 1.0, "b": 1.0}, step=10)
    run.log({"a": 2.0, "b": 2.0}, step=3)
    run.log({"a": 3.0}, step=4)
    run.log({"a": 4.0}, step=11)
    run.finish()
    rows = read_back(run).history(samples=None)
    assert [(r["_step"], r["a"]) for r in rows] == [(10, 1.0), (11, 4.0)]
    text = warnings_logged(run)
    assert text.count("'a' was not written") == 1 and text.count("'b' was not written") == 1
    assert "lower than the current step 11" in text or "lower than the current step 10" in text


def test_flattening_and_value_types(tracker_env):
    run = tracker.init()
    run.log({
        "train": {"loss": 1.5, "deep": {"x": 2}},
        "flag": True,
        "np32": np.float32(0.25),
        "np0d": np.array(3.5),
        "npint": np.int32(7),
        "big": 10**40,
        "nan": math.nan,
        "inf": -math.inf,
    })
    run.finish()
    (row,) = read_back(run).history(samples=None)
    assert row["train/loss"] == 1.5 and row["train/deep/x"] == 2 and row["flag"] == 1.0
    assert row["np32"] == 0.25 and row["np0d"] == 3.5 and row["npint"] == 7.0
    assert row["big"] == pytest.approx(1e40)
    assert math.isnan(row["nan"]) and row["inf"] == -math.inf


def test_a_bad_value_drops_only_its_key_with_a_message(tracker_env):
    run = tracker.init()
    run.log({"loss": 1.0, "name": "resnet", "arr": [1, 2], "obj": object(), "none": None})
    run.log({"loss": 2.0, "name": "again"})
    run.finish()
    rows = read_back(run).history(samples=None)
    assert rows == [{"_step": 0, "_timestamp": rows[0]["_timestamp"], "loss": 1.0},
                    {"_step": 1, "_timestamp": rows[1]["_timestamp"], "loss": 2.0}]
    text = warnings_logged(run)
    for key, kind in (("name", "str"), ("arr", "list"), ("obj", "object"), ("none", "NoneType")):
        assert f"'{key}' is a {kind}, not a number" in text
    assert text.count("'name' is a str") == 1  # once, not at every call


@pytest.mark.parametrize(
    "data, error, words",
    [
        ([("a", 1.0)], TypeError, "takes a dict of metrics, got list"),
        ("loss", TypeError, "got str"),
        ({1: 2.0}, TypeError, "keys must be strings, got 1"),
        ({"ok": 1.0, ("t",): 2.0}, TypeError, "('t',)"),
        ({"outer": {3: 1.0}}, TypeError, "outer/3"),
        ({"_step": 1.0}, ValueError, "'_step' is reserved"),
        ({"": 1.0}, ValueError, "empty metric key"),
        ({"k" * 300: 1.0}, ValueError, "the limit is 256"),
    ],
)
def test_usage_errors_raise_naming_the_problem_and_log_nothing(tracker_env, data, error, words):
    run = tracker.init()
    run.log({"before": 1.0})
    with pytest.raises(error, match=re.escape(words)):
        run.log(data)
    run.log({"after": 2.0})
    run.finish()
    rows = read_back(run).history(samples=None)
    assert [sorted(k for k in r if not k.startswith("_")) for r in rows] == [["before"], ["after"]]


def test_bad_steps_raise(tracker_env):
    run = tracker.init()
    with pytest.raises(TypeError, match="step"):
        run.log({"a": 1.0}, step=1.5)
    with pytest.raises(TypeError, match="step"):
        run.log({"a": 1.0}, step=True)
    with pytest.raises(ValueError, match="steps start at 0"):
        run.log({"a": 1.0}, step=-1)


def test_log_after_finish_raises(tracker_env):
    run = tracker.init()
    run.log({"a": 1.0})
    run.finish()
    for call in (lambda: run.log({"a": 2.0}), lambda: run.log({"new": 2.0}), lambda: run.config.update({"x": 1})):
        with pytest.raises(ValueError, match="finished"):
            call()
    with pytest.raises(RuntimeError, match="no active run"):
        tracker.log({"a": 1.0})
    assert len(read_back(run).history(samples=None)) == 1


def test_config_semantics(tracker_env):
    run = tracker.init(config={"lr": 0.1, "layers": (64, 32)})
    assert run.config.lr == 0.1 and run.config["layers"] == [64, 32]
    run.config.update({"lr": 0.1, "wd": 0.0})  # same value again: fine (re-run cells)
    run.config.batch = 32
    with pytest.raises(ValueError, match="'lr' already holds 0.1"):
        run.config["lr"] = 0.2
    run.config.update({"lr": 0.2}, allow_val_change=True)
    with pytest.raises(TypeError):
        del run.config["lr"]
    with pytest.raises(AttributeError, match="no key 'missing'"):
        run.config.missing
    run.finish()
    assert read_back(run).config == {"lr": 0.2, "layers": [64, 32], "wd": 0.0, "batch": 32}


def test_a_100_mb_config_value_is_refused_with_a_message(tracker_env):
    run = tracker.init()
    with pytest.raises(ValueError, match=r"'blob' is 100\.0 MB"):
        run.config.update({"blob": "x" * 100_000_000})
    run.config.update({"small": 1})
    run.finish()
    assert read_back(run).config == {"small": 1}


def test_summary_rules_and_overrides_end_to_end(tracker_env):
    run = tracker.init()
    run.define_metric("loss", summary="min")
    run.define_metric("val/*", step_metric="epoch", summary="max")
    for i, loss in enumerate([3.0, 1.0, math.nan, 2.0]):
        run.log({"loss": loss, "val/acc": i / 10, "epoch": i})
    assert run.summary["loss"] == 1.0 and run.summary["val/acc"] == 0.3
    run.summary["note"] = "best so far"
    run.summary.update({"loss": 0.5})
    del run.summary["epoch"]
    with pytest.raises(ValueError, match="summary="):
        run.define_metric("x", summary="median")
    with pytest.raises(ValueError, match="only allowed at the end"):
        run.define_metric("a*b")
    run.finish()
    back = read_back(run)
    assert back.summary == {"loss": 0.5, "val/acc": 0.3, "note": "best so far"}
    assert back.metrics[1] == {"name": "val/*", "step_metric": "epoch", "summary": "max", "hidden": False}


def test_context_manager_marks_failed_on_exception(tracker_env):
    with pytest.raises(RuntimeError):
        with tracker.init(name="boom") as run:
            run.log({"a": 1.0})
            raise RuntimeError("training diverged")
    assert run.state == "failed"
    assert read_back(run).state == "failed"
    with tracker.init(name="ok") as run2:
        run2.log({"a": 1.0})
    assert read_back(run2).state == "finished"


def test_unknown_mode_and_bad_arguments(tracker_env):
    with pytest.raises(ValueError, match="mode='fast'"):
        tracker.init(mode="fast")
    with pytest.raises(TypeError, match="config"):
        tracker.init(config=[1, 2])
    with pytest.raises(ValueError, match="resume="):
        tracker.init(resume="maybe")
    with pytest.raises(ValueError, match="not a valid run id"):
        tracker.init(id="a/b")
    with pytest.raises(TypeError, match="tags"):
        tracker.init(tags="one")
    assert not tracker_env.exists() or not list(tracker_env.glob("*run-*"))


def test_unwritable_tracker_dir_fails_at_init_naming_it(tracker_env, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TRACKER_DIR", str(blocker / "runs"))
    with pytest.raises(OSError, match=re.escape(str(blocker / "runs"))):
        tracker.init()


def test_disabled_mode_does_nothing(tracker_env):
    run = tracker.init(mode="disabled", config={"a": 1})
    run.log({"x": 1.0})
    run.log("anything")  # a disabled run accepts every call
    run.define_metric("x", summary="max")
    assert run.config.a == 1 and run.save("*") == []
    run.finish()
    assert not tracker_env.exists() or not any(tracker_env.iterdir())


def test_reinit_finishes_the_previous_run(tracker_env):
    first = tracker.init(name="one")
    first.log({"a": 1.0})
    second = tracker.init(name="two")
    assert first.state == "finished" and second.state == "running"
    assert tracker.current() is second
    assert [r.name for r in tracker.Api().runs()] == ["two", "one"]


def test_names_and_ids(tracker_env):
    run = tracker.init()
    assert re.fullmatch(r"[a-z0-9]{8}", run.id)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.name)
    run.name = "renamed"
    run.tags = ["a", "b"]
    run.finish()
    back = read_back(run)
    assert back.name == "renamed" and back.tags == ["a", "b"]
    assert back.dir.endswith(run.id) and os.path.basename(back.dir).startswith("offline-run-")


def test_resume_allow_must_never(tracker_env):
    with pytest.raises(ValueError, match="no run with that id"):
        tracker.init(id="myrun1", resume="must")
    run = tracker.init(id="myrun1", config={"lr": 1})
    run.log({"a": 1.0})
    run.log({"a": 2.0})
    run.summary["kept"] = 1
    run.finish()
    with pytest.raises(ValueError, match="exists already"):
        tracker.init(id="myrun1")
    with pytest.raises(ValueError, match="exists already"):
        tracker.init(id="myrun1", resume="never")
    again = tracker.init(id="myrun1", resume=True, config={"lr": 2})
    assert again.step == 2 and again.config.lr == 2 and again.summary["kept"] == 1
    again.log({"a": 3.0})
    again.finish()
    back = read_back(again)
    assert [(r["_step"], r["a"]) for r in back.history(samples=None)] == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert back.state == "finished" and back.info["resumes"] == 1
    assert [p.name for p in tracker_env.iterdir() if "run-" in p.name and p.is_dir()].__len__() == 1


def test_save_policies(tracker_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.txt").write_text("v1")
    (tmp_path / "final.txt").write_text("draft")
    run = tracker.init()
    assert run.save("model.txt") == ["model.txt"]
    run.save("final.txt", policy="end")
    with pytest.raises(ValueError, match="policy"):
        run.save("x", policy="sometimes")
    time.sleep(0.05)
    (tmp_path / "model.txt").write_text("v2")
    (tmp_path / "final.txt").write_text("done")
    run.finish()
    files = run.path / "files"
    assert (files / "model.txt").read_text() == "v2"  # live: copied again when it changed
    assert (files / "final.txt").read_text() == "done"


def test_a_failing_disk_never_raises_and_loses_nothing(tracker_env):
    run = tracker.init()
    events = run.path / "events.log"
    run.log({"a": 0.0})
    run._writer.drain()
    saved = events.read_bytes()
    events.unlink()
    events.symlink_to("/dev/full")  # every write fails with ENOSPC
    run._writer._close_fd()
    for i in range(1, 1000):
        run.log({"a": float(i)})
    time.sleep(0.3)
    assert "cannot write events.log" in debug_log(run)
    events.unlink()
    events.write_bytes(saved)  # the disk is back
    run.finish()
    rows = read_back(run).history(samples=None)
    assert [r["a"] for r in rows] == [float(i) for i in range(1000)]
    assert re.search(r"events.log is writable again: the [\d,]+ records kept in memory meanwhile are written; "
                     "nothing was lost", debug_log(run))


def test_backpressure_waits_for_a_stalled_disk_and_says_so(tracker_env, monkeypatch):
    monkeypatch.setattr(writer, "QUEUE_LIMIT", 2000)
    real_write = records.write_all
    stalled = threading.Event()

    def slow_write(fd, data):
        if not stalled.is_set():
            stalled.set()
            time.sleep(0.5)  # the disk hangs once
        real_write(fd, data)

    monkeypatch.setattr(records, "write_all", slow_write)
    run = tracker.init()
    run.log({"a": -1.0})
    run._writer.wake()
    assert stalled.wait(5)
    started = time.monotonic()
    for i in range(20000):
        run.log({"a": float(i)})
    waited = time.monotonic() - started
    run.finish()
    assert "faster than the disk" in debug_log(run)
    assert waited > 0.2  # log() waited for the writer instead of queueing without bound
    assert len(read_back(run).history(samples=None)) == 20001


def test_module_level_functions_before_init_explain(tracker_env):
    with pytest.raises(RuntimeError, match="call tracker.init"):
        tracker.config["a"]
    with pytest.raises(RuntimeError, match="call tracker.init"):
        tracker.define_metric("a")
    assert "no active run" in repr(tracker.summary)
    tracker.finish()  # nothing to finish: fine


def test_save_end_copies_and_records_every_file_before_the_log_closes(tracker_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    run = tracker.init()
    run.save("a.txt", policy="end")
    run.save("b.txt", policy="end")
    run.save("*.txt", policy="end")
    run.save("missing.bin", policy="end")
    (tmp_path / "a.txt").write_text("a, final")
    run.finish()
    files = run.path / "files"
    assert sorted(p.name for p in files.iterdir() if p.is_file()) == ["a.txt", "b.txt", "c.txt"]
    assert (files / "a.txt").read_text() == "a, final"
    from jupyter_tracker.replay import replay

    recorded = replay(run.path / "events.log").files
    assert [f["path"] for f in recorded] == ["a.txt", "b.txt", "a.txt", "b.txt", "c.txt"]
    assert all(f["policy"] == "end" for f in recorded)
    assert "save('missing.bin', policy='end'): no file matches it at finish" in warnings_logged(run)


def test_sys_exit_inside_a_with_block_records_its_code(tracker_env):
    with pytest.raises(SystemExit):
        with tracker.init(name="exits") as run:
            run.log({"a": 1.0})
            sys.exit(4)
    assert (read_back(run).state, read_back(run).info["exit_code"]) == ("failed", 4)
    with pytest.raises(SystemExit):
        with tracker.init(name="clean-exit") as run:
            sys.exit(0)
    assert (read_back(run).state, read_back(run).info["exit_code"]) == ("finished", 0)


def test_exit_hooks_are_ours_only_while_a_script_records_a_run(tracker_env, monkeypatch):
    from jupyter_tracker.kernel import exits, session

    monkeypatch.setattr(session, "ipython", lambda: None)  # a plain script (other tests start IPython)
    assert not exits.installed()
    run = tracker.init()
    assert exits.installed() and hasattr(sys.exit, "__wrapped__")
    run.finish()
    assert not exits.installed() and not hasattr(sys.exit, "__wrapped__")


def test_the_fast_path_never_takes_a_row_over_the_key_limit(tracker_env):
    from jupyter_tracker.limits import MAX_KEYS_PER_RECORD

    run = tracker.init()
    wide = {f"k{i}": 1.0 for i in range(MAX_KEYS_PER_RECORD)}
    run.log(wide)  # the most one call may hold
    run.log({"z": 1.0})  # a key past the limit of known keys: not known, checked every time
    with pytest.raises(ValueError, match="10,001 metric keys in one call"):
        run.log({**wide, "z": 2.0})
    run.finish()
    assert [len(r) - 2 for r in read_back(run).history(samples=None)] == [MAX_KEYS_PER_RECORD, 1]


def test_a_finish_that_cannot_write_its_files_still_finishes(tracker_env, monkeypatch):
    run = tracker.init()
    run.log({"a": 1.0})
    run.on_finish(lambda state: 1 / 0)
    run.finish()  # a failure of ours is said, never raised
    assert read_back(run).state == "finished"
    assert "finish(): <lambda> failed (ZeroDivisionError" in warnings_logged(run)
    assert (run.path / "summary.json").exists()


def test_finish_takes_only_exit_codes_a_run_can_hold(tracker_env):
    run = tracker.init()
    with pytest.raises(TypeError, match=r"finish\(exit_code=...\) must be an integer, got 'no'"):
        run.finish(exit_code="no")
    with pytest.raises(ValueError, match="exit codes go from -2147483647 to 2147483647"):
        run.finish(exit_code=2**40)
    run.finish(exit_code=2)
    assert (read_back(run).state, read_back(run).info["exit_code"]) == ("failed", 2)
    from jupyter_tracker.kernel.run import exit_status

    assert [exit_status(c) for c in (None, 0, 3, -1, 2**40, "msg")] == [0, 0, 3, -1, 1, 1]
