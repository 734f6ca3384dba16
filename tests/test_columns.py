"""The read cache of a run (columns.py) against replay(), the reference reader.

Random events logs (history rows continued across records, ints, big ints,
NaN and infinities, define_metric rules and step metrics, summary overrides,
config, identity changes, resumes that close a torn tail, corrupt lines,
blank lines, a torn last line) are read whole and while they grow in random
byte chunks (cut anywhere, also inside a line), and every read must say what
replay() says of the same bytes. Then the faults: a log that shrinks, is
replaced or rewritten in place; cache files damaged in every way; builders
racing in separate processes; a run directory where the cache cannot live.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from jupyter_tracker import records
from jupyter_tracker.columns import COLUMNS_JSON, SNAPSHOT_JSON, RunCache
from jupyter_tracker.records import jsonable
from jupyter_tracker.replay import replay


def _value(rng: random.Random) -> object:
    return rng.choice([
        rng.random(), rng.randint(-5, 5), 2**60 + 1, 2**70, math.nan, math.inf, -math.inf, 0, -0.0, 1e-300,
        float(rng.randint(0, 3)),
    ])


def random_records(rng: random.Random, count: int) -> list[list]:
    """Records a writer (and a resumed writer) could append, without sequence numbers."""
    keys = ["loss", "acc", "val/loss", "val/acc", "epoch", "lr", "a.b"]
    out: list[list] = [[0, "start", 1.0, {"pid": 1, "host": "h", "resumed": False}]]
    step = 0
    ts = 1.8e9
    for _ in range(count):
        ts += rng.random()
        roll = rng.random()
        if roll < 0.75:
            if rng.random() < 0.7:
                step += rng.choice([1, 1, 1, 2, 10])
            data = {k: _value(rng) for k in rng.sample(keys, rng.randint(1, 4))}
            out.append([0, "h", step, ts, data])
        elif roll < 0.8:
            out.append([0, "c", ts, {rng.choice(["lr", "batch", "opt"]): _value(rng)}])
        elif roll < 0.85 and rng.random() < (0.5 if count < 5000 else 0.01):  # few: define() is O(definitions)
            out.append([0, "m", ts, {"name": rng.choice(["val/*", "loss", "acc"]),
                                     "step_metric": rng.choice([None, "epoch"]),
                                     "summary": rng.choice(["min", "max", "mean", "first", "last", "none", None])}])
        elif roll < 0.9:
            out.append([0, "s", ts, {"set": {"best": _value(rng)}, "del": rng.sample(keys, rng.randint(0, 1))}])
        elif roll < 0.93:
            out.append([0, "meta", ts, {"name": f"n{rng.randint(0, 9)}", "tags": ["t"]}])
        elif roll < 0.95:
            out.append([0, "f", ts, {"path": "a.txt", "policy": "now"}])
        elif roll < 0.97:
            out.append([0, "start", ts, {"pid": 2, "host": "h", "resumed": True}])
        else:
            out.append([0, "state", ts, {"state": rng.choice(["running", "finished", "crashed"]), "exit_code": 0}])
    return out


def random_log(rng: random.Random, count: int) -> bytes:
    """The bytes of an events log: frames of 1 to 40 records, with damage here and there."""
    items = random_records(rng, count)
    seq = 0
    out: list[bytes] = []
    position = 0
    while position < len(items):
        size = rng.randint(1, 40)
        chunk = [list(item) for item in items[position : position + size]]
        position += size
        for item in chunk:
            seq += 1
            item[0] = seq
        line = records.encode(chunk)
        damage = rng.random()
        if damage < 0.04:  # a corrupt byte
            at = rng.randrange(len(line) - 1)
            line = line[:at] + bytes([line[at] ^ 0x5A]) + line[at + 1 :]
        elif damage < 0.06:  # a torn line, later closed by a resumed writer's newline
            line = line[: rng.randrange(1, len(line) - 1)] + b"\n"
        elif damage < 0.07:
            line = b"\n" + line
        elif damage < 0.09 and out:  # a frame written twice (read_log yields and counts duplicates)
            line = out[-1] + line
        out.append(line)
    data = b"".join(out)
    if rng.random() < 0.5:  # a torn tail
        data += records.encode([[seq + 1, "h", step_of(items) + 1, 2e9, {"loss": 1.0}]])[:-7]
    return data


def writer_log(rng: random.Random, rows: int) -> bytes:
    """A log shaped as the kernel's writer makes it: frames of up to 256 history records
    with the same keys and one row each (the reader's fast path), now and then a
    define_metric with a summary rule, a config record, a row continued over two
    records, a new key, NaN and infinities, integers."""
    keys = ["loss", "acc"]
    items: list[list] = [[0, "m", 1.0, {"name": "acc", "summary": "max", "step_metric": None}],
                         [0, "m", 1.0, {"name": "loss", "summary": "mean", "step_metric": None}]]
    step = 0
    for _ in range(rows):
        roll = rng.random()
        if roll < 0.001:
            items.append([0, "m", 1.0, {"name": rng.choice(keys), "summary": rng.choice(["min", "mean", "first", "last"]),
                                        "step_metric": None}])
        elif roll < 0.002:
            keys = keys + [f"k{len(keys)}"]
        elif roll < 0.003:
            items.append([0, "c", 1.0, {"lr": rng.random()}])
        elif roll < 0.005:  # commit=False: a second record for the same step
            items.append([0, "h", step, 2.0 + step, {"extra": float(step)}])
        step += 1
        data = {k: rng.choice([rng.random(), rng.randint(0, 9), math.nan, math.inf if k[0] == "k" else -0.0])
                if rng.random() < 0.02 else rng.random() for k in keys}  # sums stay finite for loss and acc
        if rng.random() < 0.3:
            data = {k: step * 3 for k in keys}
        items.append([0, "h", step, 2.0 + step, data])
    out: list[bytes] = []
    records.encode_items(items, 0, out)
    return b"".join(out)


def step_of(items: list[list]) -> int:
    steps = [item[2] for item in items if item[1] == "h"]
    return steps[-1] if steps else 0


def same(a: object, b: object) -> bool:
    return jsonable(a) == jsonable(b)


def as_floats(rows: list[dict]) -> list[dict]:
    """History values as the cache holds them: float64 (2**60 + 1 is 2**60 there)."""
    return [{k: (v if k == "_step" else float(v)) for k, v in row.items()} for row in rows]


def same_rows(a: list[dict], b: list[dict]) -> bool:
    return same(as_floats(a), as_floats(b))


def check_agrees(path: Path, cache: RunCache) -> None:
    """What the cache says of the run directory ``path`` is what replay says."""
    log = replay(path / "events.log")
    history = cache.history()
    snapshot = cache.snapshot()
    rows = history.rows()
    assert same_rows(rows, log.rows), "rows differ"
    for got, want in zip(rows, log.rows):  # a metric logged as integers only reads back as integers
        for key, value in got.items():
            if type(value) is int and key != "_step":
                assert value == want[key] and type(want[key]) is int
    assert same(snapshot.config, log.config)
    assert same(snapshot.summary.as_dict(), log.summary.as_dict())
    assert same(snapshot.summary.to_dict(), log.summary.to_dict())  # rules' min, max, sums and counts too
    assert list(snapshot.summary.as_dict()) == list(log.summary.as_dict())
    assert snapshot.summary.step_metrics() == log.summary.step_metrics()
    for name in ("metrics", "meta", "files", "state", "exit_code", "last_seq", "last_step", "start_ts", "last_ts"):
        assert same(getattr(snapshot, name), getattr(log, name)), name
    assert snapshot.report == log.report
    # the columns are the rows, one metric at a time
    columns = history.columns()
    keys = sorted({k for row in log.rows for k in row if not k.startswith("_")})
    assert list(columns) == keys
    for key in keys:
        points = [row for row in log.rows if key in row]
        column = columns[key]
        assert column["step"].dtype == np.int64 and column["value"].dtype == np.float64
        assert column["step"].tolist() == [row["_step"] for row in points]
        assert column["timestamp"].tolist() == [row["_timestamp"] for row in points]
        assert same(column["value"].tolist(), [float(row[key]) for row in points])
    # and the keyed and downsampled rows are those of the reference rules
    if keys:
        key = keys[0]
        assert same_rows(history.rows([key]), [{"_step": r["_step"], "_timestamp": r["_timestamp"], key: r[key]}
                                              for r in log.rows if key in r])
        assert same(list(history.iter_rows([key], page_size=7)), history.rows([key]))


@pytest.mark.parametrize("seed", range(12))
def test_cache_and_replay_agree_on_random_logs(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = random_log(rng, rng.choice([50, 400, 3000]))
    run = tmp_path / "run"
    run.mkdir()
    (run / "events.log").write_bytes(data)
    check_agrees(run, RunCache(run))
    check_agrees(run, RunCache(run))  # from the files this time
    check_agrees(run, RunCache(run, persist=False))


@pytest.mark.parametrize("seed", range(6))
def test_cache_and_replay_agree_on_logs_shaped_by_the_writer(tmp_path: Path, seed: int) -> None:
    rng = random.Random(200 + seed)
    data = writer_log(rng, 6000)
    frames = data.split(b"\n")
    at = rng.randrange(1, len(frames) - 2)
    data = b"\n".join(frames[:at] + [frames[at - 1]] + frames[at:])  # one frame written twice
    run = tmp_path / "run"
    run.mkdir()
    events = run / "events.log"
    cut = rng.randrange(len(data))
    events.write_bytes(data[:cut])
    reader = RunCache(run)
    check_agrees(run, reader)
    events.write_bytes(data)
    check_agrees(run, reader)
    check_agrees(run, RunCache(run, persist=False))


@pytest.mark.parametrize("seed", range(8))
def test_a_growing_log_read_in_random_chunks(tmp_path: Path, seed: int) -> None:
    rng = random.Random(100 + seed)
    data = random_log(rng, 1500)
    run = tmp_path / "run"
    run.mkdir()
    events = run / "events.log"
    events.write_bytes(b"")
    readers = [RunCache(run), RunCache(run, persist=False)]
    position = 0
    while position < len(data):
        position = min(len(data), position + rng.choice([1, 50, 700, 5000, 20000]))
        with open(events, "ab") as handle:
            handle.write(data[len(events.read_bytes()) : position])
        reader = rng.choice(readers + [RunCache(run)])  # a new reader takes the files as they are
        check_agrees(run, reader)
    generation = orjson.loads((run / "cache" / COLUMNS_JSON).read_bytes())["gen"]
    check_agrees(run, readers[0])
    assert orjson.loads((run / "cache" / COLUMNS_JSON).read_bytes())["gen"] == generation  # never rebuilt


def _run_with_log(tmp_path: Path, seed: int = 1, count: int = 800) -> Path:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    rng = random.Random(seed)
    items = [item for item in random_records(rng, count)]
    for seq, item in enumerate(items, 1):
        item[0] = seq
    (run / "events.log").write_bytes(b"".join(records.encode(items[i : i + 20]) for i in range(0, len(items), 20)))
    return run


def _generation(run: Path) -> str:
    return orjson.loads((run / "cache" / COLUMNS_JSON).read_bytes())["gen"]


def _arrays(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "cache").iterdir() if p.name.startswith("g"))


def test_a_log_that_shrinks_or_is_replaced_or_rewritten_is_read_again(tmp_path: Path) -> None:
    run = _run_with_log(tmp_path)
    events = run / "events.log"
    check_agrees(run, RunCache(run))
    first = _generation(run)
    data = events.read_bytes()
    events.write_bytes(data[: len(data) // 2])  # shrinks
    check_agrees(run, RunCache(run))
    second = _generation(run)
    assert second != first and not any(name.startswith(f"g{first}") for name in _arrays(run))
    replacement = run / "other.log"
    replacement.write_bytes(data)
    os.replace(replacement, events)  # another file with the same name
    reader = RunCache(run)
    check_agrees(run, reader)
    third = _generation(run)
    assert third != second
    # one byte changed in place, same size: the frame is corrupt now and the report says so
    at = len(data) // 3
    with open(events, "r+b") as handle:
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(at)
        handle.write(bytes([byte[0] ^ 0x5A]))
    os.utime(events, ns=(os.stat(events).st_atime_ns, os.stat(events).st_mtime_ns + 1_000_000))
    check_agrees(run, reader)
    assert reader.snapshot().report.corrupt == 1 and _generation(run) != third


@pytest.mark.parametrize("damage", ["columns-garbage", "snapshot-garbage", "array-short", "array-missing",
                                    "rows-short", "extra-bytes", "other-version", "snapshot-other-position",
                                    "cache-is-a-file"])
def test_a_damaged_cache_is_rebuilt_never_trusted(tmp_path: Path, damage: str) -> None:
    run = _run_with_log(tmp_path)
    check_agrees(run, RunCache(run))
    cache = run / "cache"
    first = _generation(run)
    arrays = _arrays(run)
    value_file = cache / next(name for name in arrays if name.endswith("0.val"))
    if damage == "columns-garbage":
        (cache / COLUMNS_JSON).write_bytes(b'{"version": 1, "gen": ')
    elif damage == "snapshot-garbage":
        (cache / SNAPSHOT_JSON).write_bytes(b"[]")
    elif damage == "array-short":
        os.truncate(value_file, value_file.stat().st_size - 8)
    elif damage == "array-missing":
        value_file.unlink()
    elif damage == "rows-short":
        os.truncate(cache / next(n for n in arrays if n.endswith("rows.ts")), 8)
    elif damage == "extra-bytes":  # a builder killed after appending, before its JSON
        with open(value_file, "ab") as handle:
            handle.write(np.arange(5, dtype="<f8").tobytes())
    elif damage == "other-version":
        state = orjson.loads((cache / COLUMNS_JSON).read_bytes())
        state["version"] = 999
        (cache / COLUMNS_JSON).write_bytes(orjson.dumps(state))
    elif damage == "snapshot-other-position":
        state = orjson.loads((cache / SNAPSHOT_JSON).read_bytes())
        state["log"]["offset"] -= 1
        (cache / SNAPSHOT_JSON).write_bytes(orjson.dumps(state))
    elif damage == "cache-is-a-file":
        for path in cache.iterdir():
            path.unlink()
        cache.rmdir()
        cache.write_bytes(b"not a folder")
    reader = RunCache(run)
    check_agrees(run, reader)
    if damage == "cache-is-a-file":
        assert not reader.persistent and cache.read_bytes() == b"not a folder"
        return
    assert reader.persistent
    if damage == "extra-bytes":
        # the extra bytes are cut when the log grows and the cache is extended
        with open(run / "events.log", "ab") as handle:
            handle.write(records.encode([[10_000, "h", 10**6, 2e9, {"loss": 7.0}]]))
        check_agrees(run, reader)
        assert _generation(run) == first
    elif damage not in ("array-short", "array-missing", "rows-short"):
        assert _generation(run) != first
    # whatever happened, the cache on disk is whole again for the next reader
    check_agrees(run, RunCache(run))


def test_an_array_damaged_under_a_reader_is_read_again(tmp_path: Path) -> None:
    run = _run_with_log(tmp_path)
    reader = RunCache(run)
    check_agrees(run, reader)
    first = _generation(run)
    for name in _arrays(run):
        (run / "cache" / name).unlink()
    fresh = RunCache(run)
    check_agrees(run, fresh)
    assert _generation(run) != first


BUILDER = """
import sys, orjson
from jupyter_tracker.columns import RunCache
cache = RunCache(sys.argv[1])
history = cache.history()
columns = history.columns()
print(orjson.dumps({k: [v["step"].tolist(), v["value"].tolist()] for k, v in columns.items()},
                   option=orjson.OPT_SERIALIZE_NUMPY).decode())
"""


def test_builders_racing_in_separate_processes(tmp_path: Path) -> None:
    run = _run_with_log(tmp_path, seed=3, count=30000)
    procs = [subprocess.Popen([sys.executable, "-c", BUILDER, str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        outputs.append(out)
    assert len(set(outputs)) == 1
    check_agrees(run, RunCache(run))
    generations = {name.split("-")[0] for name in _arrays(run)}
    assert generations == {"g" + _generation(run)}


def test_builders_killed_half_way_cost_nothing(tmp_path: Path) -> None:
    import time

    run = _run_with_log(tmp_path, seed=4, count=60000)
    for delay in (0.05, 0.2, 0.4, 0.6):
        # the log grows between the kills, so each builder has work to be killed in
        with open(run / "events.log", "ab") as handle:
            handle.write(records.encode([[10**6 + int(delay * 100), "h", 10**7 + int(delay * 100), 2e9, {"x": delay}]]))
        proc = subprocess.Popen([sys.executable, "-c", BUILDER, str(run)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
    check_agrees(run, RunCache(run))
    generations = {name.split("-")[0] for name in _arrays(run)}
    assert generations == {"g" + _generation(run)}  # what killed builders left is gone


def test_build_many_builds_in_separate_processes(tmp_path: Path) -> None:
    from jupyter_tracker.columns import build_many

    runs = []
    for seed in range(3):
        (tmp_path / f"r{seed}").mkdir()
        runs.append(_run_with_log(tmp_path / f"r{seed}", seed=seed, count=2000))
    assert build_many(runs, workers=2) == 2
    for run in runs:
        assert (run / "cache" / COLUMNS_JSON).exists()  # before any reader in this process
        reader = RunCache(run)
        assert reader.fresh()
        check_agrees(run, reader)
    assert build_many(runs[:1]) == 0  # one run: no process is worth it
