"""How the online store's write goes out: a key read before its write has its TTL refreshed only at
its first entry of each refresh period, every other write refreshes every key it touches; and the
command is assembled in the wire format from parts, its refresh flags set last."""

from __future__ import annotations

import hiredis
import pytest
import redis

from consumer.feature_guard import FeatureGuard
from features.definition import DAY_MS, card_horizon_ms, terminal_horizon_ms
from features.online import OnlineFeatureStore
from features.redis_pipe import command, pack_args, set_last_argument
from features.store_script import REFRESH_PERIOD_MS
from schemas.history import TransactionColumns, from_records

PERIOD_START = 1_704_326_400_000 - 1_704_326_400_000 % REFRESH_PERIOD_MS
LOWERED_MS = 1_000_000  # a TTL far below a full one: still that low means "not refreshed"
CARD, TERMINAL = b"fs:c:C", b"fs:t:T"


def _rows(*rows: tuple[str, int, str, str], fraud: int = 0) -> TransactionColumns:
    """Transactions (event id, time, card, terminal)."""
    return from_records(
        [
            {
                "event_id": e,
                "event_time": t,
                "card_id": c,
                "terminal_id": k,
                "amount": 12.5,
                "is_fraud": fraud,
            }
            for e, t, c, k in rows
        ]
    )


def _one(event_id: str, time: int, fraud: int = 0) -> TransactionColumns:
    return _rows((event_id, time, "C", "T"), fraud=fraud)


def _score(store: OnlineFeatureStore, tx: TransactionColumns) -> None:
    """What the scorer does: read the batch's state, send its write as soon as the state is in."""
    store.read(tx, on_fetched=lambda: store.send_transactions(tx))
    store.confirm()


def _lower(client: redis.Redis[bytes]) -> None:
    for key in (CARD, TERMINAL):
        assert client.pexpire(key, LOWERED_MS)


def _size(client: redis.Redis[bytes]) -> int:
    return len(client.get(CARD) or b"")


def _refreshed(client: redis.Redis[bytes]) -> dict[bytes, bool]:
    return {key: client.pttl(key) > LOWERED_MS for key in (CARD, TERMINAL)}


@pytest.mark.integration
def test_a_read_key_is_refreshed_at_its_first_entry_of_each_period_and_other_writes_refresh_all(
    redis_client: redis.Redis[bytes],
) -> None:
    store = OnlineFeatureStore(redis_client, label_delay_days=7)
    period = REFRESH_PERIOD_MS
    _score(store, _one("a", PERIOD_START + 3_600_000))  # new keys
    full = {CARD: card_horizon_ms(), TERMINAL: terminal_horizon_ms(7)}
    for key, horizon in full.items():  # horizon, trim slack, TTL slack, two periods
        assert (
            horizon + 2 * DAY_MS + 2 * period - 60_000
            < redis_client.pttl(key)
            <= horizon + 2 * DAY_MS + 2 * period
        )
    _lower(redis_client)
    _score(store, _one("b", PERIOD_START + 5 * DAY_MS))  # same period: the TTL stays as it was
    assert _refreshed(redis_client) == {CARD: False, TERMINAL: False}
    assert _size(redis_client) == 2 * 20  # the entry was written all the same
    _score(store, _one("c", PERIOD_START + period + 60_000))  # the next period's first entry
    assert _refreshed(redis_client) == {CARD: True, TERMINAL: True}

    _lower(redis_client)
    store.record_transactions(_one("d", PERIOD_START + period + 120_000))  # not read first
    assert _refreshed(redis_client) == {CARD: True, TERMINAL: True}
    _lower(redis_client)
    store.record_labels(_one("a", PERIOD_START + 3_600_000, fraud=1))  # labels touch the terminal
    assert _refreshed(redis_client) == {CARD: False, TERMINAL: True}


@pytest.mark.integration
def test_each_key_of_a_write_gets_its_own_refresh(redis_client: redis.Redis[bytes]) -> None:
    store = OnlineFeatureStore(redis_client)
    period = REFRESH_PERIOD_MS
    store.record_transactions(_rows(("a", PERIOD_START + 3_600_000, "C", "T0")))  # C: last entry then
    store.record_transactions(_rows(("b", PERIOD_START + period + 3_600_000, "C2", "T2")))  # C2, T2: now
    keys = [b"fs:c:C", b"fs:c:C2", b"fs:t:T2"]
    for key in keys:
        assert redis_client.pexpire(key, LOWERED_MS)
    tx = _rows(
        ("c", PERIOD_START + period + 7_200_000, "C", "T2"),
        ("d", PERIOD_START + period + 7_300_000, "C2", "T2"),
    )
    _score(store, tx)
    refreshed = {key: redis_client.pttl(key) > LOWERED_MS for key in keys}
    assert refreshed == {b"fs:c:C": True, b"fs:c:C2": False, b"fs:t:T2": False}
    assert all(len(redis_client.get(key) or b"") for key in keys)


@pytest.mark.integration
def test_a_key_that_expired_between_its_read_and_its_write_gets_a_ttl(
    redis_client: redis.Redis[bytes],
) -> None:
    store = OnlineFeatureStore(redis_client)
    _score(store, _one("a", PERIOD_START + 3_600_000))
    tx = _one("b", PERIOD_START + 7_200_000)  # same period: no refresh asked

    def expire_then_send() -> None:
        redis_client.delete(CARD)
        store.send_transactions(tx)

    store.read(tx, on_fetched=expire_then_send)
    store.confirm()
    assert _size(redis_client) == 20
    assert redis_client.pttl(CARD) > LOWERED_MS


@pytest.mark.integration
def test_a_write_whose_read_failed_refreshes_every_key(redis_client: redis.Redis[bytes]) -> None:
    store = OnlineFeatureStore(redis_client)
    _score(store, _one("a", PERIOD_START + 3_600_000))
    _lower(redis_client)
    real_replies = store._pipe.replies
    failures = [redis.ConnectionError("connection reset")]

    def replies_then_fail() -> list[object]:
        out = real_replies()
        if failures:  # the MGET's answer is lost: the connection goes, as a real failure drops it
            store._pipe.drop()
            raise failures.pop()
        return out

    store._pipe.replies = replies_then_fail  # type: ignore[method-assign]
    guard = FeatureGuard(store, budget_s=0.0, on_down="score-missing", should_stop=lambda: False)
    _, missing = guard.read_then_record(_one("b", PERIOD_START + 7_200_000), None)
    guard.wait()
    assert missing  # scored without the state, and the write went all the same
    assert _size(redis_client) == 2 * 20
    assert _refreshed(redis_client) == {CARD: True, TERMINAL: True}


def test_a_command_assembled_from_parts_is_the_command_packed_whole() -> None:
    before, keys, after = [b"EVAL", b"return 1", b"3"], [b"fs:c:C1", b"fs:t:\xff"], [b"", b"\x01\x00"]
    whole = hiredis.pack_command((*before, *keys, *after))  # type: ignore[arg-type]
    assembled = command(7, pack_args(before), pack_args(keys), pack_args(after))
    assert assembled == whole
    packed = bytearray(assembled)
    set_last_argument(packed, b"\x00\x00")
    assert bytes(packed) == hiredis.pack_command((*before, *keys, b"", b"\x00\x00"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not 3 bytes long"):
        set_last_argument(packed, b"\x00\x00\x00")  # a splice of the wrong length would garble the stream
