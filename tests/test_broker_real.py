"""The broker under test is a real Kafka: transactions, fencing and replication behave as in production.

librdkafka's mock cluster would pass none of the first two: it shows aborted records to read_committed
readers and does not fence a zombie producer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from fraudscore.stack import local

pytestmark = pytest.mark.integration

FENCED = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}


def read_values(bootstrap: str, topic: str, until: bytes, timeout_s: float = 30.0) -> list[bytes]:
    """Every value a read_committed consumer sees from the start of `topic` up to the value `until`."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            value = msg.value()
            assert value is not None
            seen.append(value)
            if value == until:
                return seen
    finally:
        consumer.close()
    raise AssertionError(f"{until!r} not read from {topic} within {timeout_s} s; saw {seen}")


def transactional(bootstrap: str, txn_id: str) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    producer.init_transactions(30)
    return producer


def test_aborted_transaction_is_invisible_to_read_committed(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("txn")
    producer = transactional(kafka_bootstrap, f"abort-{uuid.uuid4().hex}")
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, f"aborted-{i}".encode())
    producer.flush(10)
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, b"committed")
    producer.commit_transaction(30)

    assert read_values(kafka_bootstrap, topic, until=b"committed") == [b"committed"]


def test_second_producer_with_same_transactional_id_fences_the_first(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("fence")
    txn_id = f"fence-{uuid.uuid4().hex}"
    zombie = transactional(kafka_bootstrap, txn_id)
    zombie.begin_transaction()
    zombie.produce(topic, b"from-zombie")
    zombie.flush(10)

    successor = transactional(kafka_bootstrap, txn_id)  # bumps the epoch, aborting the zombie's work
    zombie.produce(topic, b"zombie-again")  # only queued: the zombie learns of the fence on commit
    with pytest.raises(KafkaException) as caught:
        zombie.commit_transaction(30)
    assert caught.value.args[0].code() in FENCED

    successor.begin_transaction()
    successor.produce(topic, b"from-successor")
    successor.commit_transaction(30)
    assert read_values(kafka_bootstrap, topic, until=b"from-successor") == [b"from-successor"]


def test_redis_round_trip(redis_client: redis.Redis[bytes]) -> None:
    redis_client.hset("card:C1", mapping={"count_1d": 3, "mean_1d": 12.5})
    redis_client.expire("card:C1", 60)
    assert redis_client.hgetall("card:C1") == {b"count_1d": b"3", b"mean_1d": b"12.5"}
    assert 0 < redis_client.ttl("card:C1") <= 60


@pytest.mark.cluster
def test_rf3_topic_takes_and_serves_writes_with_one_broker_down(kafka_cluster3: local.StackState) -> None:
    from fraudscore.stack.topics import create_topics

    bootstrap = kafka_cluster3.bootstrap_servers
    topic = f"rf3-{uuid.uuid4().hex[:8]}"
    create_topics({"bootstrap.servers": bootstrap}, [topic], partitions=3, replication_factor=3)

    assert local.stop_process(kafka_cluster3, "kafka-2")
    assert not local.stop_process(kafka_cluster3, "kafka-2")  # already down: nothing to stop

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    errors: list[KafkaError] = []

    def delivered(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            errors.append(err)

    values = [f"v{i}".encode() for i in range(30)]
    for value in values:
        producer.produce(topic, value, callback=delivered)
    assert producer.flush(60) == 0
    assert errors == []

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rf3-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < len(values) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            got_value = None if msg is None or msg.error() else msg.value()
            if got_value is not None:
                got.append(got_value)
    finally:
        consumer.close()
    assert sorted(got) == sorted(values)
