"""The local log under faults: a full disk, a partial write, a corrupt byte and a torn
tail, two processes resuming one run, forked children, how a script exits, and every
value the server would refuse. Each test reads the rows back from disk (nothing lost,
nothing doubled, steps in order) and checks the message the user sees."""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import limits, records, rundir
from jupyter_tracker.replay import replay
from jupyter_tracker.server.batches import parse_batch
from tests.conftest import IN_CI
from tests.waiting import wait_for

ROW = '{"a": float(i), "b": i * 0.5, "c": -float(i), "d": 1.0}'


@pytest.fixture(autouse=True)
def no_code_capture(monkeypatch):
    """No git capture: its record arrives whenever git answers, and these tests count records."""
    monkeypatch.setenv("TRACKER_DISABLE_CODE", "true")


def expected_rows(steps) -> list[tuple]:
    return [(i, float(i), i * 0.5, -float(i), 1.0) for i in steps]


def rows_on_disk(run_id: str) -> list[tuple]:
    run = tracker.Api().run(run_id)
    return [(r["_step"], r["a"], r["b"], r["c"], r["d"]) for r in run.history(samples=None)]


def assert_log_is_whole(run_dir: Path) -> list[list]:
    """Every record readable, numbered 1..n without a gap or a repeat, steps never going
    down, and the whole log a batch the tracking server accepts."""
    report = records.ReadReport()
    got = list(records.read_log(Path(run_dir) / rundir.EVENTS, report))
    assert (report.corrupt, report.missing, report.torn_tail) == (0, 0, False), report.problems
    assert [r[0] for r in got] == list(range(1, len(got) + 1))
    steps = [r[2] for r in got if r[1] == "h"]
    assert steps == sorted(steps)
    assert_uploadable(got)
    return got


def assert_uploadable(got: list[list]) -> None:
    body = {"log": "events", "first_seq": got[0][0], "last_seq": got[-1][0], "records": got}
    parse_batch(body, limits.MAX_KEYS_PER_RECORD)  # raises BadBatch (a 400) for what the server refuses


def script_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TRACKER_DISABLE_CODE="true", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_script(code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout, env=script_env(**env),
    )


def tracker_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("tracker: ")]


