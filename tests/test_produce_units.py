"""The producer's pieces without a broker: vectorised encoding, pacing, labels and the produce loop."""

from __future__ import annotations

import io
from collections.abc import Iterator

import fastavro
import numpy as np

from producer.encoding import encode_labels, encode_transactions, label_rows, transaction_rows
from producer.events import EventStream, OutgoingEvent
from producer.labels import DAY_MS, LabelFeed
from producer.pacing import RatePacer, SpeedupPacer
from producer.publisher import DeliveryStats
from producer.simulator import SimulationConfig, Simulator, simulate
from producer.streaming import Limits, ProduceLoop
from schemas import Codec, open_schema_source
from schemas.container import write_container
from schemas.history import UNLABELLED, from_records
from schemas.registry import current_schemas

SOURCE = open_schema_source(None)
TX, LABEL = Codec("transaction", SOURCE), Codec("label", SOURCE)
COLS = simulate(SimulationConfig(customers=100, terminals=200, days=5, seed=2))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakePublisher:
    """Delivers everything at once; `poll(t)` advances the fake clock, as a real wait would."""

    def __init__(self, clock: FakeClock) -> None:
        self.stats = DeliveryStats()
        self.sent: list[tuple[str, bytes | None, bytes | None, float]] = []
        self._clock = clock

    def send(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.sent.append((topic, key, value, self._clock.now))
        self.stats.produced[topic] += 1
        self.stats.delivered[topic] += 1

    def poll(self, timeout_s: float = 0.0) -> None:
        self._clock.now += timeout_s

    def flush(self, timeout_s: float = 30.0) -> int:
        return 0


def test_vectorised_transactions_are_the_codecs_bytes() -> None:
    assert encode_transactions(TX, COLS) == [TX.encode(r) for r in transaction_rows(COLS)]


def test_vectorised_labels_are_the_codecs_bytes() -> None:
    cols = COLS.take(np.arange(len(COLS)))
    cols.is_fraud[::5] = UNLABELLED
    label_time = cols.event_time + 7 * DAY_MS
    expected = [None if r is None else LABEL.encode(r) for r in label_rows(cols, label_time)]
    got = encode_labels(LABEL, cols, label_time)
    assert got == expected
    assert got.count(None) == int((cols.is_fraud == UNLABELLED).sum()) > 0


def test_container_writer_matches_fastavro_on_awkward_values() -> None:
    cols = from_records(
        [
            {"event_id": "é-ü", "event_time": -5, "card_id": "", "terminal_id": "T中", "amount": -0.0},
            {"event_id": "x" * 300, "event_time": 2**62, "card_id": "C1", "terminal_id": "", "amount": 1e300},
            {
                "event_id": "",
                "event_time": 0,
                "card_id": "C",
                "terminal_id": "T",
                "amount": 0.5,
                "is_fraud": 1,
            },
            {
                "event_id": "e",
                "event_time": -(2**63),
                "card_id": "C",
                "terminal_id": "T",
                "amount": 1.0,
                "is_fraud": 0,
                "fraud_scenario": 3,
            },
        ]
    )
    buf = io.BytesIO()
    write_container(buf, current_schemas()["labelled_transaction"], cols, "deflate", b"0123456789abcdef")
    buf.seek(0)
    assert list(fastavro.reader(buf)) == list(cols.records())


def _events(bad_fraction: float = 0.0) -> Iterator[OutgoingEvent]:
    sim = Simulator(SimulationConfig(customers=100, terminals=200, days=None, seed=2))
    return iter(EventStream(sim.days(), TX, bad_fraction=bad_fraction, seed=2))


def _loop(pacer_rate: float, delay_days: int, clock: FakeClock) -> tuple[ProduceLoop, FakePublisher]:
    pub = FakePublisher(clock)
    loop = ProduceLoop(pub, RatePacer(pacer_rate, clock), LabelFeed(LABEL, delay_days), "tx", "lab", clock)
    return loop, pub


def test_rate_pacer_spaces_events_evenly() -> None:
    clock = FakeClock()
    loop, pub = _loop(100.0, 7, clock)
    summary = loop.run(_events(), Limits(count=500), 1.0)
    times = [t for topic, _, _, t in pub.sent if topic == "tx"]
    assert summary.sent == 500
    assert abs((times[-1] - times[0]) - 499 / 100) < 0.06
    assert abs(summary.rate - 100) < 1.5


def test_labels_go_out_only_after_their_delay_in_simulated_time() -> None:
    clock = FakeClock()
    loop, pub = _loop(0.0, 1, clock)
    summary = loop.run(_events(), Limits(count=1500), 1.0)
    assert summary.labels_sent > 0
    assert summary.labels_pending > 0
    newest = 0
    for topic, _, value, _ in pub.sent:
        if topic == "tx":
            newest = max(newest, TX.decode(value)["event_time"])
        else:
            label = LABEL.decode(value)
            assert label["label_time"] == label["event_time"] + DAY_MS
            assert label["label_time"] <= newest  # the simulated clock had passed it
    assert summary.labels_sent + summary.labels_pending == summary.sent


def test_bad_events_get_no_label() -> None:
    clock = FakeClock()
    loop, _ = _loop(0.0, 0, clock)
    summary = loop.run(_events(bad_fraction=0.5), Limits(count=400), 1.0)
    assert summary.labels_sent + summary.labels_pending == summary.sent - sum(summary.bad.values())


def test_duration_and_stop_end_the_run() -> None:
    clock = FakeClock()
    loop, _ = _loop(50.0, 7, clock)
    summary = loop.run(_events(), Limits(duration_s=2.0), 1.0)
    assert 99 <= summary.sent <= 101
    assert not summary.interrupted
    clock = FakeClock()
    pub = FakePublisher(clock)
    calls = iter(range(10_000))
    loop = ProduceLoop(
        pub, RatePacer(0, clock), LabelFeed(LABEL, 7), "tx", "lab", clock, stop=lambda: next(calls) >= 30
    )
    summary = loop.run(_events(), Limits(), 1.0)
    assert summary.interrupted
    assert summary.sent == 30


def test_speedup_pacer_follows_simulated_time() -> None:
    clock = FakeClock()
    pacer = SpeedupPacer(3600.0, 0, clock)  # one simulated hour per second
    assert pacer.wait_s(0, 7_200_000) == 2.0
    clock.now += 0.5
    assert pacer.sim_clock(0) == 1_800_000
    assert pacer.wait_s(0, 1_000_000) < 0
