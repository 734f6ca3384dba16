"""Sync under faults (issue 8, items 8, 10, 11): real runs, real service processes, a real
``tracker server`` (SQLite and PostgreSQL), ``tracker sync`` as a command.

Each test injects the fault (a corrupt byte, a damaged first frame, a frame written
twice, an unreachable server, SIGTERM to the service, a deleted run folder, a wrong
token) and asserts the exact rows on the server against the readable local rows,
the holes recorded, that nothing is doubled, and what the user is told.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records, rundir
from tests.server.conftest import backend, databases, server, spawn, spawn_module  # noqa: F401 - fixtures
from tests.server.processes import TrackerServer
from tests.service.faultproxy import Fault, FaultProxy
from tests.waiting import service_ended, wait_for

pytestmark = pytest.mark.server

ROWS = 20_000

RUN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import tracker
    from jupyter_tracker.rundir import read_sync
    rows, wait_for_status, code = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    run = tracker.init(project="faults")
    print(run.dir, run.companions.service.pid, flush=True)
    for i in range(rows):
        run.log({"x": float(i)})
    if wait_for_status != "-":  # go on training until the upload says so (at most 60 s)
        deadline = time.monotonic() + 60
        while read_sync(run.path).get("status") != wait_for_status and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.5)  # the writer's housekeeping reads sync.json about once a second
    run.finish()
    sys.exit(code)
    """
)


def start_script(env: dict[str, str], rows: int, wait_for_status: str = "-", code: int = 0) -> tuple[subprocess.Popen, Path, int]:
    proc = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, str(rows), wait_for_status, str(code)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    run_dir, pid = proc.stdout.readline().split()
    return proc, Path(run_dir), int(pid)


def online_env(host: str, token: str, **more: str) -> dict[str, str]:
    return dict(os.environ, TRACKER_HOST=host, TRACKER_API_KEY=token, TRACKER_MODE="online", **more)


def sync(run_dir: Path, host: str, token: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TRACKER_HOST=host, TRACKER_API_KEY=token)
    return subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", str(run_dir), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def remote(server):  # noqa: F811
    return tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token)


def offline_run(rows: int = ROWS) -> Path:
    run = tracker.init(project="faults", mode="offline")
    for i in range(rows):
        run.log({"x": float(i)})
    run.finish()
    service_ended(run)  # its last system window is written: a sync now sends everything
    return run.path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def damage(run_dir: Path, line: int) -> None:
    """Flip one digit in the JSON of one line of events.log (its checksum no longer holds):
    the first digit of its first record's sequence number, which every frame has (the first
    frame may hold the start record alone, when the writer's first write comes before a row)."""
    path = run_dir / rundir.EVENTS
    lines = lines_of(path)
    text = bytearray(lines[line])
    at = 2  # [[<seq>,
    text[at] = ord("7") if text[at] != ord("7") else ord("8")
    lines[line] = bytes(text)
    path.write_bytes(b"".join(lines))


def frame_sizes(run_dir: Path) -> list[int]:
    """How many records each good line of events.log holds (it depends on the writer's timing)."""
    frames, _, _ = records.read_frames(run_dir / rundir.EVENTS)
    return [frame.count for frame in frames]


def readable_rows(run_dir: Path) -> list[float]:
    """The x values the local log still holds, each sequence number once."""
    seen, out = set(), []
    for record in records.read_log(run_dir / rundir.EVENTS):
        if record[1] == "h" and record[0] not in seen:
            seen.add(record[0])
            out.append(record[4]["x"])
    return out


def server_rows(server, run_id: str) -> list[float]:  # noqa: F811
    rows = remote(server).run(run_id).history(keys=["x"], samples=None)
    assert len({r["_step"] for r in rows}) == len(rows), "a step twice on the server"
    return [r["x"] for r in rows]


