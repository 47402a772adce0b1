"""Labelled history files: Avro container files of `LabelledTransaction`, read and written as columns.

The column form (`TransactionColumns`) is what the simulator produces and what offline features, training,
batch scoring and replay consume, so that none of them loops over Python dicts per row more than once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import numpy.typing as npt

from schemas.container import write_container
from schemas.registry import current_schemas

UNLABELLED = -1
SYNC_MARKER = b"fraudscore-sync!"


@dataclass(frozen=True)
class TransactionColumns:
    """Transactions as parallel arrays, sorted by event time. `is_fraud` is 1, 0, or -1 (unknown)."""

    event_id: npt.NDArray[np.str_]
    event_time: npt.NDArray[np.int64]
    card_id: npt.NDArray[np.str_]
    terminal_id: npt.NDArray[np.str_]
    amount: npt.NDArray[np.float64]
    is_fraud: npt.NDArray[np.int8]
    fraud_scenario: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.event_id)

    def take(self, index: npt.NDArray[Any] | slice) -> TransactionColumns:
        return TransactionColumns(**{k: getattr(self, k)[index] for k in COLUMNS})

    def row(self, i: int) -> dict[str, Any]:
        """Row `i`'s transaction fields as Python values (what every record built from a row says)."""
        return {name: getattr(self, name)[i].item() for name in TRANSACTION_DTYPES}

    def records(self) -> Iterator[dict[str, Any]]:
        """Rows as `LabelledTransaction` dicts (for writing); slow path, used once per file."""
        for i in range(len(self)):
            fraud = int(self.is_fraud[i])
            yield {
                **self.row(i),
                "currency": "EUR",
                "is_fraud": None if fraud == UNLABELLED else bool(fraud),
                "fraud_scenario": int(self.fraud_scenario[i]),
            }


COLUMNS = tuple(TransactionColumns.__dataclass_fields__)
# The dtype of each transaction field (the columns every event carries, labels aside).
TRANSACTION_DTYPES: dict[str, Any] = {
    "event_id": np.str_,
    "event_time": np.int64,
    "card_id": np.str_,
    "terminal_id": np.str_,
    "amount": np.float64,
}


def from_records(records: list[dict[str, Any]]) -> TransactionColumns:
    """Columns from transaction-like dicts (labelled or not), in event-time order."""
    order = np.argsort(np.array([r["event_time"] for r in records], dtype=np.int64), kind="stable")
    rows = [records[i] for i in order]
    return TransactionColumns(
        **{name: np.array([r[name] for r in rows], dtype=kind) for name, kind in TRANSACTION_DTYPES.items()},
        is_fraud=np.array(
            [UNLABELLED if r.get("is_fraud") is None else int(r["is_fraud"]) for r in rows], dtype=np.int8
        ),
        fraud_scenario=np.array([r.get("fraud_scenario", 0) for r in rows], dtype=np.int8),
    )


def write_history(path: Path, columns: TransactionColumns, codec: str = "deflate") -> None:
    """Write an Avro container file ("null" or "deflate" codec), vectorised (`schemas.container`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        # A fixed sync marker makes the same columns give the same file, byte for byte.
        write_container(fh, current_schemas()["labelled_transaction"], columns, codec, SYNC_MARKER)


def read_history(path: Path) -> TransactionColumns:
    with path.open("rb") as fh:
        rows: list[dict[str, Any]] = [r for r in fastavro.reader(fh) if isinstance(r, dict)]
    times = np.fromiter((r["event_time"] for r in rows), dtype=np.int64, count=len(rows))
    if len(times) and not bool(np.all(times[1:] >= times[:-1])):
        return from_records(rows)
    # Already in time order (every file fraudscore writes is): build the columns without re-sorting.
    return TransactionColumns(
        event_id=np.array([r["event_id"] for r in rows], dtype=np.str_),
        event_time=times,
        card_id=np.array([r["card_id"] for r in rows], dtype=np.str_),
        terminal_id=np.array([r["terminal_id"] for r in rows], dtype=np.str_),
        amount=np.fromiter((r["amount"] for r in rows), dtype=np.float64, count=len(rows)),
        is_fraud=np.fromiter(
            (UNLABELLED if r["is_fraud"] is None else int(r["is_fraud"]) for r in rows),
            dtype=np.int8,
            count=len(rows),
        ),
        fraud_scenario=np.fromiter((r["fraud_scenario"] for r in rows), dtype=np.int8, count=len(rows)),
    )
