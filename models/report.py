"""The training report beside the artifact: report.md with the metrics and ablation, and four PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models.metrics import precision_recall_curve, roc_curve
from models.pipeline import TrainingResult

PLOTS = ("roc.png", "precision_recall.png", "score_distribution.png", "feature_importance.png")
METRIC_LABELS = {
    "auc_roc": "AUC ROC",
    "average_precision": "Average precision",
    "card_precision_at_100": "Card precision@100",
}


def write_plots(result: TrainingResult, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    test, valid = result.test, result.validation
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, part in (("test", test), ("validation", valid)):
        fpr, tpr = roc_curve(part.labels, part.scores)
        ax.plot(fpr, tpr, label=f"{name} (AUC {part.evaluation.auc_roc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")
    fig.savefig(out / PLOTS[0], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    for name, part in (("test", test), ("validation", valid)):
        precision, recall, _ = precision_recall_curve(part.labels, part.scores)
        ax.step(recall, precision, where="post", label=f"{name} (AP {part.evaluation.average_precision:.3f})")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower left")
    fig.savefig(out / PLOTS[1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0.0, 1.0, 51).tolist()
    ax.hist(test.scores[test.labels == 0], bins=bins, alpha=0.6, label="genuine", log=True)
    ax.hist(test.scores[test.labels == 1], bins=bins, alpha=0.6, label="fraud", log=True)
    ax.axvline(result.threshold, color="black", linestyle="--", label=f"threshold {result.threshold:.3f}")
    ax.set(xlabel="score", ylabel="transactions (log)", title="Test score distribution")
    ax.legend()
    fig.savefig(out / PLOTS[2], dpi=100, bbox_inches="tight")
    plt.close(fig)

    gain = result.booster.get_score(importance_type="total_gain")
    names = sorted(result.feature_names, key=lambda n: gain.get(n, 0.0))
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1))
    ax.barh(names, [gain.get(n, 0.0) for n in names])
    ax.set(xlabel="total gain", title="Feature importance")
    fig.savefig(out / PLOTS[3], dpi=100, bbox_inches="tight")
    plt.close(fig)


def _metrics_table(rows: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| model | " + " | ".join(METRIC_LABELS.values()) + " |", "| --- | --- | --- | --- |"]
    for name, metrics in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{metrics[k]:.4f}" for k in METRIC_LABELS) + " |")
    return lines


def write_report(result: TrainingResult, meta: dict[str, Any], out: Path, command: str) -> Path:
    """Writes report.md and the plots into `out` (the version directory); returns the report's path."""
    write_plots(result, out)
    windows, data, policy = meta["windows"], meta["training_data"], meta["threshold_policy"]
    alerting, folds = meta["test_alerting"], meta["test_folds"]
    rows = {f"mean of {len(folds)} test folds": meta["metrics"]}
    rows |= {f"test fold {i} ({f['assess']})": f for i, f in enumerate(folds)}
    rows |= {"validation fold": meta["validation_metrics"]}
    rows |= {f"fold 0, {name.replace('_', ' ')}": m for name, m in meta["ablation"].items()}
    lines = [
        f"# Model {meta['version']}",
        "",
        f"Trained by `{command}` at {meta['created_at']}.",
        "",
        "## Protocol (Fraud Detection Handbook)",
        "",
        f"- this model: trained on {folds[0]['train']} ({data['rows']} labelled transactions, "
        f"{data['frauds']} frauds), then a {windows['delay_days']}-day gap (the label delay), "
        f"tested on {folds[0]['assess']} ({data['test_rows']} transactions, {data['test_frauds']} frauds)",
        f"- {len(folds)} prequential test folds of {windows['test_days']} days, each trained the same way "
        f"on its own {windows['train_days']}-day window; the metrics are their mean",
        f"- test rows leave out cards known compromised: a fraud in the {windows['known_days']} days "
        "before the gap, or a fraud label arrived by the test day",
        f"- validation fold (threshold): trained on {windows['validation']['train']}, "
        f"validated on {windows['validation']['assess']}",
        f"- training data fingerprint `{data['fingerprint']}`",
        "",
        "## Metrics",
        "",
        *_metrics_table(rows),
        "",
        "## Alert threshold",
        "",
        f"Policy: an alert budget of {policy['alerts_per_day']} alerts per day, set on "
        f"{policy['chosen_on']}: threshold **{meta['threshold']:.6f}**.",
        f"On test fold 0 it raises {alerting['alerts_per_day']:.1f} alerts per day, with precision "
        f"{alerting['precision']:.3f} and recall {alerting['recall']:.3f} (per transaction).",
        "",
        "## Plots (test fold 0 and the validation fold)",
        "",
        *[f"![{p.removesuffix('.png')}]({p})" for p in PLOTS],
        "",
        "## Training parameters",
        "",
        "```",
        *[f"{k}: {v}" for k, v in meta["training_params"].items()],
        "```",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
