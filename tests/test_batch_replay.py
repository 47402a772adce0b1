"""Streaming, replay and batch give the same score for every event, with the same model (real servers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import redis
import xgboost as xgb
from scorer_support import codec, read_topic, scorer_config, send, topic_count

from batch.replay import ReplayPlan, replay
from consumer.scorer import Scorer
from features.definition import DAY_MS, FEATURE_NAMES
from features.offline import compute_features
from features.online import OnlineFeatureStore
from fraudscore.cli import main
from fraudscore.settings import Settings
from models.artifact import save_artifact, set_current
from producer.simulator import SimulationConfig, simulate
from schemas import open_schema_source
from schemas.history import TransactionColumns, write_history

pytestmark = pytest.mark.integration


def _train(model_dir: Path, tx: TransactionColumns) -> str:
    """A real model on the history's own offline features, so that every feature group matters."""
    x = compute_features(tx)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "seed": 0, "nthread": 1},
        xgb.DMatrix(x, label=tx.is_fraud, feature_names=list(FEATURE_NAMES)),
        30,
    )
    metrics = {"auc_roc": 0.0, "average_precision": 0.0, "card_precision_at_100": 0.0}
    artifact = save_artifact(
        model_dir, booster, {"feature_names": list(FEATURE_NAMES), "threshold": 0.5, "metrics": metrics}
    )
    set_current(model_dir, artifact.version)
    return artifact.version


def _labels(tx: TransactionColumns) -> list[dict[str, object]]:
    return [
        {
            "event_id": str(tx.event_id[i]),
            "card_id": str(tx.card_id[i]),
            "terminal_id": str(tx.terminal_id[i]),
            "event_time": int(tx.event_time[i]),
            "label_time": int(tx.event_time[i]) + 7 * DAY_MS,
            "is_fraud": bool(tx.is_fraud[i]),
            "fraud_scenario": int(tx.fraud_scenario[i]),
        }
        for i in range(len(tx))
    ]


def test_stream_replay_and_batch_give_every_event_the_same_score(
    test_settings: Settings,
    new_topic: Callable[..., str],
    redis_client: redis.Redis[bytes],
    tmp_path: Path,
) -> None:
    # 36 days: within the store's horizon (30 + 7 days + slack), so labels written up front, days ahead
    # of the stream (they come after their transactions in production), trim nothing still in use.
    tx = simulate(SimulationConfig(customers=100, terminals=200, days=36, seed=3))
    assert len(tx) > 5000
    # One partition: a terminal's events from many cards then reach the live store in event-time order,
    # which is when the online features are exactly the offline ones (docs/features.md).
    settings = test_settings.model_copy(
        update={"topic_transactions": new_topic("tx", 1), "model_dir": tmp_path / "models", "max_wait_ms": 20}
    )
    version = _train(settings.model_dir, tx)

    label_codec, tx_codec = codec(settings, "label"), codec(settings, "transaction")
    labels = _labels(tx)
    send(
        settings, settings.topic_labels, ((str(r["card_id"]).encode(), label_codec.encode(r)) for r in labels)
    )
    # Labels arrive days after their transactions; here they are all known up front, in Redis too, which
    # is what the offline computation assumes (a label is known once its delay has passed).
    OnlineFeatureStore(redis_client).record_labels(tx)
    send(
        settings,
        settings.topic_transactions,
        ((r["card_id"].encode(), tx_codec.encode(r)) for r in tx.records()),
    )

    Scorer(scorer_config(settings, until_idle_s=3.0, max_batch=500)).run()
    live = {
        p["event_id"]: p["score"]
        for p in read_topic(settings, settings.topic_predictions, "prediction", len(tx))
    }
    assert len(live) == len(tx)

    # Batch, from a history file.
    history, out = tmp_path / "history.avro", tmp_path / "scores.parquet"
    write_history(history, tx)
    assert (
        main(["--model-dir", str(settings.model_dir), "batch", "--input", str(history), "--output", str(out)])
        == 0
    )
    table = pq.read_table(out).to_pydict()
    assert set(table["model_version"]) == {version}
    batch_diff = np.abs(np.array(table["score"]) - np.array([live[e] for e in table["event_id"]]))
    assert len(table["event_id"]) == len(tx)
    assert batch_diff.max() < 1e-6, f"batch and stream disagree by up to {batch_diff.max()}"

    # Replay, from the topics, over the last 16 days (with its look-back read from before them).
    t_from = int(tx.event_time.min()) + 20 * DAY_MS
    t_to = int(tx.event_time.max()) + 1
    plan = ReplayPlan(
        kafka=settings.kafka_common(),
        transactions_topic=settings.topic_transactions,
        labels_topic=settings.topic_labels,
        live_predictions_topic=settings.topic_predictions,
        live_topics=tuple(settings.topics().values()),
        output_topic=new_topic("replay", 3),
        model_dir=settings.model_dir,
        model_version=None,
        label_delay_days=7,
        t_from=t_from,
        t_to=t_to,
    )
    alerts_before = topic_count(settings, settings.topic_alerts)
    summary = replay(plan, open_schema_source(None), lambda _n: None)
    assert topic_count(settings, settings.topic_alerts) == alerts_before, "a replay fires no alert"
    in_range = int(((tx.event_time >= t_from) & (tx.event_time < t_to)).sum())
    assert summary.events == in_range
    assert summary.compared == in_range
    assert summary.max_abs_diff < 1e-6
    assert summary.alert_flips == 0
    replayed = read_topic(settings, plan.output_topic, "prediction", in_range)
    assert sorted(p["event_id"] for p in replayed) == sorted(
        str(e) for e in tx.event_id[(tx.event_time >= t_from) & (tx.event_time < t_to)]
    )


def test_replay_refuses_live_topics_and_empty_ranges(
    test_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    for output, t_from, t_to, words in (
        (test_settings.topic_alerts, "2026-01-01", "2026-01-02", "live topic"),
        ("predictions-replay-x", "2026-01-02", "2026-01-01", "before"),
        ("predictions-replay-x", "yesterday", "2026-01-01", "not a time"),
    ):
        rc = main(
            [
                "--bootstrap-servers",
                test_settings.kafka_bootstrap_servers,
                "--topic-alerts",
                test_settings.topic_alerts,
                "replay",
                "--from",
                t_from,
                "--to",
                t_to,
                "--output-topic",
                output,
            ]
        )
        err = capsys.readouterr().err
        assert rc != 0
        assert words in err
        assert "Traceback" not in err
