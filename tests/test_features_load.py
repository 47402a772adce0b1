"""`fraudscore features load`: warming the store from a history file (real Redis)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

from features import cli
from features.definition import DAY_MS
from features.exceptions import FeatureInputError
from features.offline import compute_features
from features.online import OnlineFeatureStore
from features.synthetic import generate
from fraudscore.settings import Settings, load_settings
from schemas.history import UNLABELLED, write_history


def _run(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    handler: Any = args.handler
    return int(handler(args, settings))


@pytest.mark.integration
def test_load_then_score_continues_the_history(
    redis_client: redis.Redis[bytes], redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tx = generate(8000, days=60, cards=80, terminals=50, seed=21)
    cut = int(np.searchsorted(tx.event_time, tx.event_time[0] + 50 * DAY_MS))
    history, later = tx.take(slice(0, cut)), tx.take(slice(cut, cut + 50))
    path = tmp_path / "history.avro"
    write_history(path, history)
    settings = load_settings(redis_url=redis_url)

    assert _run(["features", "load", "--history", str(path)], settings) == 0
    assert "fraud labels" in capsys.readouterr().out
    state = {k: redis_client.get(k) for k in redis_client.scan_iter(match="fs:[ct]:*")}
    assert _run(["features", "load", "--history", str(path)], settings) == 0
    assert {k: redis_client.get(k) for k in redis_client.scan_iter(match="fs:[ct]:*")} == state

    # What the store knows after the load: every transaction, and the labels older than the delay.
    last = int(history.event_time.max())
    is_fraud = np.where(tx.event_time < last - 7 * DAY_MS, tx.is_fraud, UNLABELLED).astype(np.int8)
    want = compute_features(replace(tx, is_fraud=is_fraud))[cut : cut + 50]
    np.testing.assert_allclose(OnlineFeatureStore(redis_client).read(later), want, rtol=1e-5, atol=1e-6)


def test_a_missing_history_file_is_one_readable_error(tmp_path: Path) -> None:
    with pytest.raises(FeatureInputError, match="no history file"):
        _run(["features", "load", "--history", str(tmp_path / "nope.avro")], load_settings())
    (tmp_path / "junk.avro").write_bytes(b"not avro at all")
    with pytest.raises(FeatureInputError, match="not a history file"):
        _run(["features", "load", "--history", str(tmp_path / "junk.avro")], load_settings())
