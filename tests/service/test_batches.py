"""Sync batches cut from frames: holes declared, duplicates skipped, PROTOCOL-missing's rules kept."""

from __future__ import annotations

import orjson

from jupyter_tracker import records
from jupyter_tracker.service.batches import cut, merge_holes, pieces


def frames_of(*ranges: tuple[int, int], tmp_path) -> list[records.Frame]:
    """The frames ``read_frames`` returns for a log holding one frame per range."""
    out: list[bytes] = []
    for first, last in ranges:
        records.encode_items([[0, "h", s, 1.0, {"x": float(s)}] for s in range(first, last + 1)], first - 1, out)
    path = tmp_path / "e.log"
    path.write_bytes(b"".join(out))
    frames, _, _ = records.read_frames(path)
    return frames


def check_protocol(body: dict) -> list[int]:
    """The rules of PROTOCOL-missing.md; the sequence numbers sent."""
    first, last, holes = body["first_seq"], body["last_seq"], body.get("missing", [])
    assert "missing" not in body or holes, "an empty missing list is left out"
    for (a, b), after in zip(holes, holes[1:] + [None]):
        assert first <= a <= b <= last
        if after is not None:
            assert b + 1 < after[0], "sorted, not overlapping, not adjacent"
    covered = sorted([r[0] for r in body["records"]] + [s for a, b in holes for s in range(a, b + 1)])
    assert covered == list(range(first, last + 1)), "records and holes cover the range exactly once"
    seqs = [r[0] for r in body["records"]]
    assert seqs == sorted(seqs)
    return seqs


def sent(batches, log="events") -> tuple[list[int], list[list[int]]]:
    seqs, holes = [], []
    for batch in batches:
        if batch.count:
            body = orjson.loads(batch.body(log))
            seqs += check_protocol(body)
            holes += body.get("missing", [])
    return seqs, holes


def test_a_clean_log_is_sent_as_written_without_a_missing_key(tmp_path):
    frames = frames_of((1, 256), (257, 300), tmp_path=tmp_path)
    [batch] = cut(pieces(frames, acked=0, top=0), 20_000, 4 << 20)
    assert b"missing" not in batch.body("events")
    assert sent([batch]) == (list(range(1, 301)), [])
    assert batch.end == frames[-1].end and batch.top == 300 and batch.duplicates == 0


def test_a_gap_between_frames_and_one_before_the_first_are_declared(tmp_path):
    frames = frames_of((257, 400), (601, 700), tmp_path=tmp_path)  # 1-256 and 401-600 unreadable
    [batch] = cut(pieces(frames, acked=0, top=0), 20_000, 4 << 20)
    seqs, holes = sent([batch])
    assert seqs == list(range(257, 401)) + list(range(601, 701))
    assert holes == [[1, 256], [401, 600]] and (batch.first_seq, batch.last_seq) == (1, 700)


def test_the_gap_after_the_acknowledged_mark_is_declared(tmp_path):
    frames = frames_of((101, 200), tmp_path=tmp_path)
    [batch] = cut(pieces(frames, acked=50, top=0), 20_000, 4 << 20)
    assert sent([batch]) == (list(range(101, 201)), [[51, 100]])


def test_duplicated_frames_are_skipped_and_counted(tmp_path):
    frames = frames_of((1, 10), (11, 20), (11, 20), (5, 25), (26, 30), tmp_path=tmp_path)
    [batch] = cut(pieces(frames, acked=0, top=0), 20_000, 4 << 20)
    assert sent([batch]) == (list(range(1, 31)), [])
    assert batch.duplicates == 10 + 16


def test_records_already_acknowledged_are_not_duplicates(tmp_path):
    frames = frames_of((1, 100), (101, 200), tmp_path=tmp_path)  # read again from offset 0 after a reset
    [batch] = cut(pieces(frames, acked=150, top=0), 20_000, 4 << 20)
    assert sent([batch]) == (list(range(151, 201)), []) and batch.duplicates == 0


def test_frames_behind_the_offset_make_later_copies_duplicates(tmp_path):
    frames = frames_of((1, 100), (101, 120), tmp_path=tmp_path)  # frame 1-100 written again after the offset
    [batch] = cut(pieces(frames, acked=100, top=100), 20_000, 4 << 20)
    assert sent([batch]) == (list(range(101, 121)), []) and batch.duplicates == 100


def test_only_duplicates_make_a_batch_with_nothing_to_send(tmp_path):
    frames = frames_of((1, 10), tmp_path=tmp_path)
    [batch] = cut(pieces(frames, acked=10, top=10), 20_000, 4 << 20)
    assert batch.count == 0 and batch.duplicates == 10 and batch.end == frames[0].end


def test_batches_respect_the_limits_and_a_hole_travels_with_the_records_after_it(tmp_path):
    frames = frames_of((1, 256), (257, 512), (769, 1024), (1025, 1280), tmp_path=tmp_path)
    batches = cut(pieces(frames, acked=0, top=0), 512, 4 << 20)
    assert [b.count for b in batches] == [512, 512]
    assert batches[1].holes == [[513, 768]] and batches[1].first_seq == 513
    assert sent(batches) == (list(range(1, 513)) + list(range(769, 1281)), [[513, 768]])
    assert batches[0].end == frames[1].end and batches[1].end == frames[3].end


def test_merge_holes():
    assert merge_holes([[1, 5]], [[6, 9], [20, 30]]) == [[1, 9], [20, 30]]
    assert merge_holes([], [[3, 4], [1, 2]]) == [[1, 4]]
