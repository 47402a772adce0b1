"""The session fixtures hand out real, usable servers and fresh names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from confluent_kafka.admin import AdminClient

from fraudscore.settings import Settings

pytestmark = pytest.mark.integration


def test_new_topic_is_fresh_and_has_the_partitions(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    first, second = new_topic("fx", partitions=2), new_topic("fx")
    assert first != second
    meta = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    assert len(meta.topics[first].partitions) == 2
    assert len(meta.topics[second].partitions) == 1


def test_settings_point_at_created_topics(test_settings: Settings) -> None:
    meta = AdminClient(test_settings.kafka_common()).list_topics(timeout=10)
    names = list(test_settings.topics().values())
    assert len(set(names)) == 5
    for name in names:
        assert len(meta.topics[name].partitions) == 3
    assert test_settings.group_id.startswith("group-")


def test_redis_client_starts_with_an_empty_database(redis_client: redis.Redis[bytes]) -> None:
    assert redis_client.dbsize() == 0
    redis_client.set("leftover", "1")  # the next test's flush must remove this