# -- 1. a full disk ------------------------------------------------------------------
FULL_DISK_SCRIPT = f"""
import os, sys, time
import tracker
from jupyter_tracker import records
from jupyter_tracker.kernel import writer

writer.QUEUE_LIMIT = 3000
partial = []  # writes the disk took only part of (seen, not changed)
write_all = records.write_all

def watched_write_all(fd, data):
    try:
        write_all(fd, data)
    except OSError as exc:
        if exc.written:
            partial.append(exc.written)
        raise

records.write_all = watched_write_all
flag = os.environ.get("INJECT_ENOSPC")
if flag:  # no tmpfs can be mounted here: the same fault, injected at the os.write boundary
    import errno
    real_write = os.write
    budget = [150_000]

    def write(fd, data):
        if os.path.exists(flag) and os.readlink(f"/proc/self/fd/{{fd}}").endswith("events.log"):
            if budget[0] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = bytes(data[: budget[0]])
            budget[0] -= len(data)
        return real_write(fd, data)

    os.write = write

run = tracker.init(project="disk")
print(run.id, flush=True)
for i in range(12000):
    run.log({ROW})
    if i % 500 == 499:
        time.sleep(0.02)
run.finish()
print("done", len(partial), flush=True)
"""


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MiB tmpfs (``mount`` as root), or ``None`` where mounting is impossible
    (then the test injects ENOSPC at the os.write boundary instead; under CI it must mount)."""
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        if IN_CI:
            pytest.fail(f"CI must mount a tmpfs for the full-disk test: {done.stderr.strip()}")
        yield None
        return
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_a_full_disk_pauses_training_then_loses_nothing_and_says_so(small_disk, tmp_path, monkeypatch):
    env = {"TRACKER_STATS_INTERVAL": "60", "TRACKER_STATS_WINDOW": "600"}
    if small_disk is not None:
        home = small_disk / "tracker"
        filler = small_disk / "filler"
        with open(filler, "wb") as out:  # leave about 150 KB of the 4 MiB
            out.write(b"\0" * (os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize - 150_000))
        free_space = filler.unlink
    else:  # fallback, said in the test's name of the fault: ENOSPC injected at os.write
        home = tmp_path / "tracker-injected"
        flag = tmp_path / "disk-is-full"
        flag.touch()
        env["INJECT_ENOSPC"] = str(flag)
        free_space = flag.unlink
    monkeypatch.setenv("TRACKER_DIR", str(home))
    proc = subprocess.Popen(
        [sys.executable, "-c", FULL_DISK_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=script_env(**env),
    )
    try:
        run_id = proc.stdout.readline().strip()
        lines = []
        for line in proc.stderr:  # the script is paused (log() waits) when this line comes
            lines.append(line.rstrip("\n"))
            if "training is paused" in line:
                break
        else:
            pytest.fail(f"no pause reported: {lines}")
        time.sleep(0.5)
        run_dir = rundir.find_by_id(home, run_id)
        on_disk_while_full = list(records.read_log(run_dir / rundir.EVENTS))
        free_space()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and out.split()[0] == "done", err
    assert int(out.split()[1]) >= 1  # a write failed half way, at least once
    lines += err.splitlines()

    assert rows_on_disk(run_id) == expected_rows(range(12000))  # nothing lost, nothing doubled
    got = assert_log_is_whole(run_dir)
    assert tracker.Api().run(run_id).state == "finished"
    assert 0 < len(on_disk_while_full) < 12000 - 3000  # the disk was really full, log() really waited
    assert [r[0] for r in on_disk_while_full] == list(range(1, len(on_disk_while_full) + 1))
    path = str(run_dir / rundir.EVENTS)
    said = tracker_lines("\n".join(lines))
    held = int(re.search(r"and ([\d,]+) records wait", said[2]).group(1).replace(",", ""))
    assert held > 3000  # log() waits only past the limit, and says how many wait
    assert said[1:] == [
        "tracker: cannot write events.log (No space left on device); keeping the records in memory "
        "and retrying: training goes on, and pauses only if more than 3,000 records wait",
        said[2],
        f"tracker: events.log is writable again: the {held:,} records kept in memory meanwhile are "
        "written; nothing was lost",
    ]
    assert re.fullmatch(
        rf"tracker: training is paused: {re.escape(path)} cannot be written \(No space left on device\) "
        r"and [\d,]+ records wait in memory\. Free space there \(or make it writable\) and training goes "
        r"on by itself; nothing logged is lost",
        said[2],
    ), said[2]


# -- 2. a write the disk takes only part of -------------------------------------------
class PartialDisk:
    """ENOSPC at the os.write boundary of one file, after ``free`` more bytes (``None``:
    no limit). A write that runs out of room returns what fit, the next raises."""

    def __init__(self, monkeypatch, path: Path) -> None:
        self.path = str(path)
        self.free: int | None = None
        self.failures = 0
        real_write = os.write

        def write(fd, data):
            if self.free is not None and os.readlink(f"/proc/self/fd/{fd}") == self.path:
                if self.free <= 0:
                    self.failures += 1
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                data = bytes(data[: self.free])
                self.free -= len(data)
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("can_cut", [True, False], ids=["cut-back", "continue-the-frame"])
def test_a_partial_write_never_tears_or_repeats_a_frame(tracker_env, monkeypatch, can_cut):
    run = tracker.init()
    events = run.path / rundir.EVENTS
    disk = PartialDisk(monkeypatch, events)
    if not can_cut:  # a file that cannot be cut back: the rest of the frame must follow it
        def no_truncate(fd, length):
            raise OSError(errno.EPERM, "no truncate here")

        monkeypatch.setattr(os, "ftruncate", no_truncate)
    for i in range(1000):
        run.log({"a": float(i), "b": i * 0.5, "c": -float(i), "d": 1.0})
    run._writer.drain()
    disk.free = 5_000 + 37  # a few frames, then part of one
    for i in range(1000, 4000):
        run.log({"a": float(i), "b": i * 0.5, "c": -float(i), "d": 1.0})
        if i % 300 == 0:
            time.sleep(0.01)
    wait_for(lambda: disk.failures >= 2)
    run._writer.drain()
    data = events.read_bytes()
    frames, end, corrupt = records.read_frames(events)
    assert corrupt == 0 and data.count(b"\n") == len(frames)  # every line is a whole frame
    if can_cut:
        assert end == len(data)  # the piece of a frame was cut off again
    else:
        assert end < len(data)  # the piece stays, and the rest of its frame follows it
    written_during = frames[-1].last
    disk.free = None
    run._writer.drain()
    held = run._writer.seq - written_during
    run.finish()
    assert rows_on_disk(run.id) == expected_rows(range(4000))
    assert_log_is_whole(run.path)
    log = (run.path / "logs" / "debug.log").read_text()
    assert (f"events.log is writable again: the {held:,} records kept in memory meanwhile are written; "
            "nothing was lost") in log


def test_the_disk_still_full_at_finish_says_exactly_what_is_lost(tracker_env, monkeypatch):
    run = tracker.init()
    events = run.path / rundir.EVENTS
    run.log({"a": 0.0})
    run._writer.drain()
    on_disk = records.last_seq(events)
    disk = PartialDisk(monkeypatch, events)
    disk.free = 0
    run.log({"a": 1.0})
    run.log({"a": 2.0})
    started = time.monotonic()
    run.finish()  # never raises; retries the write for a few seconds, then says what is lost
    assert time.monotonic() - started < 8
    lost_from, lost_to = on_disk + 1, on_disk + 3  # two rows and the state record
    log = (run.path / "logs" / "debug.log").read_text()
    assert (f"at finish, 3 records (sequence numbers {lost_from} to {lost_to}, ") in log
    assert "could not be written to events.log (No space left on device): they are lost" in log
    assert (run.path / rundir.SUMMARY_JSON).exists() and rundir.read_info(run.path)["state"] == "finished"
    assert [(r["_step"], r["a"]) for r in tracker.Api().run(run.id).history(samples=None)] == [(0, 0.0)]


# -- 3. a corrupt byte and a torn tail, then a resumed run ---------------------------
def test_a_corrupt_byte_and_a_torn_tail_are_skipped_and_a_resumed_run_continues_cleanly(tracker_env):
    run = tracker.init(id="damaged")
    for i in range(3000):
        run.log({"a": float(i), "b": i * 0.5, "c": -float(i), "d": 1.0})
        if i % 1000 == 999:
            run._writer.drain()  # several writes, so frames are not all full
    run.finish()
    events = run.path / rundir.EVENTS
    data = bytearray(events.read_bytes())
    lines = bytes(data).split(b"\n")
    middle = len(lines) // 2
    hit = sum(len(line) + 1 for line in lines[:middle]) + 40
    data[hit] ^= 0x01  # one flipped bit in the middle frame
    lost = records.decode_line(lines[middle])
    torn = b'[[99999,"h",99999,1.0,{"a":1.0}]]\t0000'  # a frame its writer never finished
    events.write_bytes(bytes(data) + torn)
    before = tracker.Api().run("damaged")
    report = before.read_report
    assert (report.corrupt, report.missing, report.torn_tail) == (1, len(lost), True)
    lost_steps = {r[2] for r in lost if r[1] == "h"}
    good = [i for i in range(3000) if i not in lost_steps]
    assert rows_on_disk("damaged") == expected_rows(good)

    done = run_script(f"""
        import tracker
        run = tracker.init(id="damaged", resume="allow")
        assert run.step == 3000, run.step
        for i in range(3000, 3100):
            run.log({ROW})
        run.finish()
    """)
    assert done.returncode == 0, done.stderr
    after = tracker.Api().run("damaged")
    report = after.read_report
    assert (report.corrupt, report.missing, report.torn_tail) == (1, len(lost), False)
    assert rows_on_disk("damaged") == expected_rows(good + list(range(3000, 3100)))
    got = list(records.read_log(events))
    assert [r[0] for r in got] == sorted({r[0] for r in got})  # no sequence number twice
    assert events.read_bytes().endswith(b"\n") and torn not in events.read_bytes()
    debug = (run.path / "logs" / "debug.log").read_text()
    assert (f"resume: events.log had 1 damaged lines ({len(lost)} records) skipped and a torn last frame "
            f"({len(torn)} bytes, never completed) cut off; the log continues after record ") in debug


# -- 4. two processes, one run -------------------------------------------------------
HOLD_SCRIPT = f"""
import os, sys, time
import tracker
from pathlib import Path

