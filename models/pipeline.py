"""Training end to end on a feature matrix: validation fold, threshold, final model, test, ablation.

The final model is trained on the test fold's training window and is the model that gets saved, so the
metrics stored with it are the metrics of exactly those bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from models.artifact import ModelArtifact
from models.exceptions import ModelError
from models.metrics import auc_roc, average_precision, card_precision_at_k
from models.provenance import fingerprint, library_versions
from models.scoring import ScoringCore
from models.training import HyperParams, fit
from models.windows import Fold, Protocol, assessment_rows, days_of, train_rows
from schemas.history import TransactionColumns


@dataclass(frozen=True)
class TrainingConfig:
    protocol: Protocol = field(default_factory=Protocol)
    params: HyperParams = field(default_factory=HyperParams)
    seed: int = 0
    alerts_per_day: int = 100
    nthread: int | None = None
    progress: bool = True
    # Feature groups to leave out one at a time in the ablation, e.g. {"card": (...), "terminal": (...)}.
    ablation_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    auc_roc: float
    average_precision: float
    card_precision_at_100: float
    card_precision_per_day: tuple[float, ...]
    transactions: int
    frauds: int

    def metrics(self) -> dict[str, float]:
        return {
            "auc_roc": self.auc_roc,
            "average_precision": self.average_precision,
            "card_precision_at_100": self.card_precision_at_100,
        }


@dataclass(frozen=True)
class Assessed:
    """A model's scores on the rows of an assessment window, with their evaluation."""

    rows: npt.NDArray[np.intp]
    labels: npt.NDArray[np.int8]
    scores: npt.NDArray[np.float64]
    evaluation: Evaluation


@dataclass(frozen=True)
class TrainingResult:
    booster: xgb.Booster
    feature_names: tuple[str, ...]
    threshold: float
    metadata: dict[str, Any]
    test: Assessed
    validation: Assessed


def candidate(booster: xgb.Booster, names: tuple[str, ...], threshold: float = 1.0) -> ModelArtifact:
    return ModelArtifact("candidate", booster, names, threshold, {}, None)


def assess(
    core: ScoringCore, tx: TransactionColumns, matrix: npt.NDArray[np.float32], rows: npt.NDArray[np.intp]
) -> Assessed:
    labels = tx.is_fraud[rows]
    scores = core.score(matrix[rows])
    cp = card_precision_at_k(tx.event_time[rows], tx.card_id[rows], labels, scores, k=100)
    evaluation = Evaluation(
        auc_roc=auc_roc(labels, scores),
        average_precision=average_precision(labels, scores),
        card_precision_at_100=cp.mean,
        card_precision_per_day=cp.per_day,
        transactions=len(rows),
        frauds=int(labels.sum()),
    )
    return Assessed(rows, labels, scores, evaluation)


def budget_threshold(scores: npt.NDArray[np.float64], days: int, alerts_per_day: int) -> float:
    """The lowest threshold that raises at most `alerts_per_day` alerts per day on these scores."""
    budget = alerts_per_day * days
    if budget <= 0:
        return 1.0
    ranked = np.sort(scores)[::-1]
    if budget >= len(ranked):
        return float(ranked[-1])
    # Strictly above the first score past the budget, so ties there do not push the count over it.
    return float(np.nextafter(ranked[budget], np.inf))


def window_rows(tx: TransactionColumns, start: int, end: int) -> npt.NDArray[np.intp]:
    """Every labelled transaction of days [start, end): the traffic an alert budget is spent on."""
    days = days_of(tx)
    return np.flatnonzero((days >= start) & (days < end) & (tx.is_fraud >= 0))


