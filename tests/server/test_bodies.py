"""Splitting a batch body without decoding it whole: the same result as ``orjson.loads``."""

from __future__ import annotations

import random

import orjson
import pytest

from jupyter_tracker.server import bodies
from jupyter_tracker.server.bodies import read_batch, split_body
from jupyter_tracker.server.errors import BadRequest

_CHARS = ['a', '"', "\\", "[", "]", "{", "}", ",", ":", " ", "é", "\n", "\t", "\u2028", "x"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 8)))


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice([1, -2.5, None, True, _text(rng), 10**18])
    if roll < 0.65:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _decoded(data: bytes) -> tuple[object, bool]:
    """What the splitter makes of ``data`` (as one value), and whether it refused it."""
    try:
        body = split_body(data)
        out = dict(body.envelope)
        if body.has_records:
            out["records"] = body.records()
    except BadRequest:
        return None, True
    return out, False


def _check(data: bytes) -> None:
    try:
        want = orjson.loads(data)
    except orjson.JSONDecodeError:
        assert _decoded(data)[1], f"accepted malformed JSON {data!r}"
        return
    got, refused = _decoded(data)
    if not isinstance(want, dict) or not isinstance(want.get("records", []), list):
        assert refused, data
        return
    assert not refused, data
    assert got == want


@pytest.mark.parametrize(("block", "piece"), [(1, 7), (3, 64), (16, 5), (256 * 1024, 256 * 1024)])
def test_split_matches_orjson_on_random_and_broken_bodies(monkeypatch: pytest.MonkeyPatch, block: int,
                                                          piece: int) -> None:
    """Strings full of brackets, quotes and escapes; every block and slice size; one-byte damage."""
    monkeypatch.setattr(bodies, "BLOCK_BYTES", block)
    monkeypatch.setattr(bodies, "SLICE_BYTES", piece)
    rng = random.Random(block * 1000 + piece)
    for _ in range(40 if block < 16 else 150):
        value = {"log": "events", "first_seq": 1, "records": [_value(rng) for _ in range(rng.randint(0, 12))]}
        if rng.random() < 0.3:
            value[_text(rng)] = _value(rng)
        items = list(value.items())
        rng.shuffle(items)
        data = orjson.dumps(dict(items), option=orjson.OPT_INDENT_2 if rng.random() < 0.3 else 0)
        _check(data)
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(damaged))
            roll = rng.random()
            if roll < 0.4:
                del damaged[at]
            elif roll < 0.8:
                damaged.insert(at, rng.choice(b'[]{}",:\\ a1'))
            else:
                damaged[at] = rng.choice(b'[]{}",:\\ a1')
        _check(bytes(damaged))


@pytest.mark.parametrize(
    "data",
    [b'{"records":[1,]}', b'{"records":[ ,1]}', b'{"records":[1,,2]}', b'{"a":1,}', b'{"a" 1}', b'{"a":1}}',
     b'{"a":"x}', b'{"records":[1]} x', b'{"records":[1] x}', b'{1:2}', b'{"a":1 "b":2}'],
)
def test_malformed_bodies_are_refused(data: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(data)
    assert _decoded(data)[1]


def test_records_come_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "SLICE_BYTES", 100)
    records = [[seq, "h", seq, 1.0, {"a": seq, "s": "],[{\"\\"}] for seq in range(1, 101)]
    data = orjson.dumps({"records": records, "log": "events", "first_seq": 1, "last_seq": 100})
    batch = read_batch(bytearray(data))
    parts = list(batch.slices())
    assert len(parts) > 20 and all(parts)
    assert [record for part in parts for record in part] == records
    assert (batch.log, batch.first_seq, batch.last_seq, batch.missing) == ("events", 1, 100, [])


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "needs a JSON body"), (b"  [1, 2]", "must be a JSON object"), (b"[" * 70000, "must be a JSON object"),
     (b'{"log":"events","first_seq":1,"last_seq":1,"records":{}}', "'records' must be a list"),
     (b'{"log":"events","first_seq":1,"last_seq":1}', "'records' must be a list"),
     (b'{"log":"events","records":[]}', "first_seq")],
)
def test_bodies_that_are_not_batches(data: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        read_batch(bytearray(data))


def test_the_envelope_is_bounded() -> None:
    data = orjson.dumps({"log": "events", "first_seq": 1, "last_seq": 1, "records": [], "pad": "x" * (1 << 20)})
    with pytest.raises(BadRequest, match="other than 'records' hold more than"):
        split_body(data)
