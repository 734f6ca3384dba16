"""The real service process: system records, kernel death, its own death, isolation."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from tests.waiting import wait_for

FAKE_NVML = Path(__file__).parent / "fake_nvml"


def test_service_writes_window_means_and_is_isolated(tracker_env):
    run = tracker.init()
    service = run.companions.service
    pid = service.pid
    # its own session, stdin closed, output to logs/service.log, not to ours
    assert os.getsid(pid) != os.getsid(0)
    assert os.readlink(f"/proc/{pid}/fd/1") == str(run.path / "logs" / "service.log")
    assert os.readlink(f"/proc/{pid}/fd/2") == str(run.path / "logs" / "service.log")
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    wait_for(lambda: tracker.Api().run(run.id).system(), timeout=10)
    run.finish()
    rows = tracker.Api().run(run.id).system()
    assert rows and {"proc/cpu_percent", "proc/rss_mb", "host/memory_percent", "_timestamp"} <= set(rows[0])
    assert rows[0]["proc/rss_mb"] > 10  # the kernel's (this process's) memory
    wait_for(lambda: service.exited() is not None, timeout=5)
    assert "run ended, exiting" in (run.path / "logs" / "service.log").read_text()


def test_finish_does_not_wait_for_the_service(tracker_env, monkeypatch):
    monkeypatch.setenv("TRACKER_STATS_INTERVAL", "30")
    run = tracker.init()
    time.sleep(1.0)  # the service is asleep in a 30 s interval
    started = time.monotonic()
    run.finish()
    assert time.monotonic() - started < 0.5
    assert rundir.read_info(run.path)["state"] == "finished"


def test_gpu_metrics_reach_system_log_with_a_fake_nvml(tracker_env, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE_NVML), os.environ["PYTHONPATH"]]))
    run = tracker.init()
    wait_for(lambda: tracker.Api().run(run.id).system(), timeout=10)
    run.finish()
    row = tracker.Api().run(run.id).system()[0]
    assert row["gpu/0/util_percent"] == 40 and row["gpu/1/temp_c"] == 61


KERNEL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import tracker
    run = tracker.init(project="crash", config={"a": 1})
    print(run.dir, flush=True)
    step = 0
    while True:
        run.log({"x": float(step)})
        step += 1
        if step % 500 == 0:
            time.sleep(0.25)  # > the flush interval: everything so far is on disk
            print(step, flush=True)
    """
)