class Trainer:
    def __init__(
        self,
        tx: TransactionColumns,
        matrix: npt.NDArray[np.float32],
        names: tuple[str, ...],
        config: TrainingConfig,
    ) -> None:
        if matrix.shape != (len(tx), len(names)):
            raise ModelError(f"feature matrix is {matrix.shape}, expected ({len(tx)}, {len(names)})")
        if len(tx) == 0:
            raise ModelError("the history is empty")
        self.tx, self.matrix, self.names, self.config = tx, matrix, names, config
        days = days_of(tx)
        self.valid_fold, self.test_folds = config.protocol.folds(int(days.min()), int(days.max()))
        fits = 2 + len(self.test_folds) - 1 + len(config.ablation_groups)
        self._fits = iter(range(1, fits + 1))
        self._fit_count = fits

    def fit_on(self, fold: Fold, names: tuple[str, ...], what: str) -> ModelArtifact:
        rows = train_rows(self.tx, fold)
        labels = self.tx.is_fraud[rows]
        if labels.sum() == 0:
            raise ModelError(f"no fraud in the training window {fold.describe()['train']}")
        columns = np.array([self.names.index(n) for n in names], dtype=np.intp)
        booster = fit(
            self.matrix[np.ix_(rows, columns)],
            labels,
            names,
            self.config.params,
            seed=self.config.seed,
            desc=f"model {next(self._fits)}/{self._fit_count}: {what}",
            nthread=self.config.nthread,
            progress=self.config.progress,
        )
        return candidate(booster, names)

    def assess_on(self, model: ModelArtifact, fold: Fold) -> Assessed:
        rows = assessment_rows(self.tx, fold, self.config.protocol.delay_days)
        return assess(ScoringCore(model, self.names), self.tx, self.matrix, rows)

    def run(self) -> TrainingResult:
        cfg = self.config
        valid_model = self.fit_on(self.valid_fold, self.names, "validation fold")
        validation = self.assess_on(valid_model, self.valid_fold)
        budget_rows = window_rows(self.tx, self.valid_fold.assess_start, self.valid_fold.assess_end)
        valid_scores = ScoringCore(valid_model, self.names).score(self.matrix[budget_rows])
        threshold = budget_threshold(valid_scores, cfg.protocol.valid_days, cfg.alerts_per_day)

        final = self.fit_on(self.test_folds[0], self.names, "test fold 0 (the model saved)")
        tests = [self.assess_on(final, self.test_folds[0])]
        for i, fold in enumerate(self.test_folds[1:], start=1):
            tests.append(self.assess_on(self.fit_on(fold, self.names, f"test fold {i}"), fold))
        ablation = {
            f"without_{group}_features": self.ablate(group_names)
            for group, group_names in cfg.ablation_groups.items()
        }
        metadata = {
            "feature_names": list(self.names),
            "threshold": threshold,
            "threshold_policy": {
                "kind": "alert budget",
                "alerts_per_day": cfg.alerts_per_day,
                "chosen_on": "the validation model's scores on every transaction of the validation window",
            },
            **test_metrics(tests, self.test_folds),
            "validation_metrics": validation.evaluation.metrics(),
            "test_alerting": self.alerting(final, threshold),
            "ablation": ablation,
            "windows": {"validation": self.valid_fold.describe(), **asdict(cfg.protocol)},
            "training_data": self.provenance(tests[0]),
            "training_params": {"seed": cfg.seed, **cfg.params.as_dict()},
            "library_versions": library_versions(),
        }
        return TrainingResult(final.booster, self.names, threshold, metadata, tests[0], validation)

    def ablate(self, left_out: tuple[str, ...]) -> dict[str, float]:
        """Test fold 0 metrics of a model trained like the saved one without the `left_out` features."""
        kept = tuple(n for n in self.names if n not in left_out)
        if not kept:
            raise ModelError("an ablation group holds every feature")
        model = self.fit_on(self.test_folds[0], kept, f"ablation, {len(kept)} features")
        return self.assess_on(model, self.test_folds[0]).evaluation.metrics()

    def alerting(self, model: ModelArtifact, threshold: float) -> dict[str, float]:
        """What the threshold does on test fold 0's window: alerts per day, precision, recall."""
        fold = self.test_folds[0]
        rows = window_rows(self.tx, fold.assess_start, fold.assess_end)
        alerts = ScoringCore(model, self.names).score(self.matrix[rows]) >= threshold
        fraud = self.tx.is_fraud[rows] == 1
        return {
            "alerts_per_day": float(alerts.sum() / (fold.assess_end - fold.assess_start)),
            "precision": float((alerts & fraud).sum() / max(int(alerts.sum()), 1)),
            "recall": float((alerts & fraud).sum() / max(int(fraud.sum()), 1)),
        }

    def provenance(self, test: Assessed) -> dict[str, Any]:
        rows = train_rows(self.tx, self.test_folds[0])
        return {
            "fingerprint": fingerprint(self.tx, rows),
            "rows": len(rows),
            "frauds": int(self.tx.is_fraud[rows].sum()),
            "test_rows": test.evaluation.transactions,
            "test_frauds": test.evaluation.frauds,
        }


def test_metrics(tests: list[Assessed], folds: list[Fold]) -> dict[str, Any]:
    """`metrics`: the mean over the test folds (the Handbook's prequential estimate), with each fold."""
    per_fold = [t.evaluation.metrics() for t in tests]
    keys = per_fold[0].keys()
    return {
        "metrics": {k: float(np.mean([m[k] for m in per_fold])) for k in keys},
        "metrics_std": {k: float(np.std([m[k] for m in per_fold])) for k in keys},
        "metrics_definition": f"mean over {len(tests)} prequential test folds; fold 0 is this model's own",
        "test_folds": [
            {**fold.describe(), **m, "transactions": t.evaluation.transactions, "frauds": t.evaluation.frauds}
            for fold, m, t in zip(folds, per_fold, tests, strict=True)
        ],
    }
