"""The real-time scorer against the real broker and Redis: outputs, dead letters, hot swap, endpoints."""

from __future__ import annotations

import math
import urllib.request
from pathlib import Path

import pytest
from scorer_support import (
    ScorerThread,
    codec,
    make_events,
    make_model,
    read_topic,
    scorer_config,
    send,
    send_events,
    wait_for,
)

from fraudscore.settings import Settings
from models.artifact import set_current

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(test_settings: Settings, tmp_path: Path) -> Settings:
    return test_settings.model_copy(update={"model_dir": tmp_path / "models", "max_wait_ms": 20})


def bad_values(settings: Settings) -> list[tuple[bytes | None, bytes | None, str]]:
    """Malformed inputs of several kinds, each with a word its dead letter's reason must contain."""
    c = codec(settings, "transaction")
    good = c.encode(make_events(1, seed=99)[0])
    nan = dict(make_events(1, seed=98)[0], amount=math.nan)
    negative = dict(make_events(1, seed=97)[0], amount=-5.0)
    return [
        (b"C1", b"", "empty"),
        (b"C1", b"\x07" + good[1:], "magic"),
        (b"C1", good[:1] + b"\x00\x00\x03\xe7" + good[5:], "unknown schema id"),
        (b"C1", good[:-6], "undecodable"),
        (b"C1", good + b"\x00\x00", "trailing"),
        (b"C1", c.encode(nan), "amount"),
        (b"C1", c.encode(negative), "amount"),
        (None, b"\x00\x00", "shorter"),
    ]


def test_every_good_event_gets_one_prediction_and_every_bad_one_a_dead_letter(settings: Settings) -> None:
    artifact = make_model(settings.model_dir)
    events = make_events(3000, seed=1)
    bad = bad_values(settings)
    send_events(settings, events[:1500])
    send(settings, settings.topic_transactions, ((k, v) for k, v, _ in bad))
    send_events(settings, events[1500:])

    cfg = scorer_config(settings, until_idle_s=3.0)
    from consumer.scorer import Scorer

    summary = Scorer(cfg).run()

    predictions = read_topic(settings, settings.topic_predictions, "prediction", expect=len(events))
    assert sorted(p["event_id"] for p in predictions) == sorted(e["event_id"] for e in events)
    assert {p["model_version"] for p in predictions} == {artifact.version}
    assert all(0.0 <= p["score"] <= 1.0 and p["features_missing"] == [] for p in predictions)

    dead = read_topic(settings, settings.topic_dlq, "dead_letter", expect=len(bad))
    assert len(dead) == len(bad)
    by_value = {d["value"]: d for d in dead}
    for key, value, word in bad:
        record = by_value[value]  # the raw bytes come back byte for byte
        assert record["key"] == key
        assert word in record["reason"], (word, record["reason"])
        assert record["topic"] == settings.topic_transactions
        assert record["stage"] in ("decode", "validate")

    alerts = read_topic(settings, settings.topic_alerts, "alert", expect=1)
    alerted = {p["event_id"] for p in predictions if p["is_alert"]}
    assert alerted, "the model flags amounts above 220; some events have them"
    assert {a["event_id"] for a in alerts} == alerted
    assert all(len(a["reasons"]) == 3 and a["reasons"][0]["feature"] == "tx_amount" for a in alerts)
    assert summary.predictions == len(events)
    assert summary.dead_letters == len(bad)


def test_a_new_current_model_is_picked_up_between_batches_without_loss(settings: Settings) -> None:
    first = make_model(settings.model_dir, seed=0)
    before, after = make_events(800, seed=2, prefix="a"), make_events(800, seed=3, prefix="b")
    with ScorerThread(scorer_config(settings)) as running:
        send_events(settings, before)
        wait_for(lambda: running.scorer.summary.predictions >= len(before), 60, "the first events scored")
        second = make_model(settings.model_dir, seed=1, rounds=25)
        set_current(settings.model_dir, second.version)
        wait_for(lambda: running.scorer.models.version == second.version, 30, "the hot reload")
        send_events(settings, after)
        wait_for(lambda: running.scorer.summary.predictions >= len(before) + len(after), 60, "the rest")

    predictions = read_topic(settings, settings.topic_predictions, "prediction", expect=1600)
    versions = {p["event_id"]: p["model_version"] for p in predictions}
    assert len(predictions) == len(versions) == 1600  # none lost, none scored twice
    assert {versions[e["event_id"]] for e in before} == {first.version}
    assert {versions[e["event_id"]] for e in after} == {second.version}


def test_endpoints_report_health_readiness_and_metrics(settings: Settings) -> None:
    from consumer.metrics import serve

    make_model(settings.model_dir)
    with ScorerThread(scorer_config(settings)) as running:
        scorer = running.scorer
        server = serve(0, scorer.metrics, healthy=lambda: True, ready=lambda: scorer.ready)
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            send_events(settings, make_events(200, seed=4))
            wait_for(lambda: scorer.summary.predictions >= 200, 60, "200 predictions")
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
                assert r.status == 200
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
                assert r.status == 200
            with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
                text = r.read().decode()
        finally:
            server.shutdown()
    assert "fraudscore_predictions_total 200.0" in text
    assert f'fraudscore_model_info{{version="{scorer.models.version}"}} 1.0' in text
    assert 'fraudscore_stage_seconds_count{stage="predict"}' in text
    assert "fraudscore_event_to_prediction_seconds_bucket" in text


def test_tail_decodes_what_downstream_services_receive(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from consumer.scorer import Scorer
    from fraudscore.cli import main

    make_model(settings.model_dir)
    events = make_events(40, seed=5)
    events[0]["amount"] = 900.0  # an alert for sure
    send_events(settings, events)
    send(settings, settings.topic_transactions, [(b"C9", b"\x00garbage")])
    Scorer(scorer_config(settings, until_idle_s=2.0)).run()
    capsys.readouterr()

    common = [
        "--bootstrap-servers",
        settings.kafka_bootstrap_servers,
        "--topic-predictions",
        settings.topic_predictions,
        "--topic-alerts",
        settings.topic_alerts,
        "--topic-dlq",
        settings.topic_dlq,
    ]
    assert main([*common, "tail", "predictions", "--from-beginning", "--max", "40", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert sorted(x["event_id"] for x in lines) == sorted(e["event_id"] for e in events)

    assert main([*common, "tail", "alerts", "--from-beginning", "--until-idle", "3"]) == 0
    alert_lines = capsys.readouterr().out.splitlines()
    assert any(events[0]["event_id"] in x and "because tx_amount=900" in x for x in alert_lines)

    assert main([*common, "tail", "dlq", "--from-beginning", "--max", "1"]) == 0
    dlq = capsys.readouterr().out
    assert "stage decode" in dlq
    assert "8 bytes" in dlq
