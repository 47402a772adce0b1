"""The output sink against the real broker: a delivery the broker refuses is reported and retried."""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from consumer.exceptions import DeliveryError
from consumer.sink import OutputSink

pytestmark = pytest.mark.integration


def test_an_output_the_broker_refuses_is_reported_retried_then_raised(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"sink-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    refusing = NewTopic(topic, num_partitions=1, replication_factor=1, config={"max.message.bytes": "2000"})
    admin.create_topics([refusing])[topic].result(timeout=30)
    try:
        conf = {"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "compression.type": "lz4"}
        sink = OutputSink({**conf, "delivery.report.only.error": True}, flush_timeout_s=30)
        sink.send(topic, b"small", b"fits")
        sink.confirm()  # delivered: no failure reported
        sink.send(topic, b"big", os.urandom(5000))  # random bytes: lz4 cannot bring them under the limit
        with caplog.at_level(logging.WARNING, logger="consumer.sink"), pytest.raises(DeliveryError):
            sink.confirm()
        # Each round's failure came back through the producer's delivery callback and was sent again.
        failures = [r.getMessage().split(" (")[0] for r in caplog.records if r.name == "consumer.sink"]
        assert failures == ["delivery failed for 1 outputs"] * 3
    finally:
        admin.delete_topics([topic])