go, release = Path(sys.argv[1]), Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
try:
    run = tracker.init(id="same1", resume="allow")
except tracker.RunLocked as exc:
    print("locked:", exc, flush=True)
    sys.exit(7)
print("recording", os.getpid(), flush=True)
for i in range(run.step, run.step + 20000):
    run.log({ROW})
while not release.exists():
    time.sleep(0.01)
run.finish()
"""


def _start_holders(tmp_path: Path, count: int) -> tuple[list[subprocess.Popen], Path, Path]:
    go, release = tmp_path / "go", tmp_path / "release"
    procs = [
        subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(go), str(release)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=script_env())
        for _ in range(count)
    ]
    return procs, go, release


@pytest.mark.parametrize("existing", [True, False], ids=["resume-existing", "both-create"])
def test_two_processes_resuming_one_run_at_once(tracker_env, tmp_path, existing):
    if existing:
        run = tracker.init(id="same1")
        for i in range(10):
            run.log({"a": float(i), "b": i * 0.5, "c": -float(i), "d": 1.0})
        run.finish()
    procs, go, release = _start_holders(tmp_path, 2)
    go.touch()  # both call init at once
    try:
        holder = _check_one_holder(procs, release)
    finally:
        release.touch()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    start = 10 if existing else 0
    assert rows_on_disk("same1") == expected_rows(range(start + 20000))
    dirs = [p for p in tracker_env.iterdir() if p.name.endswith("-same1")]
    assert len(dirs) == 1
    got = assert_log_is_whole(dirs[0])
    assert [r[3]["pid"] for r in got if r[1] == "start"][-1] == holder


def _check_one_holder(procs: list[subprocess.Popen], release: Path) -> int:
    """Exactly one process records, the other was told who does; the holder's pid."""
    first = [p.stdout.readline().split() for p in procs]
    winners = [i for i, words in enumerate(first) if words[:1] == ["recording"]]
    assert len(winners) == 1, first
    winner, loser = procs[winners[0]], procs[1 - winners[0]]
    assert loser.wait(timeout=30) == 7
    message = " ".join(first[1 - winners[0]])
    holder = int(first[winners[0]][1])
    assert re.fullmatch(
        rf"locked: run 'same1' is being recorded by process {holder} on host {re.escape(socket.gethostname())} "
        r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\): one process records a run at a time\. Finish the run there "
        r"\(run\.finish\(\) or %tracker finish\) or let that process end, then resume it; or start a new run "
        r"with another id\.",
        message,
    ), message
    release.touch()
    assert winner.wait(timeout=60) == 0, winner.stderr.read()
    return holder


