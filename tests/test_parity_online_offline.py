"""Parity: the online store, fed as the stream feeds it, gives the offline features (real Redis)."""

from __future__ import annotations

import numpy as np
import pytest
import redis

from features.definition import DAY_MS, FEATURE_NAMES
from features.offline import compute_features
from features.online import OnlineFeatureStore
from features.synthetic import generate
from producer.simulator import SimulationConfig, simulate
from schemas.history import TransactionColumns

pytestmark = pytest.mark.integration
DELAY_DAYS = 7


def stream_through(
    store: OnlineFeatureStore, tx: TransactionColumns, max_batch: int, seed: int
) -> np.ndarray:
    """What a scorer reads: micro-batches of random size in event-time order, each read and then
    recorded; labels arrive in small chunks once their delay has passed, before the batch is read."""
    rng = np.random.default_rng(seed)
    labels = tx.take(tx.is_fraud == 1)
    got = np.empty((len(tx), len(FEATURE_NAMES)), dtype=np.float32)
    start = labelled = 0
    while start < len(tx):
        stop = min(len(tx), start + int(rng.integers(1, max_batch + 1)))
        batch = tx.take(slice(start, stop))
        now = int(batch.event_time.max())
        known = int(np.searchsorted(labels.event_time, now - DELAY_DAYS * DAY_MS, "left"))
        while labelled < known:
            chunk = min(known, labelled + int(rng.integers(1, 20)))
            store.record_labels(labels.take(slice(labelled, chunk)))
            labelled = chunk
        got[start:stop] = store.read(batch)
        store.record_transactions(batch)
        start = stop
    return got


def assert_parity(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The comparison means something: full windows, frauds in the terminal windows, empty windows too.
    column = {name: want[:, i] for i, name in enumerate(FEATURE_NAMES)}
    assert column["card_nb_tx_1day_window"].max() >= 2
    assert (column["card_nb_tx_1day_window"] == 0).any()
    assert (column["terminal_risk_7day_window"] > 0).sum() > len(want) // 20


@pytest.mark.parametrize("max_batch", [1, 64, 700])
def test_streamed_features_equal_offline(redis_client: redis.Redis[bytes], max_batch: int) -> None:
    # 60 days: past the 30-day window plus the 7-day delay, so trimming and every edge are exercised;
    # the generator makes ties and events exactly one window apart.
    n = 2_000 if max_batch == 1 else 12_000
    tx = generate(n, days=60, cards=150, terminals=90, seed=max_batch)
    store = OnlineFeatureStore(redis_client, label_delay_days=DELAY_DAYS)
    got = stream_through(store, tx, max_batch, seed=max_batch)
    assert_parity(got, compute_features(tx, label_delay_days=DELAY_DAYS))


def test_simulated_history_streamed_equals_offline(redis_client: redis.Redis[bytes]) -> None:
    tx = simulate(SimulationConfig(customers=150, terminals=200, days=50, seed=3))
    assert len(tx) >= 10_000
    store = OnlineFeatureStore(redis_client, label_delay_days=DELAY_DAYS)
    got = stream_through(store, tx, max_batch=300, seed=3)
    assert_parity(got, compute_features(tx, label_delay_days=DELAY_DAYS))
