"""Offline features against a row-by-row reference written straight from the definition."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from features.definition import (
    CARD_SLICE,
    DAY_MS,
    FEATURE_GROUPS,
    FEATURE_NAMES,
    TERMINAL_SLICE,
    WINDOW_DAYS,
    transaction_only,
)
from features.offline import compute_features
from features.synthetic import generate
from schemas.history import TransactionColumns, from_records


def reference(tx: TransactionColumns, delay_days: int) -> np.ndarray:
    """One row at a time, with plain masks: slow and obvious."""
    rows = []
    for i in range(len(tx)):
        t = int(tx.event_time[i])
        same_card = tx.card_id == tx.card_id[i]
        same_terminal = tx.terminal_id == tx.terminal_id[i]
        row: list[float] = []
        for w in WINDOW_DAYS:
            amounts = tx.amount[same_card & (tx.event_time > t - w * DAY_MS) & (tx.event_time < t)]
            row += [len(amounts), amounts.mean() if len(amounts) else 0.0]
        end = t - delay_days * DAY_MS
        for w in WINDOW_DAYS:
            labels = tx.is_fraud[same_terminal & (tx.event_time > end - w * DAY_MS) & (tx.event_time < end)]
            row += [len(labels), (labels == 1).mean() if len(labels) else 0.0]
        rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("delay", [0, 7])
def test_matches_the_row_by_row_reference(delay: int) -> None:
    tx = generate(1500, days=60, cards=40, terminals=25, seed=3, unlabelled_days=5)
    got = compute_features(tx, label_delay_days=delay)
    want = reference(tx, delay)
    assert got.dtype == np.float32
    assert got.shape == (len(tx), len(FEATURE_NAMES))
    np.testing.assert_allclose(got[:, CARD_SLICE], want[:, :6], rtol=1e-6)
    np.testing.assert_allclose(got[:, TERMINAL_SLICE], want[:, 6:], rtol=1e-6)
    assert (got[:, TERMINAL_SLICE][:, 1::2] > 0).any()  # the risk columns are exercised


def _tx(rows: list[tuple[str, int, str, str, float, int]]) -> TransactionColumns:
    keys = ("event_id", "event_time", "card_id", "terminal_id", "amount", "is_fraud")
    records: list[dict[str, Any]] = [dict(zip(keys, r, strict=True)) for r in rows]
    for r in records:
        r["is_fraud"] = None if r["is_fraud"] < 0 else r["is_fraud"]
    return from_records(records)


def test_window_bounds_ties_and_label_delay() -> None:
    t0 = 1_704_067_200_000 + 10 * DAY_MS  # a Thursday, 00:00 UTC
    tx = _tx(
        [
            ("a", t0, "c", "T", 10.0, 1),
            ("b", t0 + DAY_MS, "c", "T", 20.0, 0),  # exactly one day later: a is out of the 1-day window
            ("c", t0 + DAY_MS, "c", "T", 30.0, 0),  # a tie with b: b does not count for c
            ("e", t0 + 8 * DAY_MS - 1, "x", "T", 1.0, 0),  # a's label known strictly before e
            ("d", t0 + 8 * DAY_MS, "c", "T", 40.0, 0),  # exactly delay + 1 day after a
        ]
    )
    f = compute_features(tx, label_delay_days=7)
    card = dict(zip(FEATURE_GROUPS["card"], f[:, CARD_SLICE].T, strict=True))
    term = dict(zip(FEATURE_GROUPS["terminal"], f[:, TERMINAL_SLICE].T, strict=True))
    assert card["card_nb_tx_1day_window"].tolist() == [0, 0, 0, 0, 0]
    assert card["card_nb_tx_7day_window"].tolist() == [0, 1, 1, 0, 0]  # d: b, c are at exactly t-7d
    assert card["card_nb_tx_30day_window"].tolist() == [0, 1, 1, 0, 3]
    assert card["card_avg_amount_30day_window"].tolist() == [0, 10, 10, 0, 20]
    # d: the window (t-8d, t-7d) excludes a (at exactly t-8d) and b, c (at exactly t-7d).
    assert term["terminal_nb_tx_1day_window"].tolist() == [0, 0, 0, 1, 0]
    assert term["terminal_risk_1day_window"].tolist() == [0, 0, 0, 1, 0]
    assert term["terminal_nb_tx_7day_window"][4] == 1  # a, not b or c
    # Weekend and night flags from the UTC time: t0 is a Thursday at midnight.
    assert f[:, 1].tolist() == [0, 0, 0, 0, 0]
    assert f[:, 2].tolist() == [1, 1, 1, 0, 1]  # e is at 23:59:59.999


def test_weekend_and_night_flags() -> None:
    sat_0659 = 1_704_067_200_000 + 5 * DAY_MS + (6 * 60 + 59) * 60_000  # Saturday 2024-01-06 06:59 UTC
    tx = _tx([("a", sat_0659, "c", "T", 1.0, 0), ("b", sat_0659 + 60_000, "c", "T", 1.0, 0)])
    f = compute_features(tx)
    assert f[:, 1].tolist() == [1, 1]
    assert f[:, 2].tolist() == [1, 0]  # 06:59 is night (the Handbook's hour <= 6), 07:00 is not


def test_transaction_only_leaves_the_profiles_missing() -> None:
    tx = generate(10, days=2, cards=3, terminals=3)
    f = transaction_only(tx)
    assert f.shape == (10, len(FEATURE_NAMES))
    assert np.isnan(f[:, CARD_SLICE.start :]).all()
    np.testing.assert_array_equal(f[:, :3], compute_features(tx)[:, :3])
