"""The online store's own rules: idempotent writes, the in-batch rule, bounded state, clean errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import redis

from features.definition import DAY_MS, FEATURE_NAMES, card_horizon_ms, terminal_horizon_ms
from features.exceptions import FeatureInputError, FeatureStoreError
from features.offline import compute_features
from features.online import OnlineFeatureStore
from features.store_layout import CARD_ENTRY, TERMINAL_ENTRY
from features.store_script import CHECK_EVERY, REFRESH_PERIOD_MS
from features.synthetic import generate
from schemas.history import TransactionColumns, from_records

DELAY = 7
NB_1D = FEATURE_NAMES.index("card_nb_tx_1day_window")
AVG_1D = FEATURE_NAMES.index("card_avg_amount_1day_window")


def _state(client: redis.Redis[bytes]) -> dict[bytes, bytes | None]:
    return {key: client.get(key) for key in sorted(client.scan_iter())}


def _labels_known_by(tx: TransactionColumns, time: int) -> TransactionColumns:
    """The frauds whose label is known before `time` (event time): their delay has passed."""
    frauds = tx.take(tx.is_fraud == 1)
    return frauds.take(frauds.event_time < time - DELAY * DAY_MS)


def _stream(store: OnlineFeatureStore, tx: TransactionColumns, batch: int = 200) -> None:
    """Records transactions in batches, each after the labels that became known since the last one."""
    sent = 0
    for start in range(0, len(tx), batch):
        part = tx.take(slice(start, start + batch))
        known = _labels_known_by(tx.take(slice(0, start)), int(part.event_time.max()))
        store.record_labels(known.take(slice(sent, None)))
        sent = len(known)
        store.record_transactions(part)


@pytest.mark.integration
def test_a_batch_applied_twice_changes_neither_state_nor_features(redis_client: redis.Redis[bytes]) -> None:
    tx = generate(4000, days=45, cards=60, terminals=40, seed=11)
    store = OnlineFeatureStore(redis_client, label_delay_days=DELAY)
    head, tail = tx.take(slice(0, 3000)), tx.take(slice(3000, None))
    _stream(store, head)
    last = head.take(slice(2800, 3000))  # the last batch _stream wrote
    labels = _labels_known_by(head.take(slice(0, 2800)), int(last.event_time.max()))
    before = _state(redis_client)
    store.record_transactions(last)  # a retry after a crash: the last batch, as it was
    assert _state(redis_client) == before
    # Labels redelivered in other groupings are stored once (only the new batch markers appear).
    store.record_labels(labels)
    store.record_labels(labels.take(slice(0, len(labels) // 2)))
    store.record_labels(labels.take(slice(len(labels) // 3, None)))
    after = _state(redis_client)
    assert len(after) == len(before) + 3
    assert {k: v for k, v in after.items() if k in before} == before
    # A retry that regroups transactions (batch boundaries moved) may add copies, never change a feature.
    store.record_transactions(head.take(slice(2900, 2950)))
    store.record_transactions(head.take(slice(2700, 3000)))
    store.record_labels(_labels_known_by(tx, int(tail.event_time[299])))
    np.testing.assert_allclose(
        store.read(tail.take(slice(0, 300))), compute_features(tx, DELAY)[3000:3300], rtol=1e-5, atol=1e-6
    )


@pytest.mark.integration
def test_a_retried_batch_reads_the_same_features(redis_client: redis.Redis[bytes]) -> None:
    # About 130 events a day: a batch of 100 spans less than the trimming slack (a day).
    tx = generate(6000, days=45, cards=30, terminals=20, seed=12)
    store = OnlineFeatureStore(redis_client, label_delay_days=DELAY)
    _stream(store, tx.take(slice(0, 5900)))
    batch = tx.take(slice(5900, 6000))
    store.record_labels(_labels_known_by(tx, int(batch.event_time.max())))
    first = store.read(batch)
    store.record_transactions(batch)  # written, then the process died before committing offsets
    np.testing.assert_array_equal(store.read(batch), first)
    np.testing.assert_allclose(first, compute_features(tx, DELAY)[5900:], rtol=1e-5, atol=1e-6)


@pytest.mark.integration
def test_an_event_sees_the_earlier_events_of_its_own_batch(redis_client: redis.Redis[bytes]) -> None:
    t0 = 1_704_067_200_000
    rows = [
        ("a", t0, 10.0),
        ("b", t0 + 1_000, 30.0),
        ("c", t0 + 1_000, 50.0),  # a tie with b: b is not strictly before c
        ("d", t0 + 2_000, 70.0),
    ]
    batch = from_records(
        [
            {"event_id": e, "event_time": t, "card_id": "C", "terminal_id": "T", "amount": a}
            for e, t, a in rows
        ]
    )
    got = OnlineFeatureStore(redis_client).read(batch)
    assert got[:, NB_1D].tolist() == [0, 1, 1, 3]
    assert got[:, AVG_1D].tolist() == [0, 10, 10, 30]
    np.testing.assert_array_equal(got, compute_features(batch))


@pytest.mark.integration
def test_state_is_trimmed_in_event_time_and_expires_in_wall_time(redis_client: redis.Redis[bytes]) -> None:
    tx = generate(6000, days=90, cards=40, terminals=30, seed=13)
    _stream(OnlineFeatureStore(redis_client, label_delay_days=DELAY, ttl_slack_ms=DAY_MS), tx)
    card_horizon, terminal_horizon = card_horizon_ms() + DAY_MS, terminal_horizon_ms(DELAY) + DAY_MS
    keys = list(redis_client.scan_iter(match="fs:[ct]:*"))
    assert len(keys) == len(set(tx.card_id.tolist())) + len(set(tx.terminal_id.tolist()))
    stored = 0
    for key in keys:
        card = key.startswith(b"fs:c:")
        value = redis_client.get(key)
        assert value is not None
        times = np.frombuffer(value, CARD_ENTRY if card else TERMINAL_ENTRY)["time"]
        stored += len(times) if card else 0
        # A key is checked every CHECK_EVERY entries: what expired since its last check is kept.
        stale = times < times.max() - (card_horizon if card else terminal_horizon)
        assert stale.sum() < 2 * CHECK_EVERY, key
        ttl = (card_horizon if card else terminal_horizon) + DAY_MS + 2 * REFRESH_PERIOD_MS
        assert 0 < redis_client.pttl(key) <= ttl
    assert stored < 0.5 * len(tx)  # 90 days streamed, 31 (plus a few entries) kept


@pytest.mark.integration
def test_a_read_started_early_is_answered_once_and_a_confirm_between_makes_it_start_again(
    redis_client: redis.Redis[bytes],
) -> None:
    tx = generate(400, days=3, cards=5, terminals=4, seed=22)
    store = OnlineFeatureStore(redis_client, prefix="early")
    store.record_transactions(tx.take(slice(0, 300)))
    later = tx.take(slice(300, 400))
    want = compute_features(tx)[300:]

    def mgets() -> int:
        return int(redis_client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))

    before = mgets()
    store.start_read(later)
    got = store.read(later, on_fetched=lambda: store.send_transactions(later))
    store.confirm()
    assert mgets() - before == 1, "the read took the answer of the MGET sent early"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    again = OnlineFeatureStore(redis_client, prefix="early")
    before = mgets()
    again.start_read(later)
    again.confirm()  # reads every answer owed, the MGET's too: the read must ask again
    got = again.read(later, on_fetched=lambda: again.send_transactions(later))
    again.confirm()
    assert mgets() - before == 2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.integration
def test_a_write_sent_and_not_yet_confirmed_is_seen_by_the_next_read(
    redis_client: redis.Redis[bytes],
) -> None:
    tx = generate(400, days=3, cards=5, terminals=4, seed=21)
    synchronous = OnlineFeatureStore(redis_client, prefix="sync")
    pipelined = OnlineFeatureStore(redis_client, prefix="piped")
    synchronous.record_transactions(tx.take(slice(0, 300)))
    pipelined.send_transactions(tx.take(slice(0, 200)))
    pipelined.send_transactions(tx.take(slice(200, 300)))  # two answers owed, read in order by `read`
    later = tx.take(slice(300, 400))
    np.testing.assert_array_equal(pipelined.read(later), synchronous.read(later))
    np.testing.assert_allclose(pipelined.read(later), compute_features(tx)[300:], rtol=1e-5, atol=1e-6)


@pytest.mark.integration
def test_a_connection_lost_before_the_answer_fails_the_write_and_a_replay_counts_once(
    redis_client: redis.Redis[bytes],
) -> None:
    tx = generate(300, days=3, cards=5, terminals=4, seed=22)
    store = OnlineFeatureStore(redis_client)
    first, second = tx.take(slice(0, 150)), tx.take(slice(150, 300))
    store.send_transactions(first)
    store.confirm()
    redis_client.client_kill_filter(_type="normal", skipme=True)  # the store's connection dies
    with pytest.raises(FeatureStoreError) as info:  # noqa: PT012 - either step may be the one to fail
        store.send_transactions(second)  # the kernel may still take the bytes: then the answer fails
        store.confirm()
    assert info.value.retriable
    store.record_transactions(second)  # replayed on a fresh connection
    store.record_transactions(second)  # and again: counted once
    np.testing.assert_allclose(
        store.read(tx.take(slice(290, 300))), compute_features(tx)[290:], rtol=1e-5, atol=1e-6
    )


def test_redis_failures_are_retriable_and_hide_the_password() -> None:
    client = redis.Redis.from_url("redis://app:s3cret-pw@127.0.0.1:1/0", socket_connect_timeout=1)
    store = OnlineFeatureStore(client)
    tx = replace(generate(5, days=1, cards=2, terminals=2), is_fraud=np.ones(5, np.int8))
    for call in (store.read, store.record_transactions, store.record_labels):
        with pytest.raises(FeatureStoreError) as info:
            call(tx)
        assert info.value.retriable
        assert "s3cret-pw" not in str(info.value)


def test_a_decoding_client_is_refused() -> None:
    with pytest.raises(FeatureInputError, match="decode_responses"):
        OnlineFeatureStore(redis.Redis(port=1, decode_responses=True))  # type: ignore[arg-type]
