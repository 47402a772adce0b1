"""Running a scorer as a service: endpoints, structured logs, live line, and the closing summary."""

from __future__ import annotations

import logging
import time

from consumer.metrics import serve
from consumer.scorer import Scorer
from consumer.status import LiveLine, RunSummary

log = logging.getLogger("fraudscore.scorer")


def serve_scorer(scorer: Scorer) -> RunSummary:
    cfg = scorer.cfg
    server = None
    if cfg.metrics_port is not None:
        server = serve(
            cfg.metrics_port,
            scorer.metrics,
            healthy=lambda: True,
            ready=lambda: scorer.ready,
            host=cfg.metrics_host,
        )
        log.info(
            "endpoints on http://%s:%d (/metrics /healthz /readyz)", cfg.metrics_host, server.server_port
        )
    live = LiveLine()
    lag_every, last_lag = 2.0, 0.0

    def each_batch(s: Scorer) -> None:
        nonlocal last_lag
        now = time.monotonic()
        if now - last_lag >= lag_every:
            last_lag = now
            update_lag(s)
        s.metrics.pending_feature_writes.set(s.features.pending_events)
        live.update(s.summary, "redis degraded" if s.features.degraded else "")

    try:
        return scorer.run(on_batch=each_batch)
    finally:
        live.close()
        if server is not None:
            server.shutdown()


def update_lag(scorer: Scorer) -> None:
    from confluent_kafka import TopicPartition

    parts = [TopicPartition(t, p) for t, p in sorted(scorer.assigned)]
    if not parts:
        return
    for tp in scorer.consumer.position(parts):
        if tp.offset < 0:
            continue
        _low, high = scorer.consumer.get_watermark_offsets(tp, cached=True)
        scorer.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, high - tp.offset))
