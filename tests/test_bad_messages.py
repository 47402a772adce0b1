"""Every kind of malformed message is made, and each is really malformed: the codec or the validator
rejects it, at the stage `STAGE` says."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from producer.bad_messages import KINDS, STAGE, make_bad
from producer.encoding import transaction_rows
from producer.events import EventStream
from producer.simulator import SimulationConfig, Simulator, simulate
from schemas import Codec, DecodeError, open_schema_source
from schemas.validation import validate_transaction

CODEC = Codec("transaction", open_schema_source(None))
ROWS = transaction_rows(simulate(SimulationConfig(customers=100, terminals=200, days=3, seed=4)))


def _rejected_at(value: bytes | None) -> str | None:
    try:
        record = CODEC.decode(value)
    except DecodeError:
        return "decode"
    return "validate" if validate_transaction(record) is not None else None


def test_the_issue_lists_every_kind() -> None:
    wanted = {
        "truncated",
        "wrong_magic",
        "unknown_schema_id",
        "missing_fields",
        "wrong_type",
        "nan_amount",
        "negative_amount",
        "absurd_amount",
        "empty_value",
        "oversized",
    }
    assert wanted <= set(KINDS)
    assert set(STAGE) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_rejected_whatever_the_event(kind: str) -> None:
    rng = np.random.default_rng(0)
    stages: Counter[str] = Counter()
    for record in ROWS[:300]:
        value = make_bad(kind, record, CODEC, rng)
        stage = _rejected_at(value)
        assert stage is not None, f"{kind} made from {record} was accepted"
        assert stage in STAGE[kind]
        stages[stage] += 1
    assert sum(stages.values()) == 300


def test_good_events_pass_both_checks() -> None:
    for record in ROWS[:2000]:
        assert _rejected_at(CODEC.encode(record)) is None


def test_oversized_is_large_but_fits_a_kafka_message() -> None:
    value = make_bad("oversized", ROWS[0], CODEC, np.random.default_rng(0))
    assert 200_000 < len(value) < 1_000_000


def test_stream_with_bad_fraction_mixes_every_kind_deterministically() -> None:
    def run() -> list[tuple[bytes, bytes, str | None]]:
        sim = Simulator(SimulationConfig(customers=200, terminals=400, days=None, seed=9))
        stream = EventStream(sim.days(), CODEC, bad_fraction=0.25, seed=9)
        out = []
        for event in stream:
            out.append((event.key, event.value, event.bad_kind))
            if len(out) == 3000:
                break
        return out

    first, second = run(), run()
    assert first == second
    kinds = Counter(k for _, _, k in first if k is not None)
    assert set(kinds) == set(KINDS)
    assert 0.2 < sum(kinds.values()) / len(first) < 0.3
    for _, value, kind in first:
        assert (_rejected_at(value) is None) == (kind is None)


def test_validator_rules() -> None:
    good: dict[str, Any] = dict(ROWS[0])
    assert validate_transaction(good) is None
    cases = {
        "event_id": "",
        "amount": float("inf"),
        "event_time": 0,
        "currency": "eu",
        "card_id": "C" * 200,
    }
    for field, value in cases.items():
        assert validate_transaction({**good, field: value}) is not None, field
    # A time in seconds instead of milliseconds is a unit bug, not a 1970 payment.
    assert "between 2000 and 2100" in (validate_transaction({**good, "event_time": 1_700_000_000}) or "")
