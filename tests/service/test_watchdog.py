"""The service's watchdog: marking a run crashed, never over a process that resumed it."""

from __future__ import annotations

import subprocess
import sys

import jupyter_tracker as tracker
from jupyter_tracker import records, rundir
from jupyter_tracker.replay import replay
from jupyter_tracker.service.watchdog import mark_crashed

RESUMER = """
import sys, tracker
run = tracker.init(id="crash1", resume="allow")
run.log({"x": 99.0})
print("recording", flush=True)
sys.stdin.readline()
run.finish()
"""


def _a_run_whose_process_died() -> tracker.Run:
    run = tracker.init(id="crash1")
    run.log({"x": 1.0})
    run._writer.drain()
    events = run.path / rundir.EVENTS
    before_finish = events.read_bytes()
    run.finish()
    info = rundir.read_info(run.path)
    info["state"] = "running"  # as a killed process leaves it: no state record,
    rundir.write_info(run.path, info)
    events.write_bytes(before_finish + b'[[9,"h",5,1.0,{"x"')  # and a torn last frame
    return run


def test_a_run_a_live_process_resumed_is_not_marked_crashed(tracker_env):
    run = _a_run_whose_process_died()
    resumer = subprocess.Popen([sys.executable, "-c", RESUMER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert resumer.stdout.readline().strip() == "recording"
        assert mark_crashed(run.path, "the kernel process ended without finishing the run") is False
        assert rundir.read_info(run.path)["state"] == "running"
        resumer.stdin.write("\n")
        resumer.stdin.flush()
        assert resumer.wait(30) == 0
    finally:
        if resumer.poll() is None:
            resumer.kill()
        resumer.communicate()
    log = replay(run.path / rundir.EVENTS)
    assert log.state == "finished" and [r["x"] for r in log.rows] == [1.0, 99.0]


def test_a_run_nobody_records_is_marked_crashed_after_its_last_whole_frame(tracker_env):
    run = _a_run_whose_process_died()
    assert mark_crashed(run.path, "the kernel process ended without finishing the run") is True
    report = records.ReadReport()
    got = list(records.read_log(run.path / rundir.EVENTS, report))
    assert report.skipped == 0 and got[-1][1:2] == ["state"] and got[-1][3]["state"] == "crashed"
    assert [r[0] for r in got] == list(range(1, len(got) + 1))
    assert rundir.read_info(run.path)["state"] == "crashed"
    assert rundir.lock_holder(run.path)["role"] == "service"
    again = rundir.try_lock_run(run.path)  # let go again
    assert again is not None
    again.release()
