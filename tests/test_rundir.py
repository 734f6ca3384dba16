"""The run directory's lock: one process records a run, the system frees it with the process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from jupyter_tracker import rundir

HOLDER = """
import sys, time
from pathlib import Path
from jupyter_tracker import rundir
lock = rundir.lock_run(Path(sys.argv[1]), "r1", role=sys.argv[2])
print("held", flush=True)
time.sleep(float(sys.argv[3]))
lock.release()
print("released", flush=True)
time.sleep(30)
"""


def hold(path, role="recording", seconds=30.0) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), role, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()


def test_a_held_run_is_refused_naming_the_holder_and_freed_when_it_dies(tmp_path):
    proc = hold(tmp_path)
    try:
        assert rundir.try_lock_run(tmp_path) is None
        with pytest.raises(rundir.RunLocked) as info:
            rundir.lock_run(tmp_path, "r1")
        assert f"run 'r1' is being recorded by process {proc.pid} on host {socket.gethostname()} (since " in str(info.value)
        assert info.value.holder["pid"] == proc.pid and info.value.holder["role"] == "recording"
        os.kill(proc.pid, signal.SIGKILL)  # no release: the system lets the lock go with the process
        proc.wait()
        lock = rundir.lock_run(tmp_path, "r1")
        assert rundir.lock_holder(tmp_path)["pid"] == os.getpid()
        lock.release()
    finally:
        stop(proc)


def test_a_service_marking_a_crash_is_waited_for_briefly(tmp_path):
    proc = hold(tmp_path, role="service", seconds=0.5)
    try:
        started = time.monotonic()
        lock = rundir.lock_run(tmp_path, "r1")
        assert 0.2 < time.monotonic() - started < 5
        lock.release()
    finally:
        stop(proc)


def test_a_forked_child_keeps_no_lock_the_parent_gave_up_or_died_with(tmp_path):
    script = textwrap.dedent("""
        import os, sys, time
        from pathlib import Path
        from jupyter_tracker import rundir
        lock = rundir.lock_run(Path(sys.argv[1]), "r1")
        ready, told = os.pipe()
        pid = os.fork()
        if pid == 0:
            if sys.argv[2] == "forget":
                lock.forget()
            os.write(told, b"x")
            time.sleep(30)
            os._exit(0)
        os.read(ready, 1)
        if sys.argv[3] == "release":
            lock.release()  # the parent is done with the run: free, whatever the child holds
            print(pid, flush=True)  # only now: the test looks at the lock as soon as it reads this
            time.sleep(30)
        print(pid, flush=True)
        os._exit(0)  # the parent dies holding it: only the child's copy can keep it
    """)
    cases = [("keep", "release", True), ("forget", "die", True), ("keep", "die", False)]
    for child, parent, free in cases:
        proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), child, parent],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        child_pid = int(line)
        try:
            if parent == "die":
                proc.wait(10)
            taken = rundir.try_lock_run(tmp_path)
            assert (taken is not None) == free, (child, parent)
            if taken is not None:
                taken.release()
        finally:
            for pid in (proc.pid, child_pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()


def test_without_locks_on_the_filesystem_the_run_is_recorded_unlocked(tmp_path, monkeypatch):
    import fcntl

    def no_locks(fd, operation):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    lock = rundir.lock_run(tmp_path, "r1")
    assert lock.fd is None and "cannot lock run.lock (Function not implemented)" in lock.problem
