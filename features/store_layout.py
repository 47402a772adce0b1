"""How the online state is laid out in Redis: one packed binary string per card and per terminal.

A card's value is a run of 24-byte entries (event time ms int64, amount float64, tag uint64); a
terminal's a run of 16-byte entries (event time ms int64, tag uint64). The tag is a 64-bit hash of the
event id; on a terminal its lowest bit says what the entry is: 0 a transaction, 1 a fraud label for
that transaction. All little-endian. Packed strings are read with one MGET (about 3 us a key, against
35-50 us for a pipelined HGETALL) and parsed with one `np.frombuffer` over the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from features.exceptions import FeatureStoreError

CARD_ENTRY = np.dtype([("time", "<i8"), ("amount", "<f8"), ("tag", "<u8")])
TERMINAL_ENTRY = np.dtype([("time", "<i8"), ("tag", "<u8")])
FRAUD_BIT = np.uint64(1)


def card_key(prefix: str, card_id: str) -> str:
    return f"{prefix}:c:{card_id}"


def terminal_key(prefix: str, terminal_id: str) -> str:
    return f"{prefix}:t:{terminal_id}"


def parse(
    values: Sequence[bytes | None], entry: np.dtype[np.void]
) -> tuple[npt.NDArray[np.void], npt.NDArray[np.int64]]:
    """The entries of all values at once, and for each the index of the value it came from."""
    lengths = np.fromiter((len(v) if v else 0 for v in values), dtype=np.int64, count=len(values))
    if (lengths % entry.itemsize).any():
        raise FeatureStoreError(f"corrupt feature state: a value is not a whole number of {entry.itemsize}")
    entries = np.frombuffer(b"".join(v for v in values if v), dtype=entry)
    group = np.repeat(np.arange(len(values), dtype=np.int64), lengths // entry.itemsize)
    return entries, group


def pack_groups(entries: npt.NDArray[np.void], group: npt.NDArray[np.int64], n_groups: int) -> list[bytes]:
    """One byte string per group with that group's entries in time order (empty when it has none)."""
    order = np.lexsort((entries["time"], group))
    data = entries[order].tobytes()
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1)) * entries.dtype.itemsize
    return [data[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
