import errno
import math
import os

import numpy as np
import orjson
import pytest

from jupyter_tracker import records


def _lines(items, seq=0):
    out = []
    last = records.encode_items(items, seq, out)
    return b"".join(out), last


def test_frames_number_records_and_round_trip(tmp_path):
    items = [[0, "h", i, 1.5 + i, {"a": float(i), "b": i}] for i in range(600)]
    data, last = _lines(items, seq=10)
    assert last == 610
    path = tmp_path / "events.log"
    path.write_bytes(data)
    report = records.ReadReport()
    got = list(records.read_log(path, report))
    assert [r[0] for r in got] == list(range(11, 611))
    assert got[5] == [16, "h", 5, 6.5, {"a": 5.0, "b": 5}]
    assert report.records == 600 and report.skipped == 0
    # frames are bounded so a corrupt line costs at most FRAME_RECORDS records
    assert data.count(b"\n") == math.ceil(600 / records.FRAME_RECORDS)


def test_every_line_carries_a_crc_of_its_json(tmp_path):
    data, _ = _lines([[0, "h", 0, 1.0, {"x": 1.0}]])
    payload, crc = data.rstrip(b"\n").rsplit(b"\t", 1)
    import zlib

    assert int(crc, 16) == zlib.crc32(payload)
    assert orjson.loads(payload) == [[1, "h", 0, 1.0, {"x": 1.0}]]


def test_nan_and_inf_round_trip_everywhere(tmp_path):
    items = [
        [0, "h", 0, 1.0, {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "ok": 2.0}],
        [0, "c", 1.0, {"lr": math.nan, "nested": {"x": [math.inf]}}],
    ]
    data, _ = _lines(items)
    path = tmp_path / "e.log"
    path.write_bytes(data)
    (h, c) = list(records.read_log(path))
    assert math.isnan(h[4]["nan"]) and h[4]["inf"] == math.inf and h[4]["ninf"] == -math.inf
    assert h[4]["ok"] == 2.0
    assert math.isnan(c[3]["lr"]) and c[3]["nested"]["x"] == [math.inf]


def test_huge_int_and_odd_values_take_the_slow_path(tmp_path):
    data, _ = _lines([[0, "h", 0, 1.0, {"big": 10**30}], [0, "meta", 1.0, {"path": tmp_path, "t": (1, 2)}]])
    path = tmp_path / "e.log"
    path.write_bytes(data)
    h, meta = list(records.read_log(path))
    assert h[4]["big"] == pytest.approx(1e30)
    assert meta[3] == {"path": str(tmp_path), "t": [1, 2]}


