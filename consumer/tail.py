"""A downstream subscriber: read predictions, alerts or dead letters and print them.

This is the example a downstream team copies: a plain consumer with `read_committed` (so that with the
exactly-once scorer it sees committed outputs only) and the schema files. The rest of fraudscore's it
uses is the settings and `fraudscore.kafka_client` (one line for a down broker, not librdkafka's own).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError

from fraudscore.kafka_client import CONNECT_TIMEOUT_S, OutageReport, check_kafka, reporting
from fraudscore.settings import Settings
from schemas import Codec, DecodeError, open_schema_source

WHAT = {
    "predictions": ("topic_predictions", "prediction"),
    "alerts": ("topic_alerts", "alert"),
    "dlq": ("topic_dlq", "dead_letter"),
}


def _line(what: str, r: dict[str, Any]) -> str:
    if what == "predictions":
        flag = "ALERT" if r["is_alert"] else "ok   "
        return (
            f"{flag} score {r['score']:.4f}  card {r['card_id']}  terminal {r['terminal_id']}  "
            f"amount {r['amount']:>9.2f}  model {r['model_version']}  event {r['event_id']}"
        )
    if what == "alerts":
        why = ", ".join(f"{x['feature']}={x['value']:.4g}" for x in r["reasons"])
        return (
            f"ALERT score {r['score']:.4f}  card {r['card_id']}  amount {r['amount']:.2f}  "
            f"because {why}  event {r['event_id']}"
        )
    size = len(r["value"]) if r["value"] is not None else 0
    return (
        f"DLQ {r['topic']}[{r['partition']}]@{r['offset']}  stage {r['stage']}  {size} bytes  "
        f"reason: {r['reason']}"
    )


def tail(
    settings: Settings,
    what: str,
    from_beginning: bool = False,
    max_records: int | None = None,
    until_idle_s: float | None = None,
    as_json: bool = False,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> int:
    topic_field, stem = WHAT[what]
    codec = Codec(stem, open_schema_source(settings.schema_registry_url))
    topic = getattr(settings, topic_field)
    conf = {
        **settings.kafka_common(),
        "group.id": f"fraudscore-tail-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }
    # A down broker is one line at the start, then a warning at most every 30 s, not librdkafka's stream.
    report = OutageReport(f"tail, Kafka at {settings.kafka_bootstrap_servers}")
    consumer = Consumer(reporting(conf, report))
    seen, last = 0, time.monotonic()
    try:
        check_kafka(consumer, settings.kafka_bootstrap_servers, [topic], connect_timeout_s, report)
        consumer.subscribe([topic])
        while max_records is None or seen < max_records:
            msg = consumer.poll(0.2)
            if msg is None:
                if until_idle_s is not None and time.monotonic() - last >= until_idle_s:
                    break
                continue
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    print(f"# consumer error: {err.str()}", flush=True)
                continue
            last = time.monotonic()
            try:
                record = codec.decode(msg.value())
            except DecodeError as exc:
                print(f"# undecodable record at offset {msg.offset()}: {exc.reason}", flush=True)
                continue
            seen += 1
            if as_json:
                if "value" in record and isinstance(record["value"], bytes):
                    record["value"] = record["value"].hex()
                    record["key"] = record["key"].hex() if record["key"] else None
                print(json.dumps(record), flush=True)
            else:
                print(_line(what, record), flush=True)
    finally:
        consumer.close()
    return 0
