"""The column decoder gives the same batch as the record codec, for good, malformed and damaged input."""

from __future__ import annotations

import io
import math
from dataclasses import fields
from typing import Any

import fastavro
import numpy as np
from scorer_support import FakeMessage, make_events

from consumer.decode import DecodedBatch, decode_batch
from producer.bad_messages import KINDS, make_bad
from schemas import Codec, Framing, open_schema_source
from schemas.columnar_decode import decode_columns
from schemas.registry import load_schema_file, parse
from schemas.validation import MAX_AMOUNT, MAX_EVENT_TIME_MS, MAX_ID_LENGTH, MIN_EVENT_TIME_MS

SOURCE = open_schema_source(None)
TX, LABEL = Codec("transaction", SOURCE), Codec("label", SOURCE)


def _v1(record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parse(load_schema_file("history/transaction.v1.avsc")), record)
    return Framing(1).frame(buf.getvalue())


def _unusual_but_good(base: dict[str, Any]) -> list[bytes]:
    """Records the validator accepts that the fast path leaves to the record codec, and edge values."""
    return [
        TX.encode({**base, "card_id": "Zürich-Ω"}),
        TX.encode({**base, "terminal_id": "T" * MAX_ID_LENGTH}),
        TX.encode({**base, "currency": "A1B"}),
        TX.encode({**base, "amount": -0.0}),
        TX.encode({**base, "amount": MAX_AMOUNT}),
        TX.encode({**base, "event_time": MIN_EVENT_TIME_MS}),
        TX.encode({**base, "event_id": "with space "}),
        _v1({k: v for k, v in base.items() if k != "currency"}),
    ]


def _unusual_and_bad(base: dict[str, Any]) -> list[bytes | None]:
    return [
        None,
        TX.encode({**base, "terminal_id": "T" * (MAX_ID_LENGTH + 1)}),
        TX.encode({**base, "event_time": MAX_EVENT_TIME_MS}),
        TX.encode({**base, "amount": math.inf}),
        TX.encode({**base, "amount": math.nextafter(MAX_AMOUNT, math.inf)}),
        TX.encode({**base, "currency": "eur"}),
        TX.encode({**base, "event_id": "nul\x00"}),
        TX.encode(base) + b"\x00",
        TX.encode(base)[:5],
    ]


def _damaged(values: list[bytes], rng: np.random.Generator, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        raw = bytearray(values[int(rng.integers(len(values)))])
        how = rng.integers(3)
        at = int(rng.integers(len(raw)))
        if how == 0:
            raw[at] = int(rng.integers(256))
        elif how == 1:
            del raw[at:]
        else:
            raw[at:at] = bytes(rng.integers(0, 256, size=int(rng.integers(1, 4)), dtype=np.uint8))
        out.append(bytes(raw))
    return out


def _assert_same(a: DecodedBatch, b: DecodedBatch) -> None:
    for f in fields(a.transactions):
        np.testing.assert_array_equal(
            getattr(a.transactions, f.name), getattr(b.transactions, f.name), f.name
        )
    np.testing.assert_array_equal(a.arrived_ms, b.arrived_ms)
    assert a.dead_letters == b.dead_letters
    assert (a.labels is None) == (b.labels is None)
    if a.labels is not None and b.labels is not None:
        np.testing.assert_array_equal(a.labels.event_id, b.labels.event_id)
    assert (a.next_offsets, a.first_offsets, a.size) == (b.next_offsets, b.first_offsets, b.size)


def test_plain_good_transactions_all_take_the_fast_path_with_the_codecs_values() -> None:
    events = make_events(500, seed=3)
    ok, columns = decode_columns([TX.encode(e) for e in events], TX.schema_id)
    assert ok.all()
    assert columns["event_id"].tolist() == [e["event_id"] for e in events]
    assert columns["event_time"].tolist() == [e["event_time"] for e in events]
    assert columns["card_id"].tolist() == [e["card_id"] for e in events]
    assert columns["terminal_id"].tolist() == [e["terminal_id"] for e in events]
    assert columns["amount"].tolist() == [e["amount"] for e in events]


def test_a_mixed_batch_decodes_as_the_record_codec_decodes_it() -> None:
    rng = np.random.default_rng(8)
    events = make_events(400, seed=4)
    good = [TX.encode(e) for e in events]
    values: list[bytes | None] = [*good]
    values += _unusual_but_good(events[0]) + _unusual_and_bad(events[1])
    values += [make_bad(kind, events[2 + i], TX, rng) for i, kind in enumerate(KINDS)]
    values += _damaged(good, rng, 600)
    order = rng.permutation(len(values))
    messages = [FakeMessage(values[i], offset, _partition=offset % 3) for offset, i in enumerate(order)]
    label = {**events[5], "label_time": events[5]["event_time"] + 1, "is_fraud": True, "fraud_scenario": 1}
    messages.insert(7, FakeMessage(LABEL.encode(label), 3, _topic="labels"))
    messages.insert(9, FakeMessage(b"junk", 4, _topic="labels"))

    fast = decode_batch(messages, TX, LABEL, "tx")
    slow = decode_batch(messages, TX, LABEL, "tx", columnar_from=None)
    _assert_same(fast, slow)
    # The comparison means something: most rows are good and most damaged ones are dead letters.
    assert len(fast.transactions) >= 400 + len(_unusual_but_good(events[0]))
    assert len(fast.dead_letters) >= len(_unusual_and_bad(events[1])) + len(KINDS) + 300
    assert set(fast.transactions.card_id.tolist()) >= {"Zürich-Ω"}
    assert fast.transactions.event_time.tolist() == sorted(fast.transactions.event_time.tolist())


def test_batches_of_any_size_including_none_decode_alike() -> None:
    events = make_events(30, seed=6)
    for n in (0, 1, 2, 29):
        messages = [FakeMessage(TX.encode(e), i) for i, e in enumerate(events[:n])]
        _assert_same(
            decode_batch(messages, TX, LABEL, "tx", columnar_from=1),
            decode_batch(messages, TX, LABEL, "tx", columnar_from=None),
        )
