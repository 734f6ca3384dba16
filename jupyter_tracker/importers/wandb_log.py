"""The records of a wandb run log (``run-<id>.wandb``), decoded with wandb's own schema.

The file is LevelDB's log format (as documented by LevelDB and by wandb's
``datastore``) after a 7-byte header (``:W&B``, magic ``0xBEE1``, version 0):
32 KiB blocks of chunks, each ``crc32 (4, little-endian) | length (2) | type (1) |
data``, the CRC-32 (zlib's) seeded with the type byte's; a record is one ``FULL``
chunk or ``FIRST``, ``MIDDLE``..., ``LAST``; fewer than 7 bytes left in a block
are zero padding. Each record is a ``wandb.proto.wandb_internal_pb2.Record``
protobuf, parsed by that class (wandb's schema; wandb 0.30 and later no longer
ship a Python reader for the framing, which is all this module does).

A chunk whose CRC does not match ends its block (the reader resumes at the next
block, as LevelDB's does); a torn last record is skipped. Both are counted.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import MissingExtra

__all__ = ["LogReport", "chunks", "read_records", "record_class"]

HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")
BLOCK = 32768
IDENT, MAGIC, VERSION = b":W&B", 0xBEE1, 0
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_SEEDS = {kind: zlib.crc32(bytes([kind])) for kind in (FULL, FIRST, MIDDLE, LAST)}


@dataclass
class LogReport:
    records: int = 0
    corrupt_blocks: int = 0
    undecodable: int = 0
    torn_tail: bool = False


def record_class() -> Any:
    """wandb's ``Record`` protobuf class (needs wandb installed)."""
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise MissingExtra("tracker import wandb", "wandb", "wandb") from None
    return wandb_internal_pb2.Record


def chunks(data: bytes, report: LogReport) -> Iterator[bytes]:
    """The records' bytes of a whole log file (header checked, framing undone)."""
    if len(data) < HEADER.size:
        raise ValueError("the file is too short to be a wandb run log")
    ident, magic, version = HEADER.unpack_from(data)
    if ident != IDENT or magic != MAGIC:
        raise ValueError("not a wandb run log (its header is not ':W&B')")
    if version != VERSION:
        raise ValueError(f"a wandb run log of format version {version}, which this importer does not know (it reads 0)")
    pos = HEADER.size
    pending: list[bytes] | None = None
    size = len(data)
    while pos < size:
        left = BLOCK - pos % BLOCK
        if left < CHUNK.size:
            pos += left  # zero padding at the end of a block
            continue
        if pos + CHUNK.size > size:
            report.torn_tail = True
            break
        crc, length, kind = CHUNK.unpack_from(data, pos)
        start, end = pos + CHUNK.size, pos + CHUNK.size + length
        if end > size:
            report.torn_tail = True
            break
        payload = data[start:end]
        if kind not in _SEEDS or end - 1 >= pos + left or zlib.crc32(payload, _SEEDS[kind]) != crc:
            if crc == 0 and length == 0 and kind == 0:  # zeros: a preallocated, unwritten end of the file
                break
            report.corrupt_blocks += 1
            pending = None
            pos += left  # resume at the next block
            continue
        pos = end
        if kind == FULL:
            pending = None
            yield payload
        elif kind == FIRST:
            pending = [payload]
        elif pending is not None:
            pending.append(payload)
            if kind == LAST:
                yield b"".join(pending)
                pending = None
    if pending is not None:
        report.torn_tail = True


def read_records(path: str | os.PathLike, report: LogReport | None = None) -> Iterator[Any]:
    """The ``Record`` messages of a wandb run log, in order."""
    report = report if report is not None else LogReport()
    record = record_class()
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        raw_records = list(chunks(data, report))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    for raw in raw_records:
        message = record()
        try:
            message.ParseFromString(raw)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError, whatever its module
            report.undecodable += 1
            continue
        report.records += 1
        yield message
