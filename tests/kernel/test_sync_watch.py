"""What a script is told about its run's upload (kernel/sync_watch.py), from ``sync.json``."""

from __future__ import annotations

import time

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from jupyter_tracker.kernel import sync_watch
from jupyter_tracker.kernel.sync_watch import SyncWatch
from tests.waiting import wait_for


def status(run, state: str, message: str = "", acked: int = 0, failing_since: float | None = None) -> None:
    rundir.write_sync(run.path, {"events": {"acked": acked, "offset": 0}, "status": state, "message": message,
                                 "failing_since": failing_since})


def told(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("tracker:")]


def test_a_refused_upload_is_said_once(tracker_env, capsys):
    run = tracker.init(mode="offline")
    told(capsys)  # the banner
    watch = SyncWatch(run)
    watch.tick()
    status(run, "stopped", "http://h refused the token (401)")
    for _ in range(3):
        watch.tick()
    lines = told(capsys)
    assert len(lines) == 1 and "refused this run's upload: http://h refused the token (401)" in lines[0]
    assert f"tracker sync {run.path}" in lines[0]


def test_failures_are_said_after_a_while_once_per_episode(tracker_env, capsys):
    run = tracker.init(mode="offline")
    told(capsys)
    watch = SyncWatch(run)
    status(run, "retrying", "cannot reach http://h", failing_since=time.time() - 5)
    watch.tick()
    assert told(capsys) == []  # 5 s of failures: not yet
    since = time.time() - sync_watch.FAILING_FOR - 1
    status(run, "retrying", "cannot reach http://h", failing_since=since)
    watch.tick()
    watch.tick()
    lines = told(capsys)
    assert len(lines) == 1 and "has been failing for 31 s (cannot reach http://h)" in lines[0]
    status(run, "ok")
    watch.tick()
    status(run, "retrying", "cannot reach http://h", failing_since=since + 0.5)  # a new episode
    watch.tick()
    assert len(told(capsys)) == 1


def test_the_live_panel_shows_it_instead(tracker_env, capsys):
    run = tracker.init(mode="offline")
    told(capsys)
    shown = []
    run.notices.sink = shown.append  # what open_panel does
    status(run, "stopped", "refused (401)", acked=0)
    watch = SyncWatch(run)
    watch.tick()
    run.companions.sync_watch = watch
    run.finish()
    assert told(capsys) == [] and shown == []


def test_silent_mode_prints_nothing_and_keeps_it_in_debug_log(tracker_env, capsys, monkeypatch):
    monkeypatch.setenv("TRACKER_SILENT", "true")
    run = tracker.init(mode="offline")
    status(run, "stopped", "refused (401)")
    run.companions.sync_watch = SyncWatch(run)
    run.companions.sync_watch.tick()
    run.finish()
    assert capsys.readouterr().err == ""
    debug = (run.path / "logs" / "debug.log").read_text()
    assert "refused this run's upload" in debug and "records of this run are not on the server" in debug


def test_at_finish_the_records_not_on_the_server_are_counted(tracker_env, capsys):
    run = tracker.init(mode="offline")
    for i in range(100):
        run.log({"x": float(i)})
    run._sync(), told(capsys)
    status(run, "stopped", "refused (401)", acked=40)
    run.companions.sync_watch = SyncWatch(run)
    run.finish()
    lines = told(capsys)
    last = run._writer.seq  # start, 100 rows, state
    assert last == 102
    finish = [line for line in lines if "not on the server" in line]
    assert finish == [f"tracker: {last - 40} records of this run are not on the server (sync stopped: refused (401)); "
                      f"they are safe in {run.path}: run `tracker sync {run.path}`"]


def test_nothing_is_said_at_finish_while_the_upload_goes_well(tracker_env, capsys):
    run = tracker.init(mode="offline")
    run.log({"x": 1.0})
    status(run, "ok", acked=1)
    run.companions.sync_watch = SyncWatch(run)
    told(capsys)
    run.finish()
    assert [line for line in told(capsys) if "server" in line] == []


def test_an_online_run_against_an_unreachable_server_says_so(tracker_env, capsys, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TRACKER_API_KEY", "k")
    monkeypatch.setenv("TRACKER_MODE", "online")
    monkeypatch.setenv("TRACKER_SYNC_TIMEOUT", "1")
    monkeypatch.setattr(sync_watch, "FAILING_FOR", 1.0)
    run = tracker.init()
    assert run.companions.sync_watch is not None
    seen: list[str] = []

    def failing_said() -> bool:
        run.log({"x": 1.0})
        seen.extend(told(capsys))
        return any("has been failing for" in line for line in seen)

    wait_for(failing_said, timeout=30, interval=0.2)
    run.finish()
    seen.extend(told(capsys))
    finish = [line for line in seen if "not on the server" in line]
    assert len(finish) == 1 and "up to 1 s (TRACKER_SYNC_TIMEOUT)" in finish[0]
    wait_for(lambda: run.companions.service.exited() is not None, timeout=20)
    assert rundir.read_sync(run.path)["status"] == "not-synced"
