"""Windowed counts and sums over many entities at once, and the card and terminal blocks built on them.

Offline and online both reduce to the same question: for each query (entity, end time), how many
entries of that entity fall in (end - span, end), and what do their weights add up to? The entries are
sorted once by (entity, time) into one int64 key, so every window bound is one `np.searchsorted` over
the whole batch; no Python loop runs per event or per entity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from features.definition import CARD_FEATURES, DAY_MS, TERMINAL_FEATURES, WINDOW_DAYS
from features.exceptions import FeatureInputError

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def windowed(
    entry_group: Int64s,
    entry_time: Int64s,
    entry_weight: Floats | None,
    query_group: Int64s,
    query_end: Int64s,
    spans_ms: Sequence[int],
) -> list[tuple[Int64s, Floats]]:
    """Per span, (count, weight sum) of the entries with end - span < time < end, both bounds open."""
    n = len(query_group)
    if len(entry_group) == 0 or n == 0:
        return [(np.zeros(n, np.int64), np.zeros(n)) for _ in spans_ms]
    # One sortable int64 key: the entity in the high bits, the time since `base` in the low bits.
    base = min(int(entry_time.min()), int(query_end.min()) - max(spans_ms))
    top = max(int(entry_time.max()), int(query_end.max())) - base
    shift = top.bit_length() + 1
    groups = int(max(entry_group.max(), query_group.max())) + 1
    if groups.bit_length() + shift > 62:
        raise FeatureInputError(f"too many entities ({groups}) over too long a time span ({top} ms)")
    order = np.lexsort((entry_time, entry_group))
    keys = (entry_group[order] << shift) + (entry_time[order] - base)
    cum = None
    if entry_weight is not None:
        cum = np.concatenate(([0.0], np.cumsum(entry_weight[order], dtype=np.float64)))
    # Sorted needles make searchsorted walk the keys in order instead of jumping (3x faster offline).
    qkey = (query_group << shift) + (query_end - base)
    qorder = np.argsort(qkey, kind="stable")
    qkey = qkey[qorder]
    hi = np.searchsorted(keys, qkey, side="left")
    out = []
    for span in spans_ms:
        lo = np.searchsorted(keys, qkey - span, side="right")
        count = np.empty(n, np.int64)
        count[qorder] = hi - lo
        total = np.zeros(n)
        if cum is not None:
            total[qorder] = cum[hi] - cum[lo]
        out.append((count, total))
    return out


def card_block(
    entry_group: Int64s, entry_time: Int64s, entry_amount: Floats, query_group: Int64s, query_time: Int64s
) -> Floats:
    """Per window: the card's number of transactions strictly before t, and their mean amount (0 if none)."""
    spans = [w * DAY_MS for w in WINDOW_DAYS]
    out = np.empty((len(query_group), len(CARD_FEATURES)))
    for k, (count, total) in enumerate(
        windowed(entry_group, entry_time, entry_amount, query_group, query_time, spans)
    ):
        out[:, 2 * k] = count
        out[:, 2 * k + 1] = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return out


def terminal_block(
    tx_group: Int64s,
    tx_time: Int64s,
    fraud_group: Int64s,
    fraud_time: Int64s,
    query_group: Int64s,
    query_time: Int64s,
    label_delay_ms: int,
) -> Floats:
    """Per window ending strictly before t - delay: the terminal's transactions and their fraud share.

    Transactions and known frauds are two entry sets, because online the frauds arrive later (labels).
    The risk is 0 when the window is empty, as in the Handbook, and never above 1.
    """
    spans = [w * DAY_MS for w in WINDOW_DAYS]
    end = query_time - label_delay_ms
    txs = windowed(tx_group, tx_time, None, query_group, end, spans)
    frauds = windowed(fraud_group, fraud_time, None, query_group, end, spans)
    out = np.empty((len(query_group), len(TERMINAL_FEATURES)))
    for k, ((count, _), (nb_fraud, _)) in enumerate(zip(txs, frauds, strict=True)):
        fraud = nb_fraud.astype(np.float64)
        out[:, 2 * k] = count
        out[:, 2 * k + 1] = np.minimum(np.divide(fraud, count, out=np.zeros_like(fraud), where=count > 0), 1)
    return out