def test_kill_9_of_the_process_group_marks_the_run_crashed_and_keeps_flushed_rows(tracker_env):
    proc = subprocess.Popen(
        [sys.executable, "-c", KERNEL_SCRIPT],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    run_dir = Path(proc.stdout.readline().strip())
    flushed = 0
    while flushed < 2000:
        flushed = int(proc.stdout.readline())
    info = rundir.read_info(run_dir)
    service_pid = int(wait_for(lambda: _service_pid(run_dir)))
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group of the "kernel"
    proc.wait()
    proc.stdout.close()
    killed_at = time.monotonic()
    # the service was spared (own session) and marks the run crashed within seconds
    try:
        wait_for(lambda: rundir.read_info(run_dir)["state"] == "crashed", timeout=20)
    except AssertionError:
        raise AssertionError(
            f"not marked crashed: run.json {rundir.read_info(run_dir)}, service alive "
            f"{rundir.pid_alive(service_pid)}, service.log:\n{(run_dir / 'logs' / 'service.log').read_text()}"
        ) from None
    # half a second's tick on a quiet machine; a loaded CI machine gets some slack
    assert time.monotonic() - killed_at < 10
    assert info["pid"] == proc.pid
    run = tracker.Api().run(info["id"])
    rows = run.history(samples=None)
    assert len(rows) >= flushed
    assert [r["x"] for r in rows] == [float(i) for i in range(len(rows))]
    assert run.state == "crashed" and run.config == {"a": 1}
    wait_for(lambda: not rundir.pid_alive(service_pid), timeout=5)


def _service_pid(run_dir: Path):
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "jupyter_tracker.service" in cmd and str(run_dir) in cmd:
            return proc.pid
    return None


def test_kill_9_of_the_service_leaves_training_untouched(tracker_env):
    run = tracker.init()
    run.log({"x": 0.0})
    os.kill(run.companions.service.pid, signal.SIGKILL)
    for i in range(1, 3000):
        run.log({"x": float(i)})
        if i % 1000 == 0:
            time.sleep(0.6)  # the writer's housekeeping notices within a second
    wait_for(lambda: rundir.read_info(run.path)["state"] == "service-stopped", timeout=5)
    assert run.state == "service-stopped"
    assert "service process stopped" in (run.path / "logs" / "debug.log").read_text()
    run.finish()
    back = tracker.Api().run(run.id)
    assert back.state == "finished"
    assert [r["x"] for r in back.history(samples=None)] == [float(i) for i in range(3000)]


def test_a_deleted_run_folder_ends_the_service_and_training_goes_on(tracker_env):
    import shutil

    run = tracker.init()
    service = run.companions.service
    wait_for(lambda: (run.path / rundir.SYSTEM_LIVE).exists(), timeout=10)  # it runs
    shutil.rmtree(run.path)
    wait_for(lambda: service.exited() is not None, timeout=10)
    assert service.exited() == 0
    for i in range(100):
        run.log({"x": float(i)})  # never raises for a problem of ours
    run.finish()


LINGERING_SCRIPT = textwrap.dedent(
    """
    import ctypes, os, threading, time
    import tracker
    run = tracker.init(project="linger")
    for i in range(100):
        run.log({"x": float(i)})
    print(run.dir, flush=True)

    def last_thread():
        time.sleep(2.5)  # the main thread shows as a zombie meanwhile; the run's lock is held
        os._exit(3)

    threading.Thread(target=last_thread).start()
    time.sleep(0.3)
    ctypes.CDLL(None).pthread_exit(None)  # the main thread ends, the process lives on
    """
)


def test_a_kernel_whose_main_thread_ended_first_is_marked_crashed_when_its_last_thread_ends(tracker_env):
    # A killed multi-threaded kernel's main thread is a zombie while its other threads still
    # exit and hold the run's lock: the service waits for the lock instead of giving up.
    proc = subprocess.Popen([sys.executable, "-c", LINGERING_SCRIPT], stdout=subprocess.PIPE, text=True)
    run_dir = Path(proc.stdout.readline().strip())
    wait_for(lambda: _zombie_leader(proc.pid), timeout=5)
    assert rundir.read_info(run_dir)["state"] == "running"
    assert proc.wait(timeout=20) == 3
    proc.stdout.close()
    try:
        wait_for(lambda: rundir.read_info(run_dir)["state"] == "crashed", timeout=20)
    except AssertionError:
        raise AssertionError((run_dir / "logs" / "service.log").read_text()) from None
    rows = tracker.Api().run(rundir.read_info(run_dir)["id"]).history(samples=None)
    assert [r["x"] for r in rows] == [float(i) for i in range(100)]


def _zombie_leader(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] == "Z"


def test_a_run_shorter_than_the_sampling_interval_gets_a_true_cpu_share(tracker_env, monkeypatch):
    # the first sample comes once a CPU share can be measured (0.1 s after the service's
    # start; it came at once, and read 519 % of one core on 2 cores in the quickstart)
    monkeypatch.setenv("TRACKER_STATS_INTERVAL", "30")
    run = tracker.init()
    live = wait_for(lambda: rundir.read_system_live(run.path), timeout=10)
    cores = os.cpu_count() or 1
    assert 0 <= live["sample"]["proc/cpu_percent"] <= 100 * cores
    run.log({"x": 1.0})
    run.finish()
    rows = wait_for(lambda: tracker.Api().run(run.id).system(), timeout=10)
    assert len(rows) == 1 and rows[0]["_samples"] == 1
    assert 0 <= rows[0]["proc/cpu_percent"] <= 100 * cores
