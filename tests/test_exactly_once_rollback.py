"""Exactly-once rollback on a real broker: a batch whose output the broker refuses is aborted and
rewound, not half committed; after a few attempts the scorer stops; fixed, a restart finishes it once.

The refused output is a dead letter larger than the DLQ topic accepts (random bytes, so compression
cannot shrink it below the limit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from delivery_support import (
    Stream,
    assert_exactly_once,
    cluster_settings,
    ensure_all_brokers,
    make_stream,
    read_outputs,
    redis_db,
    run_to_end,
)
from scorer_support import make_model, send, start_scorer_process

from fraudscore.settings import Settings
from fraudscore.stack import local

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

ROLLBACK_DB = 6
DLQ_LIMIT = 64 * 1024


def set_max_message_bytes(settings: Settings, topic: str, size: int) -> None:
    entry = ConfigEntry("max.message.bytes", str(size), incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource("topic", topic, incremental_configs=[entry])
    admin = AdminClient(settings.kafka_common())
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def with_huge_bad_message(stream: Stream, at: int) -> Stream:
    huge = b"\x00" + np.random.default_rng(5).bytes(4 * DLQ_LIMIT)  # no valid schema id, incompressible
    messages = [*stream.messages[:at], (b"bad-huge", huge), *stream.messages[at:]]
    return Stream(stream.events, messages, stream.bad_keys | {b"bad-huge"})


def test_a_refused_output_rolls_the_batch_back_and_a_restart_finishes_it_once(
    kafka_cluster3: local.StackState, redis_url: str, tmp_path: Path
) -> None:
    ensure_all_brokers(kafka_cluster3)
    make_model(tmp_path / "models")
    url = redis_db(redis_url, ROLLBACK_DB)
    settings = cluster_settings(kafka_cluster3, url, tmp_path / "models", tmp_path / "run")
    stream = with_huge_bad_message(make_stream(3000, bad_per_kind=1, seed=51), at=1500)
    set_max_message_bytes(settings, settings.topic_dlq, DLQ_LIMIT)
    send(settings, settings.topic_transactions, stream.messages)
    args = ["--guarantee", "exactly-once", "--max-batch", "200"]
    log = tmp_path / "scorer.log"

    stuck = start_scorer_process(settings, *args, output=log)
    code = stuck.wait(120)
    said = log.read_text()
    assert code == 1, f"the scorer stops on a batch it cannot commit:\n{said[-3000:]}"
    assert "rolled back 5 times in a row" in said, said[-3000:]
    assert "Traceback" not in said, "one line, no traceback"
    before = read_outputs(settings, stream, expect=1)
    assert 0 < len(before.predictions) < len(stream.events), "the batches before the refused one committed"
    assert max(before.predictions.values()) == 1, "aborted attempts are invisible to read_committed"
    assert b"bad-huge" not in before.dead

    set_max_message_bytes(settings, settings.topic_dlq, 16 * DLQ_LIMIT)
    run_to_end(settings, args, log)
    assert_exactly_once(read_outputs(settings, stream), stream)