# -- 5. forked children --------------------------------------------------------------
FORK_SCRIPT = """
import multiprocessing, os, sys
import tracker

def child_logs(i):
    tracker.log({"child": float(i)})
    return "not raised"

run = tracker.init(project="fork")
print(run.id, flush=True)
for i in range(100):
    run.log({"x": float(i)})
with multiprocessing.get_context("fork").Pool(2) as pool:
    try:
        pool.map(child_logs, range(4))
    except RuntimeError as exc:
        print("pool:", exc, flush=True)
pid = os.fork()
if pid == 0:  # a child made by os.fork: its own run works, the parent's raises
    try:
        run.log({"x": -1.0})
    except RuntimeError as exc:
        print("fork:", exc, flush=True)
    own = tracker.init(project="fork-child")
    own.log({"y": 1.0})
    own.finish()
    print(own.id, flush=True)
    sys.exit(0)  # a normal exit (atexit runs): must not finish the parent's run
os.waitpid(pid, 0)
assert tracker.current() is run and run.state == "running"
for i in range(100, 200):
    run.log({"x": float(i)})
run.finish()
"""


def test_a_forked_child_that_logs_gets_a_clear_error_and_the_parent_loses_nothing(tracker_env):
    done = run_script(FORK_SCRIPT)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    run_id, child_id = out[0], out[-1]
    parent = tracker.Api().run(run_id)
    assert [(r["_step"], r["x"]) for r in parent.history(samples=None)] == [(i, float(i)) for i in range(200)]
    assert parent.state == "finished"
    assert_log_is_whole(Path(parent.dir))
    child = tracker.Api().run(child_id)
    assert child.project == "fork-child" and [r["y"] for r in child.history(samples=None)] == [1.0]
    said = [line for line in out if line.startswith(("pool:", "fork:"))]
    assert len(said) == 2
    for line in said:
        assert re.search(
            rf"run {run_id} belongs to process \d+, and this is a forked child \(pid \d+\): a child cannot "
            r"record to its parent's run \(nothing of it would reach the run\)\. Log from the parent", line
        ), line
        assert "tracker.init()" in line and "'spawn' start method" in line


