"""Fitting one XGBoost booster, with a progress bar, and the hyper-parameters it uses."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb
from tqdm import tqdm


@dataclass(frozen=True)
class HyperParams:
    """Defaults tuned on a simulated history (docs/model.md has the search and its results)."""

    n_estimators: int = 200
    max_depth: int = 3
    learning_rate: float = 0.1
    min_child_weight: float = 1.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    # Exact split finding: the histogram method's 256 quantile bins blur the amount > 220 rule (a rare
    # tail) and cost about 0.03 of average precision on the simulated data.
    tree_method: str = "exact"

    def xgb_params(self, seed: int, nthread: int) -> dict[str, Any]:
        return {
            "objective": "binary:logistic",
            "eval_metric": "aucpr",
            "tree_method": self.tree_method,
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "seed": seed,
            "nthread": nthread,
            "verbosity": 0,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Progress(xgb.callback.TrainingCallback):
    def __init__(self, bar: tqdm[Any]) -> None:
        super().__init__()
        self.bar = bar

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.bar.update(1)
        return False  # never stop early


def fit(
    features: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    feature_names: tuple[str, ...],
    params: HyperParams,
    *,
    seed: int,
    desc: str,
    nthread: int | None = None,
    progress: bool = True,
) -> xgb.Booster:
    """A booster fitted on these rows; same rows, params and seed give the same model bytes."""
    threads = nthread or os.cpu_count() or 1
    data = xgb.DMatrix(
        features,
        label=labels.astype(np.float32),
        missing=np.nan,
        feature_names=list(feature_names),
        nthread=threads,
    )
    with tqdm(total=params.n_estimators, desc=desc, unit="tree", disable=not progress, leave=False) as bar:
        return xgb.train(
            params.xgb_params(seed, threads),
            data,
            num_boost_round=params.n_estimators,
            callbacks=[_Progress(bar)],
        )