def record_posts(proxy: FaultProxy) -> list[tuple[float, str, str, int]]:
    return [entry for entry in proxy.log if entry[1] == "POST" and entry[2].endswith("/records")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def alive(pid: int) -> bool:
    return rundir.pid_alive(pid) and not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# -- item 8: holes and duplicates in the local log ------------------------------------


def test_a_corrupt_byte_mid_log_uploads_every_readable_row_and_records_the_hole(server):  # noqa: F811
    run_dir = offline_run()
    run_id = rundir.read_info(run_dir)["id"]
    lines = lines_of(run_dir / rundir.EVENTS)
    size = frame_sizes(run_dir)[len(lines) // 2]
    damage(run_dir, len(lines) // 2)
    local = tracker.Api().run(run_id)
    hole = local.missing["events"]
    assert len(hole) == 1
    lost = hole[0][1] - hole[0][0] + 1
    assert lost == size  # the damaged line's records, no more
    expected = readable_rows(run_dir)
    assert len(expected) == ROWS - lost
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        first = sync(run_dir, proxy.url, server.token)
        assert first.returncode == 0, first.stderr
        a, b = hole[0]
        assert f"{lost} records were unreadable in the local events log (seq {a}-{b})" in first.stdout
        assert "recorded as missing on the server" in first.stdout
        back = remote(server).run(run_id)
        assert server_rows(server, run_id) == expected  # exactly the readable rows, in order, once each
        assert back.missing == {"events": [[a, b]], "system": []} == local.missing
        assert back.state == "finished"
        posts = len(record_posts(proxy))
        second = sync(run_dir, proxy.url, server.token)
        assert second.returncode == 0 and "nothing new" in second.stdout, second.stdout + second.stderr
        assert len(record_posts(proxy)) == posts  # the second sync sends no record
    assert server_rows(server, run_id) == expected
    debug = (run_dir / "logs" / "debug.log").read_text()
    assert debug.count(f"(seq {a}-{b}); declared missing to the server") == 1
    assert rundir.read_sync(run_dir)["missing"] == {"events": [[a, b]], "system": []}


def test_a_damaged_first_frame_is_declared_and_sync_does_not_loop(server):  # noqa: F811
    run_dir = offline_run()
    run_id = rundir.read_info(run_dir)["id"]
    lost = frame_sizes(run_dir)[0]  # the start record and the first rows
    damage(run_dir, 0)
    assert tracker.Api().run(run_id).read_report.missing == lost  # the reader counts it (item 16)
    expected = readable_rows(run_dir)
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        done = sync(run_dir, proxy.url, server.token, "--retry-for", "10")
        posts = record_posts(proxy)
    assert done.returncode == 0, done.stderr
    assert f"{lost} records were unreadable in the local events log (seq 1-{lost})" in done.stdout
    assert len(posts) <= 3  # was: 1,180 POSTs in 50 s
    assert server_rows(server, run_id) == expected and len(expected) == ROWS - (lost - 1)
    assert remote(server).run(run_id).missing["events"] == [[1, lost]]


def test_a_frame_written_twice_is_uploaded_once(server):  # noqa: F811
    run_dir = offline_run()
    run_id = rundir.read_info(run_dir)["id"]
    path = run_dir / rundir.EVENTS
    lines = lines_of(path)
    sizes = frame_sizes(run_dir)
    doubled = sizes[30] + sizes[10]
    lines.insert(40, lines[30])  # an old frame again, mid-log
    lines.insert(11, lines[10])  # and one right after itself
    path.write_bytes(b"".join(lines))
    report = tracker.Api().run(run_id).read_report
    assert report.duplicates == doubled and report.missing == 0
    done = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert done.returncode == 0, done.stderr
    assert f"{doubled} duplicate records of the local events log skipped" in done.stdout
    assert server_rows(server, run_id) == [float(i) for i in range(ROWS)]  # nothing doubled, nothing lost
    assert remote(server).run(run_id).missing == {"events": [], "system": []}
    debug = (run_dir / "logs" / "debug.log").read_text()
    said = [int(line.split("events.log: ")[1].split()[0]) for line in debug.splitlines() if "duplicate records skipped" in line]
    assert sum(said) == doubled


def test_a_damaged_log_resumed_online_is_uploaded_by_the_service(server, monkeypatch):  # noqa: F811
    run_dir = offline_run(5000)
    run_id = rundir.read_info(run_dir)["id"]
    damage(run_dir, 0)
    damage(run_dir, 10)
    before = readable_rows(run_dir)
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", server.token)
    run = tracker.init(id=run_id, resume="allow", mode="online")
    for i in range(5000, 6000):
        run.log({"x": float(i)})
    run.finish()
    wait_for(lambda: rundir.read_sync(run_dir).get("status") == "done", timeout=60)
    assert server_rows(server, run_id) == before + [float(i) for i in range(5000, 6000)]
    back = remote(server).run(run_id)
    holes = tracker.Api().run(run_id).missing["events"]
    assert len(holes) == 2 and holes[0][0] == 1 and back.missing["events"] == holes
    assert back.state == "finished"


def test_a_409_that_repeats_backs_off_and_retry_for_bounds_it(server):  # noqa: F811
    run_dir = offline_run(2000)
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        proxy.rule = lambda method, path: Fault(409, body=b'{"expected": 1}') if path.endswith("/records") else None
        started = time.monotonic()
        done = sync(run_dir, proxy.url, server.token, "--retry-for", "4")
        took = time.monotonic() - started
        posts = record_posts(proxy)
    assert done.returncode == 1 and "not synced (retrying" in done.stderr
    assert "left: 2002 events" in done.stderr and f"tracker sync {run_dir}" in done.stderr
    assert took < 30 and len(posts) < 15  # bounded, with delays between the attempts
    # the first 409 of each log (events, system) re-reads it at once; the same answer again
    # is retried with backoff (the last wait may be cut short by --retry-for)
    gaps = [b[0] - a[0] for a, b in zip(posts[2:], posts[3:])][:-1]
    assert gaps and min(gaps) >= 0.4


# -- item 10: background processes are bounded ----------------------------------------


def test_an_unreachable_server_ends_the_service_after_the_sync_timeout(databases, tmp_path):  # noqa: F811
    port = free_port()
    later = TrackerServer(tmp_path / "late", databases.new())
    token = later.create_token("late")
    env = online_env(f"http://127.0.0.1:{port}", token, TRACKER_SYNC_TIMEOUT="5")
    proc, run_dir, service_pid = start_script(env, 3000, wait_for_status="retrying")
    assert proc.wait(timeout=90) == 0
    ended = time.monotonic()
    stderr = proc.stderr.read()
    proc.stdout.close(), proc.stderr.close()
    wait_for(lambda: not alive(service_pid), timeout=5 + 20)  # was: still alive after 180 s
    assert time.monotonic() - ended < 25
    status = rundir.read_sync(run_dir)
    assert status["status"] == "not-synced"
    assert f"not synced, run `tracker sync {run_dir}`" in status["message"]
    assert "TRACKER_SYNC_TIMEOUT=5" in status["message"]
    assert f"not synced, run `tracker sync {run_dir}`" in (run_dir / "logs" / "debug.log").read_text()
    told = [line for line in stderr.splitlines() if "not on the server" in line]
    last_seq = records.last_seq(run_dir / rundir.EVENTS)  # the rows, start, state and the script's meta
    assert len(told) == 1
    assert told[0].startswith(f"tracker: {last_seq} records of this run are not on the server (sync retrying")
    assert f"up to 5 s (TRACKER_SYNC_TIMEOUT); if it cannot, run `tracker sync {run_dir}`" in told[0]
    later.port = port
    later.token = token
    later.start()
    try:
        done = sync(run_dir, f"http://127.0.0.1:{port}", token)
        assert done.returncode == 0, done.stderr
        assert server_rows(later, rundir.read_info(run_dir)["id"]) == [float(i) for i in range(3000)]
    finally:
        later.stop()


def test_sigterm_mid_upload_saves_progress_and_exits_at_once(server):  # noqa: F811
    rows = 200_000
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        proxy.rule = lambda method, path: Fault(delay=1.0) if path.endswith("/records") else None
        proc, run_dir, service_pid = start_script(online_env(proxy.url, server.token), rows)
        assert proc.wait(timeout=120) == 0
        proc.stdout.close(), proc.stderr.close()
        run_id = rundir.read_info(run_dir)["id"]

        def server_mark() -> int:
            try:
                return remote(server).run(run_id).acknowledged.get("events", 0)
            except KeyError:
                return 0

        wait_for(lambda: server_mark() >= 20_000, timeout=60)  # two batches or more are in
        assert server_mark() < rows + 2, "the upload ended before the signal: make it slower"
        os.kill(service_pid, signal.SIGTERM)
        signalled = time.monotonic()
        wait_for(lambda: not alive(service_pid), timeout=20)  # was: the first SIGTERM was ignored
        assert time.monotonic() - signalled < 8  # the grace (2 s) and one request in flight (1 s)
    status = rundir.read_sync(run_dir)
    assert status["status"] == "not-synced" and "SIGTERM" in status["message"]
    assert 0 < status["events"]["acked"] <= server_mark()  # progress saved, never ahead of the server
    done = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert done.returncode == 0, done.stderr
    assert server_rows(server, run_id) == [float(i) for i in range(rows)]  # nothing doubled, nothing lost
    assert remote(server).run(run_id).state == "finished"


def test_a_deleted_run_folder_ends_a_retrying_service():
    env = online_env(f"http://127.0.0.1:{free_port()}", "some-token")
    proc, run_dir, service_pid = start_script(env, 100)
    assert proc.wait(timeout=60) == 0
    proc.stdout.close(), proc.stderr.close()
    wait_for(lambda: rundir.read_sync(run_dir).get("status") == "retrying", timeout=20)
    assert alive(service_pid)  # after the run: retrying, for up to TRACKER_SYNC_TIMEOUT (600 s)
    shutil.rmtree(run_dir)
    wait_for(lambda: not alive(service_pid), timeout=10)  # was: alive for as long as we watched


# -- item 11: failures are visible in scripts ------------------------------------------


def test_a_wrong_token_is_told_on_stderr_and_at_finish_and_the_exit_code_is_kept(server):  # noqa: F811
    host = f"http://127.0.0.1:{server.port}"
    proc, run_dir, _pid = start_script(online_env(host, "not-the-token"), 1000, wait_for_status="stopped", code=3)
    assert proc.wait(timeout=120) == 3  # the script's own exit code
    stderr = proc.stderr.read()
    proc.stdout.close(), proc.stderr.close()
    lines = [line for line in stderr.splitlines() if line.startswith("tracker:")]
    refused = [line for line in lines if "refused this run's upload" in line]
    assert len(refused) == 1 and "401" in refused[0] and "TRACKER_API_KEY" in refused[0]
    last_seq = records.last_seq(run_dir / rundir.EVENTS)
    at_finish = [line for line in lines if "not on the server" in line]
    assert at_finish == [at_finish[0]] and f"{last_seq} records of this run are not on the server" in at_finish[0]
    assert f"run `tracker sync {run_dir}`" in at_finish[0]
    assert server.token not in stderr
    done = sync(run_dir, host, server.token)  # once fixed, the run uploads whole
    assert done.returncode == 0, done.stderr
    assert server_rows(server, rundir.read_info(run_dir)["id"]) == [float(i) for i in range(1000)]


def test_a_wrong_token_under_tracker_silent_prints_nothing(server):  # noqa: F811
    env = online_env(f"http://127.0.0.1:{server.port}", "not-the-token", TRACKER_SILENT="true")
    proc, run_dir, _pid = start_script(env, 100, wait_for_status="stopped")
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == ""
    proc.stdout.close(), proc.stderr.close()
    debug = (run_dir / "logs" / "debug.log").read_text()
    assert "refused this run's upload" in debug and "not on the server" in debug


def test_a_healthy_online_script_says_nothing_more_than_its_banner(server):  # noqa: F811
    proc, run_dir, _pid = start_script(online_env(f"http://127.0.0.1:{server.port}", server.token), 1000,
                                       wait_for_status="ok")
    assert proc.wait(timeout=120) == 0
    stderr = proc.stderr.read()
    proc.stdout.close(), proc.stderr.close()
    lines = [line for line in stderr.splitlines() if line]
    assert len(lines) == 1 and " · online · " in lines[0], stderr  # the banner only
    assert rundir.read_sync(run_dir)["status"] in ("ok", "done")


# -- a file the server refuses is that file's problem, not the run's ---------------------


def uploaded_files(server, run_id: str) -> set[str]:  # noqa: F811
    """The run's files whose bytes the server holds (a file the run recorded is listed before it is uploaded)."""
    from jupyter_tracker.client import ServerClient

    entries = ServerClient(f"http://127.0.0.1:{server.port}", server.token).files(run_id)
    return {entry["path"] for entry in entries if entry.get("uploaded_at")}


def test_a_file_the_server_refuses_is_reported_and_the_rest_of_the_run_uploads(spawn, tmp_path):  # noqa: F811
    server = spawn("--max-file", "4MiB")
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_text("fits")
    big.write_bytes(b"x" * (5 << 20))
    run = tracker.init(project="faults", mode="offline")
    run.save(str(big), base_path=str(tmp_path), policy="now")
    run.save(str(small), base_path=str(tmp_path), policy="now")
    for i in range(ROWS):
        run.log({"x": float(i)})
    run.finish()
    service_ended(run)
    run_dir, run_id = run.path, run.id
    first = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert first.returncode == 0, first.stderr  # was: "stopped", and nothing after the file went
    assert "files refused by the server, not uploaded: big.bin (PUT runs/" in first.stdout and "413" in first.stdout
    assert server_rows(server, run_id) == [float(i) for i in range(ROWS)]
    assert remote(server).run(run_id).state == "finished"
    assert uploaded_files(server, run_id) >= {"small.txt"} and "big.bin" not in uploaded_files(server, run_id)
    state = rundir.read_sync(run_dir)
    assert state["status"] == "done" and "big.bin" in state["refused_files"] and "small.txt" in state["files"]
    assert "file big.bin not uploaded" in (run_dir / "logs" / "debug.log").read_text()
    again = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert again.returncode == 0 and "nothing new" in again.stdout  # not offered again while unchanged
    (run_dir / "files" / "big.bin").write_bytes(b"y" * 100)  # changed (and now small enough): offered again
    third = sync(run_dir, f"http://127.0.0.1:{server.port}", server.token)
    assert third.returncode == 0 and "and 1 files" in third.stdout, third.stdout
    assert "big.bin" in uploaded_files(server, run_id) and "big.bin" not in rundir.read_sync(run_dir)["refused_files"]


def test_a_config_and_summary_of_many_large_values_upload_whole(server):  # noqa: F811
    """Each value is within the 1 MB a value may have; together they are more than one
    record may hold on the server: they are written as several records, all uploaded."""
    big = {f"k{i:02d}": "v" * 900_000 for i in range(20)}  # 18 MB in one update
    run = tracker.init(project="faults", mode="offline", config=big)
    run.summary.update({f"s{i:02d}": "w" * 900_000 for i in range(20)})
    run.log({"x": 1.0})
    run.finish()
    kinds = [r[1] for r in records.read_log(run.path / rundir.EVENTS)]
    assert kinds.count("c") >= 3 and kinds.count("s") >= 3
    done = sync(run.path, f"http://127.0.0.1:{server.port}", server.token)
    assert done.returncode == 0, done.stderr  # was: 413 on the config record, upload stopped
    back = remote(server).run(run.id)
    assert back.config == big and tracker.Api().run(run.id).config == big
    assert all(back.summary[f"s{i:02d}"] == "w" * 900_000 for i in range(20)) and back.summary["x"] == 1.0