# -- 6. how a script ends ------------------------------------------------------------
@pytest.mark.parametrize(
    "ending, status, state",
    [
        ("sys.exit(3)", 3, "failed"),
        ("raise ValueError('diverged')", 1, "failed"),
        ("raise KeyboardInterrupt", 130, "failed"),
        ("sys.exit(0)", 0, "finished"),
        ("sys.exit('bad input')", 1, "failed"),
        ("pass", 0, "finished"),
    ],
)
def test_a_script_that_ends_without_finish_records_its_real_exit_code(tracker_env, ending, status, state):
    done = run_script(f"""
        import sys
        import tracker
        run = tracker.init()
        print(run.id, flush=True)
        for i in range(500):
            run.log({{"x": float(i)}})
        {ending}
    """)
    if ending == "raise KeyboardInterrupt":
        assert done.returncode in (-signal.SIGINT, 130)
    else:
        assert done.returncode == status
    run = tracker.Api().run(done.stdout.split()[0])
    assert (run.state, run.info["exit_code"]) == (state, status)
    log = replay(Path(run.dir) / rundir.EVENTS)
    assert (log.state, log.exit_code) == (state, status)
    assert [r["x"] for r in run.history(samples=None)] == [float(i) for i in range(500)]
    if ending.startswith("raise ValueError"):
        assert "ValueError: diverged" in done.stderr  # the original hook still prints the traceback


# -- 7. values the server would refuse -----------------------------------------------
POISON_LOG = [
    (lambda run: run.log({"\ud800": 1.0}), ValueError, r"key '\ud800' cannot be encoded as UTF-8"),
    (lambda run: run.log({"a\x00b": 1.0}), ValueError, r"key 'a\x00b' holds a NUL character"),
    (lambda run: run.log({"outer": {"\x00": 1.0}}), ValueError, r"key 'outer/\x00' holds a NUL"),
    (lambda run: run.log({f"k{i}": 1.0 for i in range(limits.MAX_KEYS_PER_RECORD + 1)}), ValueError,
     "10,001 metric keys in one call; the limit is 10,000"),
    (lambda run: run.log({"a": 1.0}, step=2**63), ValueError, "the largest step is 9223372036854775807"),
    (lambda run: run.define_metric("\ud800"), ValueError, "define_metric(): the name cannot be encoded"),
    (lambda run: run.config.update({"deep": _nested(70)}), ValueError,
     "config value 'deep' is nested more than 63 levels deep"),
    (lambda run: run.config.update({"lr": "\ud800"}), ValueError, "config value 'lr' cannot be stored as JSON"),
    (lambda run: run.summary.update({"best": "\udc80"}), ValueError, "summary value 'best' cannot be stored"),
    (lambda run: setattr(run, "name", "a\x00b"), ValueError, "run.name holds a NUL character"),
    (lambda run: setattr(run, "notes", "n" * (limits.MAX_NOTES_LENGTH + 1)), ValueError,
     "run.notes is 100001 characters; the limit is 100000"),
    (lambda run: setattr(run, "tags", ["t"] * (limits.MAX_TAGS + 1)), ValueError, "1001 tags; the limit is 1000"),
    (lambda run: setattr(run, "group", "\ud800"), ValueError, "run.group cannot be encoded as UTF-8"),
]
POISON_INIT = [
    ({"project": "p" * 300}, ValueError, "init(project=...) is 300 characters; the limit is 256"),
    ({"name": "a\x00b"}, ValueError, "init(name=...) holds a NUL character"),
    ({"group": "g\x00"}, ValueError, "init(group=...) holds a NUL"),
    ({"job_type": "j\x00"}, ValueError, "init(job_type=...) holds a NUL"),
    ({"notes": "n" * 100_001}, ValueError, "init(notes=...) is 100001 characters; the limit is 100000"),
    ({"notes": "a\x00"}, ValueError, "init(notes=...) holds a NUL"),
    ({"tags": ["ok", "t\x00"]}, ValueError, "init(tags=...): a tag holds a NUL"),
    ({"tags": [str(i) for i in range(1001)]}, ValueError, "init(tags=...): 1001 tags; the limit is 1000"),
    ({"config": {"deep": _nested(64)} if False else None}, None, None),
]


def _nested(levels: int):
    value: object = 1
    for _ in range(levels):
        value = {"x": value}
    return value


POISON_INIT[-1] = ({"config": {"deep": _nested(64)}}, ValueError, "config value 'deep' is nested more than 63")


