"""Parity: the online store, fed as the stream feeds it, gives the offline features (real Redis)."""

from __future__ import annotations

import numpy as np
import pytest
import redis

from features.definition import DAY_MS, FEATURE_NAMES
from features.offline import compute_features
from features.online import OnlineFeatureStore
from features.synthetic import generate

pytestmark = pytest.mark.integration
DELAY_DAYS = 7


@pytest.mark.parametrize("max_batch", [1, 64, 700])
def test_streamed_features_equal_offline(redis_client: redis.Redis[bytes], max_batch: int) -> None:
    # 60 days: past the 30-day window plus the 7-day delay, so trimming and every edge are exercised.
    n = 3_000 if max_batch == 1 else 12_000
    tx = generate(n, days=60, cards=150, terminals=90, seed=max_batch)
    want = compute_features(tx, label_delay_days=DELAY_DAYS)
    store = OnlineFeatureStore(redis_client, label_delay_days=DELAY_DAYS)
    fraud_times = tx.event_time[tx.is_fraud == 1]
    labels = tx.take(tx.is_fraud == 1)
    rng = np.random.default_rng(max_batch)
    got = np.empty_like(want)
    start = labelled = 0
    while start < n:
        stop = min(n, start + int(rng.integers(1, max_batch + 1)))
        batch = tx.take(slice(start, stop))
        # Labels arrive once their delay has passed, in small chunks, before the batch is read.
        known = int(np.searchsorted(fraud_times, batch.event_time.max() - DELAY_DAYS * DAY_MS, "left"))
        while labelled < known:
            chunk = min(known, labelled + int(rng.integers(1, 20)))
            store.record_labels(labels.take(slice(labelled, chunk)))
            labelled = chunk
        got[start:stop] = store.read(batch)
        store.record_transactions(batch)
        start = stop

    assert got.shape == (n, len(FEATURE_NAMES))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The comparison means something: full windows, frauds in the terminal windows, empty windows too.
    column = {name: want[:, i] for i, name in enumerate(FEATURE_NAMES)}
    assert column["card_nb_tx_1day_window"].max() >= 2
    assert (column["card_nb_tx_1day_window"] == 0).any()
    assert (column["terminal_risk_7day_window"] > 0).sum() > n // 20