def test_reader_skips_torn_tail_and_reports_it(tmp_path):
    good, _ = _lines([[0, "h", i, 1.0, {"a": 1.0}] for i in range(3)])
    torn, _ = _lines([[0, "h", 3, 1.0, {"a": 1.0}]], seq=3)
    path = tmp_path / "e.log"
    path.write_bytes(good + torn[: len(torn) // 2])
    report = records.ReadReport()
    got = list(records.read_log(path, report))
    assert [r[0] for r in got] == [1, 2, 3]
    assert report.torn_tail and report.skipped == 1 and report.corrupt == 0


def test_reader_skips_corrupt_frames_keeps_the_rest_and_counts_lost_records(tmp_path):
    frames = []
    seq = 0
    for start in range(0, 30, 10):
        out = []
        seq = records.encode_items([[0, "h", i, 1.0, {"a": float(i)}] for i in range(start, start + 10)], seq, out)
        frames.append(out[0])
    # flip a byte inside the middle frame's JSON: its checksum no longer holds
    middle = bytearray(frames[1])
    middle[20] = ord("7") if middle[20] != ord("7") else ord("8")
    path = tmp_path / "e.log"
    path.write_bytes(frames[0] + bytes(middle) + b"garbage without checksum\n" + frames[2])
    report = records.ReadReport()
    got = list(records.read_log(path, report))
    assert [r[0] for r in got] == list(range(1, 11)) + list(range(21, 31))
    assert report.corrupt == 2
    assert report.missing == 10  # records lost, from the gap in sequence numbers
    assert report.missing_ranges == [[11, 20]]
    assert any("corrupt" in p for p in report.problems)


def _frames(*ranges):
    """One frame per (first, last) range of sequence numbers, as written."""
    out = []
    for first, last in ranges:
        records.encode_items([[0, "h", s, 1.0, {"a": float(s)}] for s in range(first, last + 1)], first - 1, out)
    return out


def _damaged(frame: bytes) -> bytes:
    line = bytearray(frame)
    line[5] = ord("7") if line[5] != ord("7") else ord("8")
    return bytes(line)


def test_a_damaged_first_frame_counts_as_missing(tmp_path):
    first, second, third = _frames((1, 256), (257, 512), (513, 600))
    path = tmp_path / "e.log"
    path.write_bytes(_damaged(first) + second + third)
    report = records.ReadReport()
    got = list(records.read_log(path, report))
    assert [r[0] for r in got] == list(range(257, 601))
    assert report.corrupt == 1 and report.missing == 256 and report.duplicates == 0
    assert report.missing_ranges == [[1, 256]]
    assert any("records 1-256 missing" in p for p in report.problems)


def test_duplicated_frames_are_counted_and_still_yielded(tmp_path):
    a, b, c, overlap = _frames((1, 10), (11, 20), (21, 30), (15, 25))
    path = tmp_path / "e.log"
    path.write_bytes(a + b + b + c + overlap)
    report = records.ReadReport()
    got = [r[0] for r in records.read_log(path, report)]
    assert got == list(range(1, 21)) + list(range(11, 31)) + list(range(15, 26))  # unchanged for replay & co.
    assert report.duplicates == 10 + 11 and report.missing == 0 and report.corrupt == 0


def test_missing_and_duplicates_from_an_offset_start_at_the_first_frame_read(tmp_path):
    a, b, c = _frames((1, 10), (11, 20), (31, 40))
    path = tmp_path / "e.log"
    path.write_bytes(a + b + c)
    report = records.ReadReport()
    assert [r[0] for r in records.read_log(path, report, offset=len(a))][0] == 11
    assert report.missing == 10 and report.duplicates == 0


def test_append_records_cuts_a_torn_tail_first(tmp_path):
    good, last = _lines([[0, "h", 0, 1.0, {"a": 1.0}]])
    path = tmp_path / "e.log"
    path.write_bytes(good + b'[[2,"h",1,1.0,{"a"')
    seq = records.append_records(path, [[0, "state", 2.0, {"state": "crashed"}]])
    assert seq == 2
    report = records.ReadReport()
    got = list(records.read_log(path, report))
    assert [(r[0], r[1]) for r in got] == [(1, "h"), (2, "state")]
    assert report.skipped == 0 and report.missing == 0


@pytest.mark.parametrize(
    "content, kept",
    [
        (b"", 0),
        (b"a\nb\n", 4),
        (b"a\nb\ntorn", 4),
        (b"no newline at all", 0),
        (b"a\n" + b"x" * 200_000, 2),  # a tail longer than one read back
    ],
)
def test_cut_torn_tail_keeps_every_whole_line(tmp_path, content, kept):
    path = tmp_path / "e.log"
    path.write_bytes(content)
    fd = os.open(path, os.O_RDWR)
    try:
        assert records.cut_torn_tail(fd) == len(content) - kept
    finally:
        os.close(fd)
    assert path.read_bytes() == content[:kept]


def test_encode_items_drops_only_a_record_it_cannot_encode_and_numbers_without_a_gap(tmp_path):
    items = [[0, "h", i, 1.0, {"a": float(i)}] for i in range(600)]
    items[300][4] = {"\ud800": 1.0}  # a lone surrogate: no JSON encoder takes it
    items[301] = [0, "c", 1.0, {"x": "\udc80"}]
    rejected = []
    out = []
    assert records.encode_items(items, 10, out, rejected) == 608
    assert [record[2] for record, _ in rejected] == [300, 1.0]
    assert "surrogates not allowed" in str(rejected[0][1])
    path = tmp_path / "e.log"
    path.write_bytes(b"".join(out))
    got = list(records.read_log(path))
    assert [r[0] for r in got] == list(range(11, 609))
    assert [r[2] for r in got] == [i for i in range(600) if i not in (300, 301)]
    with pytest.raises(TypeError, match="surrogates"):  # without a list for them, it raises
        records.encode_items([[0, "h", 0, 1.0, {"\ud800": 1.0}]], 0, [])


def test_write_all_says_how_much_reached_the_file(tmp_path, monkeypatch):
    real_write = os.write
    calls = []

    def write(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    monkeypatch.setattr(os, "write", write)
    try:
        with pytest.raises(OSError) as info:
            records.write_all(fd, b"x" * 100)
    finally:
        monkeypatch.undo()
        os.close(fd)
    assert info.value.written == 10 and path.read_bytes() == b"x" * 10


def test_read_new_frames_with_a_limit_reads_at_least_one_line(tmp_path):
    path = tmp_path / "events.log"
    data, _ = _lines([[0, "h", i, 1.0, {"x": float(i)}] for i in range(600)])
    path.write_bytes(data)
    lines = data.splitlines(keepends=True)
    position = records.LogPosition()
    got = [r[0] for frame in records.read_new_frames(path, position, limit=16) for r in frame]
    assert got == list(range(1, 257)) and position.offset == len(lines[0])  # one line, though longer than 16
    got = [r[0] for frame in records.read_new_frames(path, position, limit=len(lines[1]) + 5) for r in frame]
    assert got == list(range(257, 513)) and position.offset == len(lines[0]) + len(lines[1])
    got = [r[0] for frame in records.read_new_frames(path, position) for r in frame]
    assert got == list(range(513, 601)) and position.offset == len(data)


def test_missing_file_reads_as_empty(tmp_path):
    assert list(records.read_log(tmp_path / "nope.log")) == []
    assert records.last_seq(tmp_path / "nope.log") == 0


def test_to_float_accepts_numbers_and_0d_arrays_only():
    import numpy as np

    assert records.to_float(True) == 1.0
    assert records.to_float(np.float32(1.5)) == 1.5
    assert records.to_float(np.array(2.5)) == 2.5
    assert records.to_float(np.int64(3)) == 3.0
    for bad in ("1.5", b"x", [1.0], np.array([1.0, 2.0]), None, object()):
        assert records.to_float(bad) is None


def test_jsonable_makes_numpy_floats_plain_floats():
    # numpy.float64 subclasses float: orjson refuses it unless it is made a plain float
    value = records.jsonable({"best": np.float64(0.25), "bad": np.float64("nan"), "n": np.int64(3)})
    assert value == {"best": 0.25, "bad": {"$float": "NaN"}, "n": 3}
    assert type(value["best"]) is float
    assert orjson.loads(orjson.dumps(value)) == value


def test_a_frame_of_large_records_is_cut_to_fit_one_upload():
    from jupyter_tracker.records import FRAME_BYTES, encode_items, read_frames

    items = [[0, "c", 1.0, {f"k{i}": "v" * 900_000}] for i in range(12)] + [[0, "h", 0, 1.0, {"x": 1.0}]]
    out: list[bytes] = []
    assert encode_items(items, 0, out) == 13
    assert len(out) > 1 and all(len(frame) <= FRAME_BYTES for frame in out)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.log"
        path.write_bytes(b"".join(out))
        frames, _, _ = read_frames(path, 0)
    assert [(f.first, f.last) for f in frames][0][0] == 1 and frames[-1].last == 13
    assert sum(f.count for f in frames) == 13


def test_the_visitor_batches_consecutive_history_and_gives_each_other_kind_its_method():
    seen = []

    class Reader(records.Visitor):
        def on_history(self, batch):
            seen.append(("h", [r[0] for r in batch]))

        def on_config(self, seq, ts, payload):
            seen.append(("c", seq, payload))

        def on_state(self, seq, ts, payload):
            seen.append(("state", seq, payload["state"]))

        def on_unknown(self, kind, seq, ts, payload):
            seen.append(("?", kind, seq))

    Reader().visit([
        [1, records.HISTORY, 0, 1.0, {"a": 1.0}],
        [2, records.HISTORY, 1, 1.0, {"a": 2.0}],
        [3, records.CONFIG, 1.0, {"lr": 0.1}],
        [4, records.META, 1.0, {"name": "x"}],  # not handled by this reader: skipped
        [5, records.HISTORY, 2, 1.0, {"a": 3.0}],
        [6, "a-newer-kind", 1.0, {}],
        [7, records.STATE, 1.0, {"state": "finished"}],
    ])
    assert seen == [("h", [1, 2]), ("c", 3, {"lr": 0.1}), ("h", [5]), ("?", "a-newer-kind", 6),
                    ("state", 7, "finished")]


def test_every_kind_a_log_holds_has_a_visitor_method():
    kinds = (records.EVENT_KINDS | records.SYSTEM_KINDS) - {records.HISTORY}
    assert set(records.HANDLERS) == kinds
    assert all(callable(getattr(records.Visitor, name)) for name in records.HANDLERS.values())