@pytest.mark.parametrize("call, error, words", POISON_LOG, ids=[w[:30] for _, _, w in POISON_LOG])
def test_a_poison_value_is_refused_at_the_call_and_the_log_stays_uploadable(tracker_env, call, error, words):
    run = tracker.init(config={"ok": _nested(62)})
    run.log({"before": 1.0})
    with pytest.raises(error, match=re.escape(words)):
        call(run)
    run.log({"after": 2.0})
    run.finish()
    back = tracker.Api().run(run.id)
    assert [sorted(k for k in r if not k.startswith("_")) for r in back.history(samples=None)] == [["before"], ["after"]]
    assert_log_is_whole(run.path)


@pytest.mark.parametrize("kwargs, error, words", POISON_INIT, ids=[w[:30] for _, _, w in POISON_INIT])
def test_a_poison_argument_of_init_is_refused_before_a_run_exists(tracker_env, kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        tracker.init(**kwargs)
    assert not tracker_env.exists() or not list(tracker_env.glob("*run-*"))


def test_a_project_from_the_environment_is_checked_too(tracker_env, monkeypatch):
    monkeypatch.setenv("TRACKER_PROJECT", "p" * 300)
    with pytest.raises(ValueError, match="TRACKER_PROJECT is 300 characters; the limit is 256"):
        tracker.init()


def test_steps_never_pass_the_largest_one(tracker_env):
    run = tracker.init()
    run.log({"a": 1.0}, step=limits.MAX_STEP - 1, commit=True)
    run.log({"a": 2.0})  # step MAX_STEP: the last there is
    with pytest.raises(ValueError, match="the largest there is"):
        run.log({"a": 3.0})
    with pytest.raises(ValueError, match="the largest step is"):
        run.log({"a": 3.0}, step=limits.MAX_STEP + 1)
    run.finish()
    assert [r["_step"] for r in tracker.Api().run(run.id).history(samples=None)] == [limits.MAX_STEP - 1, limits.MAX_STEP]
    assert_log_is_whole(run.path)


def test_the_writer_drops_only_a_record_it_cannot_encode(tracker_env):
    """Past every check (a record put on the queue by hand): its neighbours are written,
    the message names it, finish() does not raise and writes summary.json."""
    run = tracker.init()
    for i in range(200):
        run.log({"a": float(i)})
    run.writer.append([0, "h", 200, time.time(), {"\ud800": 1.0, "a": 200.0}])
    run._step = 201
    for i in range(201, 400):
        run.log({"a": float(i)})
    run.finish()
    assert [(r["_step"], r["a"]) for r in tracker.Api().run(run.id).history(samples=None)] == [
        (i, float(i)) for i in range(400) if i != 200
    ]
    assert_log_is_whole(run.path)
    assert rundir.read_json(run.path / rundir.SUMMARY_JSON)["summary"] == {"a": 399.0}
    assert ("events.log: the row logged at step 200 with keys '\\ud800', 'a' cannot be encoded "
            "(str is not valid UTF-8: surrogates not allowed); that record alone was dropped, the records "
            "around it are written") in (run.path / "logs" / "debug.log").read_text()


def test_values_set_before_init_raise_instead_of_vanishing(tracker_env):
    for assign in (
        lambda: setattr(tracker.config, "lr", 0.7),
        lambda: tracker.config.__setitem__("lr", 0.7),
        lambda: setattr(tracker.summary, "best", 1.0),
        lambda: tracker.summary.__setitem__("best", 1.0),
        lambda: tracker.config.update({"lr": 0.7}),
    ):
        with pytest.raises(RuntimeError, match=r"no active run; call tracker.init\(\)"):
            assign()
    assert dict(tracker.init().config) == {}


def test_a_working_folder_whose_name_is_not_utf8_still_makes_a_run(tracker_env, tmp_path):
    odd = os.path.join(os.fsencode(tmp_path), b"data-\xff")
    os.mkdir(odd)
    done = subprocess.run(
        [sys.executable, "-c", "import tracker\nrun = tracker.init()\nrun.log({'a': 1.0})\nprint(run.id)"],
        cwd=odd, capture_output=True, text=True, timeout=60, env=script_env(),
    )
    assert done.returncode == 0, done.stderr
    run = tracker.Api().run(done.stdout.strip())
    assert run.state == "finished" and run.info["cwd"].endswith("data-\ufffd")
    assert [r["a"] for r in run.history(samples=None)] == [1.0]
