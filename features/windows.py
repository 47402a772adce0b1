"""Windowed counts and sums over many entities at once, and the card and terminal blocks built on them.

Offline and online both reduce to the same question: for each query (entity, end time), how many
entries of that entity fall in (end - span, end), and what do their weights add up to? The entries are
sorted once by (entity, time) into one int64 key, so every window bound is one `np.searchsorted` over
the whole batch; no Python loop runs per event or per entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features.definition import CARD_FEATURES, DAY_MS, TERMINAL_FEATURES, WINDOW_DAYS
from features.exceptions import FeatureInputError

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Entries:
    """Events of many entities: `group` is the entity's index. With `tag` (an id per event), an event
    present twice (same entity, time and tag: an update applied twice) counts once."""

    group: Int64s
    time: Int64s
    weight: Floats | None = None
    tag: npt.NDArray[np.uint32] | None = None


def _first_of_repeats(keys: Int64s, tags: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Over entries sorted by key: False on a repeat of an earlier (key, tag). Ties are rare, so only
    the entries that share their key with a neighbour are sorted by tag."""
    keep = np.ones(len(keys), dtype=bool)
    same = keys[1:] == keys[:-1]
    if not same.any():
        return keep
    tied = np.flatnonzero(np.concatenate(([False], same)) | np.concatenate((same, [False])))
    by_tag = tied[np.lexsort((tags[tied], keys[tied]))]
    repeat = (keys[by_tag][1:] == keys[by_tag][:-1]) & (tags[by_tag][1:] == tags[by_tag][:-1])
    keep[by_tag[1:][repeat]] = False
    return keep


def windowed(
    entries: Entries, query_group: Int64s, query_end: Int64s, spans_ms: Sequence[int]
) -> list[tuple[Int64s, Floats]]:
    """Per span, (count, weight sum) of the entries with end - span < time < end, both bounds open."""
    n = len(query_group)
    if len(entries.group) == 0 or n == 0:
        return [(np.zeros(n, np.int64), np.zeros(n)) for _ in spans_ms]
    # One sortable int64 key: the entity in the high bits, the time since `base` in the low bits.
    base = min(int(entries.time.min()), int(query_end.min()) - max(spans_ms))
    top = max(int(entries.time.max()), int(query_end.max())) - base
    shift = top.bit_length() + 1
    groups = int(max(entries.group.max(), query_group.max())) + 1
    if groups.bit_length() + shift > 62:
        raise FeatureInputError(f"too many entities ({groups}) over too long a time span ({top} ms)")
    keys = (entries.group << shift) + (entries.time - base)
    # Online entries arrive grouped and in about time order: a stable (tim)sort of such runs is near
    # linear, where a lexsort would start from scratch.
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    if entries.tag is not None:
        keep = _first_of_repeats(keys, entries.tag[order])
        keys, order = keys[keep], order[keep]
    cum = None
    if entries.weight is not None:
        cum = np.concatenate(([0.0], np.cumsum(entries.weight[order], dtype=np.float64)))
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


def card_block(txs: Entries, query_group: Int64s, query_time: Int64s) -> Floats:
    """Per window: the card's number of transactions strictly before t, and their mean amount (0 if none).

    `txs.weight` holds the amounts."""
    spans = [w * DAY_MS for w in WINDOW_DAYS]
    out = np.empty((len(query_group), len(CARD_FEATURES)))
    for k, (count, total) in enumerate(windowed(txs, query_group, query_time, spans)):
        out[:, 2 * k] = count
        out[:, 2 * k + 1] = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return out


def terminal_block(
    txs: Entries, frauds: Entries, query_group: Int64s, query_time: Int64s, label_delay_ms: int
) -> Floats:
    """Per window ending strictly before t - delay: the terminal's transactions and their fraud share.

    Transactions and known frauds are two entry sets, because online the frauds arrive later (labels).
    The risk is 0 when the window is empty, as in the Handbook, and never above 1.
    """
    spans = [w * DAY_MS for w in WINDOW_DAYS]
    end = query_time - label_delay_ms
    counts = windowed(txs, query_group, end, spans)
    fraud_counts = windowed(frauds, query_group, end, spans)
    out = np.empty((len(query_group), len(TERMINAL_FEATURES)))
    for k, ((count, _), (nb_fraud, _)) in enumerate(zip(counts, fraud_counts, strict=True)):
        fraud = nb_fraud.astype(np.float64)
        out[:, 2 * k] = count
        out[:, 2 * k + 1] = np.minimum(np.divide(fraud, count, out=np.zeros_like(fraud), where=count > 0), 1)
    return out
