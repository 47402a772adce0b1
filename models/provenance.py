"""Where a model came from: a fingerprint of its training rows and the library versions."""

from __future__ import annotations

import hashlib
import platform

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from schemas.history import TransactionColumns


def fingerprint(tx: TransactionColumns, rows: npt.NDArray[np.intp]) -> str:
    """sha256 over the training rows' columns: same rows in the same order, same fingerprint."""
    digest = hashlib.sha256()
    for column in ("event_id", "event_time", "card_id", "terminal_id", "amount", "is_fraud"):
        digest.update(np.ascontiguousarray(getattr(tx, column)[rows]).tobytes())
    return "sha256:" + digest.hexdigest()


def library_versions() -> dict[str, str]:
    from fraudscore import __version__

    return {
        "python": platform.python_version(),
        "xgboost": xgb.__version__,
        "numpy": np.__version__,
        "fraudscore": __version__,
    }
