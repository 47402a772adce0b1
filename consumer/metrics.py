"""Prometheus metrics of the scorer, and one HTTP port serving /metrics, /healthz and /readyz."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:  # annotations only: the metrics module stays light to import
    from consumer.config import Topics
    from consumer.decode import DecodedBatch

STAGES = ("collect", "decode", "features", "predict", "produce", "feature_write", "commit")
LATENCY_SAMPLES = 32  # event latencies observed per batch
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ScorerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_in = Counter("fraudscore_events_in", "Messages consumed", ["topic"], registry=r)
        self.predictions = Counter("fraudscore_predictions", "Predictions produced", registry=r)
        self.alerts = Counter("fraudscore_alerts", "Alerts produced", registry=r)
        self.dead_letters = Counter("fraudscore_dead_letters", "DLQ records", ["stage"], registry=r)
        self.redis_errors = Counter("fraudscore_redis_errors", "Failed Redis calls", registry=r)
        self.read_ahead = Counter(
            "fraudscore_read_ahead_batches", "Batches taken while the one before waited for Redis", registry=r
        )
        self.missing_feature_events = Counter(
            "fraudscore_missing_feature_events", "Events scored with features missing", registry=r
        )
        self.batch_size = Histogram(
            "fraudscore_batch_size",
            "Messages per batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
            registry=r,
        )
        self.stage_seconds = Histogram(
            "fraudscore_stage_seconds",
            "Time per batch in each stage",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.event_latency = Histogram(
            "fraudscore_event_to_prediction_seconds",
            "From the input's Kafka timestamp to its prediction being confirmed",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.lag = Gauge(
            "fraudscore_consumer_lag", "Messages behind the log end", ["topic", "partition"], registry=r
        )
        self.model_info = Gauge("fraudscore_model_info", "The model in service", ["version"], registry=r)
        self.pending_feature_writes = Gauge(
            "fraudscore_pending_feature_writes", "Feature updates queued while Redis is down", registry=r
        )

    def set_model(self, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(version=version).set(1)

    def observe_batch(self, batch: DecodedBatch, predictions: int, alerts: int, topics: Topics) -> None:
        """A batch made durable: its counts, and the event-time latency of a sample of its events."""
        self.batch_size.observe(batch.size)
        self.predictions.inc(predictions)
        self.alerts.inc(alerts)
        now_ms = time.time() * 1000
        # A bounded sample per batch: observing every event would cost more than scoring it.
        stamps = batch.arrived_ms
        for stamp in stamps[:: max(1, len(stamps) // LATENCY_SAMPLES)].tolist():
            self.event_latency.observe(max(0.0, now_ms - stamp) / 1000)
        labels = batch.label_count
        self.events_in.labels(topics.transactions).inc(batch.size - labels)
        if labels:
            self.events_in.labels(topics.labels).inc(labels)


def serve(
    port: int,
    metrics: ScorerMetrics,
    healthy: Callable[[], bool],
    ready: Callable[[], bool],
    host: str = "127.0.0.1",
) -> ThreadingHTTPServer:
    """Start the endpoints on host:port in a daemon thread (port 0 picks a free one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                ok = healthy()
                self._reply(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n")
            elif self.path == "/readyz":
                ok = ready()
                self._reply(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
            else:
                self._reply(404, b"not found\n")

        def _reply(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every few seconds would drown the scorer's own log

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
