"""The writer thread: backpressure while the disk is full or slow, and what it says."""

from __future__ import annotations

import errno
import itertools
import os
import sys
import threading
import time

import jupyter_tracker as tracker
from jupyter_tracker.kernel import writer
from tests.waiting import wait_for


class FullDisk:
    """Every write to the run's events.log fails with ENOSPC (at the os.write boundary)
    while ``full``; the writer has met the full disk once when this returns."""

    def __init__(self, monkeypatch, run) -> None:
        self.path = str(run.path / "events.log")
        self.full = True
        real_write = os.write

        def write(fd, data):
            if self.full and os.readlink(f"/proc/self/fd/{fd}") == self.path:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", write)
        run._writer.drain()  # the start record: fails, and the writer counts what is behind
        assert run._writer._failure is not None


def frames_of(thread: threading.Thread) -> list[str]:
    frame = sys._current_frames().get(thread.ident)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def test_log_waits_on_a_condition_the_writer_wakes_and_never_sleeps(tracker_env, monkeypatch):
    monkeypatch.setattr(writer, "QUEUE_LIMIT", 1000)
    run = tracker.init()
    disk = FullDisk(monkeypatch, run)
    sleeps = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (sleeps.append(threading.current_thread().name), real_sleep(s)))
    done = threading.Event()

    def train():
        for i in range(5000):
            run.log({"a": float(i)})
        done.set()

    trainer = threading.Thread(target=train, name="trainer")
    trainer.start()
    wait_for(lambda: "_wait_for_room" in frames_of(trainer))
    real_sleep(0.3)
    assert not done.is_set()
    stack = frames_of(trainer)
    assert stack[:2] == ["wait", "_wait_for_room"]  # threading.Condition.wait (a lock acquire, no sleep)
    disk.full = False
    assert done.wait(5)  # woken by the writer once the disk takes the records again
    trainer.join()
    run.finish()
    assert "trainer" not in sleeps
    assert [r["a"] for r in tracker.Api().run(run.id).history(samples=None)] == [float(i) for i in range(5000)]


def test_log_does_not_wait_while_the_writer_is_less_than_the_limit_behind(tracker_env, monkeypatch):
    monkeypatch.setattr(writer, "QUEUE_LIMIT", 1000)
    run = tracker.init()
    disk = FullDisk(monkeypatch, run)
    waited = []
    monkeypatch.setattr(writer.Writer, "_wait_for_room", lambda self: waited.append(1))
    for i in range(990):  # with the start and meta records: under 1000 not on disk
        run.log({"a": float(i)})
        if i % 100 == 0:
            run._writer.wake()
    time.sleep(0.3)
    assert not waited
    for i in range(990, 1200):
        run.log({"a": float(i)})
    assert waited
    disk.full = False


def test_held_bytes_are_bounded_too(tracker_env, monkeypatch):
    monkeypatch.setattr(writer, "HELD_BYTES_LIMIT", 20_000)
    run = tracker.init()
    disk = FullDisk(monkeypatch, run)
    waited = []
    monkeypatch.setattr(writer.Writer, "_wait_for_room", lambda self: waited.append(1))
    row = {f"key{i}": float(i) for i in range(100)}  # about 1.2 KB a record
    for _ in range(40):
        run.log(row)
        run._writer.drain()
    assert run._writer._held_bytes > 20_000 and waited
    disk.full = False


def test_in_silent_mode_the_pause_is_said_in_debug_log_only(tracker_env, monkeypatch, capfd):
    monkeypatch.setenv("TRACKER_SILENT", "true")
    monkeypatch.setattr(writer, "QUEUE_LIMIT", 500)
    run = tracker.init()
    disk = FullDisk(monkeypatch, run)
    threading.Timer(0.5, lambda: setattr(disk, "full", False)).start()
    for i in range(3000):
        run.log({"a": float(i)})
    run.finish()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    log = (run.path / "logs" / "debug.log").read_text()
    warned = [line for line in log.splitlines() if " WARNING " in line]
    assert sum("training is paused: " in line for line in warned) == 1 and "Free space there" in log
    assert [r["a"] for r in tracker.Api().run(run.id).history(samples=None)] == [float(i) for i in range(3000)]


def test_a_second_outage_is_reported_again(tracker_env, monkeypatch):
    run = tracker.init()
    disk = FullDisk(monkeypatch, run)
    for outage in range(2):
        disk.full = True
        run.log({"a": float(outage)})
        run._writer.drain()
        disk.full = False
        run._writer.drain()
    run.finish()
    log = (run.path / "logs" / "debug.log").read_text()
    assert log.count("WARNING cannot write events.log") == 2
    assert log.count("writable again") == 2


