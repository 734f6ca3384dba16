"""Sync batches cut from a log's frames: what to send, which holes to declare.

The client half of the declared-holes contract (``docs/api.md``, "Declared
holes"). The writer appends records in sequence order and only ever writes
whole lines, so a gap in the sequence numbers between two complete good frames
(or between the server's acknowledged mark and the first good frame) is
permanent: those records are in a corrupt line and will never be readable.
Such a gap is declared in the batch that crosses it (``"missing": [[from,
to]]``), so what can be read is uploaded and the server records what is lost.
A record whose sequence number an earlier frame of the file held already (a
frame written twice) is a duplicate: skipped, counted, never sent twice. A gap
before an incomplete last line is not a hole: :func:`~jupyter_tracker.records.read_frames`
never returns that line, so no later frame exists to declare it by.

Pure functions of the frames and two numbers per log (``acked``: the server's
mark; ``top``: the highest sequence number in the frames already behind the
read offset), so they are tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from ..records import Frame

__all__ = ["Piece", "Batch", "pieces", "cut", "merge_holes"]


@dataclass
class Piece:
    """What one frame adds to the stream sent to the server."""

    end: int  # byte offset just after the frame
    top: int  # the highest sequence number read so far, this frame included
    records: bytes = b""  # the records to send: JSON array items, without the brackets
    count: int = 0
    first: int = 0  # the first sequence number this piece covers (a hole's, or a record's)
    last: int = 0  # the last record sent
    holes: list[list[int]] = field(default_factory=list)
    duplicates: int = 0


@dataclass
class Batch:
    """Consecutive pieces sent in one request (``count == 0``: nothing to send, only to skip)."""

    first_seq: int = 0
    last_seq: int = 0
    count: int = 0
    size: int = 0
    parts: list[bytes] = field(default_factory=list)
    holes: list[list[int]] = field(default_factory=list)
    duplicates: int = 0
    end: int = 0
    top: int = 0

    def add(self, piece: Piece) -> None:
        if piece.count:
            if not self.count:
                self.first_seq = piece.first
            self.last_seq = piece.last
            self.parts.append(piece.records)
            self.count += piece.count
            self.size += len(piece.records)
            self.holes.extend(piece.holes)
        self.duplicates += piece.duplicates
        self.end, self.top = piece.end, piece.top

    def body(self, log: str) -> bytes:
        """The request body: ``{"log", "first_seq", "last_seq", "records"[, "missing"]}``."""
        head = b'{"log":"%s","first_seq":%d,"last_seq":%d,"records":[' % (log.encode(), self.first_seq, self.last_seq)
        tail = b"]}" if not self.holes else b'],"missing":' + orjson.dumps(self.holes) + b"}"
        return head + b",".join(self.parts) + tail


def pieces(frames: list[Frame], acked: int, top: int) -> list[Piece]:
    """What each frame (read in file order) adds beyond ``acked``.

    ``top`` is the highest sequence number of the frames before the first one
    given: a record at or below it is a duplicate. Records above ``top`` but at
    or below ``acked`` are on the server already (sent from another read).
    """
    placed = acked  # the highest sequence number the stream covers so far
    out: list[Piece] = []
    for frame in frames:
        contiguous = frame.last - frame.first + 1 == frame.count
        if contiguous and frame.first > placed and frame.first > top:  # the usual case: all new
            holes = [[placed + 1, frame.first - 1]] if frame.first > placed + 1 else []
            first = holes[0][0] if holes else frame.first
            out.append(Piece(frame.end, frame.last, frame.payload[1:-1], frame.count, first, frame.last, holes))
            placed = top = frame.last
        elif contiguous and frame.last <= top:  # a frame written twice
            out.append(Piece(frame.end, top, duplicates=frame.count))
        elif contiguous and frame.first > top and frame.last <= placed:  # acknowledged already
            top = frame.last
            out.append(Piece(frame.end, top))
        else:
            piece = Piece(frame.end, top)
            kept = []
            for record in orjson.loads(frame.payload):
                seq = record[0]
                if seq <= top:
                    piece.duplicates += 1
                    continue
                top = seq
                if seq <= placed:
                    continue
                if seq > placed + 1:
                    piece.holes.append([placed + 1, seq - 1])
                if not kept:
                    piece.first = piece.holes[0][0] if piece.holes else seq
                kept.append(record)
                placed = seq
            if kept:
                piece.records = orjson.dumps(kept)[1:-1]
                piece.count, piece.last = len(kept), placed
            piece.top = top
            out.append(piece)
    return out


def cut(all_pieces: list[Piece], max_records: int, max_bytes: int) -> list[Batch]:
    """Group pieces into batches of at most ``max_records`` records and about
    ``max_bytes`` bytes; pieces with nothing to send join the batch around them."""
    batches: list[Batch] = []
    batch = Batch()
    for piece in all_pieces:
        if batch.count and piece.count and (
            batch.count + piece.count > max_records or batch.size + len(piece.records) > max_bytes
        ):
            batches.append(batch)
            batch = Batch()
        batch.add(piece)
    if all_pieces:
        batches.append(batch)
    return batches


def merge_holes(holes: list[list[int]], more: list[list[int]]) -> list[list[int]]:
    """Sorted ranges with ``more`` added, overlapping or adjacent ones merged."""
    merged: list[list[int]] = []
    for start, stop in sorted([*holes, *more]):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return merged
