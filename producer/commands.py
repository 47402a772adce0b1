"""The handlers of `simulate` and `produce`: plain values in, a summary and an exit code out."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from datetime import UTC, datetime
from types import FrameType

from fraudscore.settings import Settings
from producer.exceptions import SimulationError
from producer.scenarios import SCENARIO_NAMES
from producer.simulator import SimulationConfig, Simulator, concat, start_ms
from producer.streaming import ProduceSummary
from schemas.history import TransactionColumns

DEFAULT_RATE = 1_000.0


def _config(args: argparse.Namespace, days: int | None) -> SimulationConfig:
    return SimulationConfig(
        customers=args.customers,
        terminals=args.terminals,
        days=days,
        seed=args.seed,
        start_ms=start_ms(args.start),
        radius=args.radius,
    )


def _when(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def fraud_report(cols: TransactionColumns) -> list[str]:
    """One line per scenario: count and share of all transactions."""
    n = max(len(cols), 1)
    lines = [f"fraud: {int((cols.is_fraud == 1).sum()):,} ({100 * (cols.is_fraud == 1).sum() / n:.3f} %)"]
    for scenario, name in SCENARIO_NAMES.items():
        k = int((cols.fraud_scenario == scenario).sum())
        lines.append(f"  {scenario} {name:<22} {k:>10,}  {100 * k / n:7.3f} %")
    return lines


def simulate_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from schemas.history import write_history

    config = _config(args, args.days)
    t0 = time.perf_counter()
    parts: list[TransactionColumns] = []
    simulator = Simulator(config)
    with tqdm(total=config.days, unit="day", desc="simulating", file=sys.stderr) as bar:
        for day in simulator.days():
            parts.append(day)
            bar.update(1)
            bar.set_postfix(transactions=f"{sum(len(p) for p in parts):,}", refresh=False)
    cols = concat(parts)
    simulated = time.perf_counter() - t0
    print(f"writing {len(cols):,} transactions to {args.out} ...", file=sys.stderr)
    write_history(args.out, cols)
    written = time.perf_counter() - t0 - simulated
    print(
        f"{len(cols):,} transactions, {config.customers:,} customers, {config.terminals:,} terminals, "
        f"{config.days} days from {_when(int(cols.event_time[0]) if len(cols) else None)}, seed {config.seed}"
    )
    for line in fraud_report(cols):
        print(line)
    size_mb = args.out.stat().st_size / 1e6
    print(f"simulated in {simulated:.1f} s, written in {written:.1f} s: {args.out} ({size_mb:.1f} MB)")
    return 0


class _StopFlag:
    """Ctrl-C asks the loop to stop and flush; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.stopped = False
        self._previous = signal.getsignal(signal.SIGINT)

    def __enter__(self) -> _StopFlag:
        signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = True
        signal.signal(signal.SIGINT, self._previous)

    def __call__(self) -> bool:
        return self.stopped


def _progress_line(s: ProduceSummary) -> None:
    in_flight = s.sent + s.labels_sent - s.delivered - s.labels_delivered - s.failed - s.labels_failed
    line = (
        f"sent {s.sent:,} (bad {sum(s.bad.values()):,}) · labels {s.labels_sent:,} · "
        f"{s.rate:,.0f} ev/s · sim {_when(s.last_event_time)} · in flight {in_flight:,} · "
        f"failed {s.failed + s.labels_failed:,}"
    )
    end = "" if sys.stderr.isatty() else "\n"
    print(f"\r{line}\x1b[K" if end == "" else line, end=end, file=sys.stderr, flush=True)


def _print_summary(s: ProduceSummary, as_json: bool) -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if as_json:
        print(json.dumps(s.as_dict()))
        return
    state = "interrupted, flushed" if s.interrupted else "done"
    print(f"produce {state}: {s.elapsed_s:.1f} s, rate achieved {s.rate:,.1f} events/s")
    print(f"  transactions: sent {s.sent:,}, delivered {s.delivered:,}, failed {s.failed:,}")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(s.bad.items())) or "none"
    print(f"  bad injected: {sum(s.bad.values()):,} ({kinds})")
    print(
        f"  labels: sent {s.labels_sent:,}, delivered {s.labels_delivered:,}, failed {s.labels_failed:,}, "
        f"not yet due {s.labels_pending:,}"
    )
    print(f"  simulated time: {_when(s.first_event_time)} → {_when(s.last_event_time)}")
    if s.first_error:
        print(f"  first error: {s.first_error}")


def produce_command(args: argparse.Namespace, settings: Settings) -> int:
    from producer.events import EventStream
    from producer.labels import LabelFeed
    from producer.pacing import Pacer, RatePacer, SpeedupPacer
    from producer.publisher import Publisher
    from producer.streaming import Limits, ProduceLoop
    from schemas import Codec, open_schema_source

    if args.count is not None and args.count < 0:
        raise SimulationError("--count must be >= 0")
    if args.duration is not None and args.duration <= 0:
        raise SimulationError("--duration must be positive")
    if not 0.0 <= args.bad_fraction <= 1.0:
        raise SimulationError("--bad-fraction must be within [0, 1]")
    if (args.rate is not None and args.rate < 0) or (args.speedup is not None and args.speedup <= 0):
        raise SimulationError("--rate must be >= 0 and --speedup > 0")
    config = _config(args, None)
    source = open_schema_source(settings.schema_registry_url)
    tx_codec, label_codec = Codec("transaction", source), Codec("label", source)
    publisher = Publisher(settings.kafka_common())
    publisher.check([settings.topic_transactions, settings.topic_labels], args.connect_timeout)

    simulator = Simulator(config)
    stream = EventStream(simulator.days(), tx_codec, bad_fraction=args.bad_fraction, seed=config.seed)
    clock = time.monotonic
    pacer: Pacer = (
        SpeedupPacer(args.speedup, config.start_ms, clock)
        if args.speedup is not None
        else RatePacer(DEFAULT_RATE if args.rate is None else args.rate, clock)
    )
    with _StopFlag() as stop:
        loop = ProduceLoop(
            publisher,
            pacer,
            LabelFeed(label_codec, settings.label_delay_days),
            settings.topic_transactions,
            settings.topic_labels,
            clock,
            stop=stop,
            progress=_progress_line,
        )
        summary = loop.run(stream, Limits(args.count, args.duration), args.flush_timeout)
    _print_summary(summary, args.json)
    return 0 if summary.ok else 1


__all__ = ["fraud_report", "produce_command", "simulate_command"]