def test_the_writer_s_own_housekeeping_never_waits_for_itself(tracker_env, monkeypatch):
    monkeypatch.setattr(writer, "QUEUE_LIMIT", 10)
    run = tracker.init()
    disk = FullDisk(monkeypatch, run)
    ticked = threading.Event()

    def busy_tick():  # records from the writer thread (as the service watch does)
        for _ in range(50):
            run.record("meta", {"x": 1})
        ticked.set()

    run.on_tick(busy_tick)
    assert ticked.wait(5)
    disk.full = False


def test_finish_returns_while_the_disk_is_full_and_log_waits(tracker_env, monkeypatch, tmp_path):
    monkeypatch.setattr(writer, "QUEUE_LIMIT", 200)
    (tmp_path / "model.txt").write_text("weights")
    run = tracker.init()
    run.save(str(tmp_path / "model.txt"), policy="end")  # finish() records it: must not wait either
    FullDisk(monkeypatch, run)
    stopped = []

    def train():
        try:
            for i in itertools.count():  # until finish() closes the run: it never waits for room,
                run.log({"a": float(i)})  # so a bounded loop could end first and prove nothing
        except ValueError as exc:  # the run finished under it
            stopped.append(str(exc))

    trainer = threading.Thread(target=train)
    trainer.start()
    wait_for(lambda: "_wait_for_room" in frames_of(trainer))
    started = time.monotonic()
    run.finish()  # retries the disk for a few seconds, then says what is lost
    assert time.monotonic() - started < 8
    trainer.join(5)
    assert not trainer.is_alive() and stopped == [f"run {run.id} is finished; call tracker.init() for a new run"]
    log = (run.path / "logs" / "debug.log").read_text()
    assert "could not be written to events.log (No space left on device): they are lost" in log


def test_queued_rows_are_no_work_for_the_cyclic_garbage_collector(tracker_env):
    # A queued record the GC tracks is promoted to its oldest generation during a burst,
    # and every 25% growth of that generation makes CPython walk every object in the
    # process (in a kernel with the panel's libraries, about 1 µs a log() call).
    import gc

    run = tracker.init()
    run.log({"a": 0.0, "b": 0})  # first sight of the keys: a record of its own
    run._writer.drain()
    with run._writer._lock:  # no drain meanwhile: what log() queued stays queued
        for i in range(1, 1001):
            run.log({"a": float(i), "b": i}, step=i)
        queued = list(run._writer.queue)
    assert len(queued) == 1000
    assert not any(map(gc.is_tracked, queued))
    run.finish()
    rows = tracker.Api().run(run.id).history(samples=None)
    assert [(r["_step"], r["a"], r["b"]) for r in rows] == [(i, float(i), i) for i in range(1001)]
    assert all(r["_timestamp"] > 1e9 for r in rows)


def test_a_loop_turning_busy_is_drained_before_the_interval_ends(tracker_env):
    # Memory: the writer looks at the queue every BUSY_INTERVAL, not only every interval,
    # so a burst never holds a whole interval's records (at 1 µs a call, 100,000 rows).
    run = tracker.init()
    run._writer._interval = 30.0
    time.sleep(0.3)  # after its next drain, the writer is asleep for 30 s
    started = time.monotonic()
    for i in range(writer.BUSY_BATCH + 10):
        run.log({"a": float(i)})
    wait_for(lambda: run._writer.seq > writer.BUSY_BATCH, timeout=5)
    assert time.monotonic() - started < 5
    run.finish()


def test_a_batch_of_queued_rows_with_nan_and_inf_is_written_exactly(tracker_env):
    import math

    run = tracker.init()
    run.log({"a": 0.0})
    run._writer.drain()
    values = [float(i) for i in range(1, 600)]
    values[300], values[301], values[450] = math.nan, math.inf, -math.inf
    with run._writer._lock:  # one batch: frames with and without NaN/inf
        for i, value in enumerate(values, start=1):
            run.log({"a": value}, step=i)
    run.finish()
    back = [r["a"] for r in tracker.Api().run(run.id).history(samples=None)][1:]
    assert len(back) == len(values)
    assert all((b == v) or (math.isnan(b) and math.isnan(v)) for b, v in zip(back, values))
