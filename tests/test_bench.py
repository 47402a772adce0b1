"""`fraudscore bench` runs end to end on the real servers with tiny sizes and writes its results.

Only that it runs and what it writes are checked: speed is never asserted in a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from scorer_support import make_model

from bench.runner import PAIRS, WARM_UP_EVENTS, WARM_UP_RATE, WARM_UP_TOP_S, BenchPlan
from bench.workload import bench_redis_url
from fraudscore.cli import main


def test_bench_measures_every_phase_and_writes_table_json_png(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis[bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model_dir = tmp_path / "models"
    artifact = make_model(model_dir)
    out = tmp_path / "bench"
    argv = ["--bootstrap-servers", kafka_bootstrap, "--redis-url", redis_url, "--model-dir", str(model_dir)]
    argv += ["bench", "--events", "3000", "--loop-events", "50", "--rates", "300", "--duration", "2"]
    argv += ["--sweep", "500", "--out", str(out)]

    assert main(argv) == 0

    doc = json.loads((out / "bench.json").read_text())
    assert doc["model"].startswith(artifact.version)
    assert set(doc["rates"]) == {
        "scorer, max-batch 1000",
        "scorer, max-batch 500",
        "per-event loop",
        "compute only, 1 core",
    }
    assert all(rate > 0 for rate in doc["rates"].values())
    assert doc["loop"]["events"] == 49  # timed from the end of the first event
    # Scorer and compute alone are measured back to back PAIRS (an odd number of) times; the median
    # pair is reported.
    shares = [
        p["scorer"]["events"] / p["scorer"]["seconds"] / (p["compute"]["events"] / p["compute"]["seconds"])
        for p in doc["pairs"]
    ]
    assert len(shares) == PAIRS == 5
    assert doc["compute_share"] == pytest.approx(sorted(shares)[PAIRS // 2])
    [lat] = doc["latency"]
    assert lat["rate"] == 300
    assert lat["received"] == lat["events"] == 600
    assert 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    # The two parts of the way, split at the prediction's `scored_at`: each shorter than the whole
    # (scored_at is in whole milliseconds, hence the slack).
    assert 0 < lat["p99_to_scored_ms"] <= lat["max_ms"] + 1
    assert 0 < lat["p99_after_scored_ms"] <= lat["max_ms"] + 1
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "bench.md").read_text()
    assert "Command: `fraudscore " in page
    assert "scorer / loop" in page
    assert "bench.png" in page
    printed = capsys.readouterr().out
    assert "per-event loop" in printed
    assert "compute only" in printed
    assert "p99 of each part: send -> scored" in printed
    # The bench leaves its Redis database empty, and never wrote to the one in the settings (flushed
    # by the fixture before the test).
    assert redis.Redis.from_url(bench_redis_url(redis_url)).dbsize() == 0
    assert redis_client.keys("fs:*") == []


def test_latency_phases_warm_up_at_the_top_rate_before_the_measured_ones() -> None:
    plan = BenchPlan(
        events=1000, loop_events=10, rates=[1000, 5000], duration_s=60.0, sweep=[], out=Path("unused")
    )
    phases = plan.live_phases()
    # The join warm-up, then the top rate for WARM_UP_TOP_S, neither counted; then each rate, in order.
    assert phases[:2] == [(WARM_UP_RATE, WARM_UP_EVENTS, True), (5000.0, int(5000 * WARM_UP_TOP_S), True)]
    assert phases[2:] == [(1000.0, 60_000, False), (5000.0, 300_000, False)]
    assert plan.live_events() == sum(n for _, n, _ in phases)
    # A run shorter than the warm-up warms up no longer than it measures.
    short = BenchPlan(events=1000, loop_events=10, rates=[300], duration_s=2.0, sweep=[], out=Path("unused"))
    assert short.live_phases()[1] == (300.0, 600, True)
