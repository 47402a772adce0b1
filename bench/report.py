"""The results: one table on the terminal, JSON, a PNG, and a Markdown page with the exact command."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.latency import Latency
from bench.throughput import Throughput

TARGET_LOOP_RATIO = 30.0
TARGET_COMPUTE_SHARE = 0.60
TARGET_P99_MS = 50.0
TARGET_RATE = 5000.0


@dataclass(frozen=True)
class Pair:
    """The scorer over the backlog and the compute alone over the same events, measured back to back."""

    scorer: Throughput
    compute: Throughput

    @property
    def share(self) -> float:
        return self.scorer.rate / self.compute.rate if self.compute.rate > 0 else float("nan")


def median_pair(pairs: list[Pair]) -> Pair:
    """The pair with the median share (the lower of the two middle ones for an even count)."""
    return sorted(pairs, key=lambda p: p.share)[(len(pairs) - 1) // 2]


@dataclass
class Results:
    command: str
    model: str
    events: int
    scorer: Throughput  # the default max-batch
    sweep: list[Throughput]
    loop: Throughput
    compute: Throughput
    latency: list[Latency] = field(default_factory=list)
    when: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    load: list[float] = field(default_factory=list)  # 1-minute load average at the start of each phase
    pairs: list[Pair] = field(default_factory=list)  # scorer and compute alone, back to back

    @property
    def loop_ratio(self) -> float:
        return self.scorer.rate / self.loop.rate

    @property
    def compute_share(self) -> float:
        return Pair(self.scorer, self.compute).share  # the reported pair's, computed as every pair's

    def verdicts(self) -> list[tuple[str, bool]]:
        out = [
            (f"scorer >= {TARGET_LOOP_RATIO:.0f}x the per-event loop", self.loop_ratio >= TARGET_LOOP_RATIO),
            (
                f"scorer >= {TARGET_COMPUTE_SHARE:.0%} of compute alone",
                self.compute_share >= TARGET_COMPUTE_SHARE,
            ),
        ]
        for lat in self.latency:
            if lat.rate == TARGET_RATE:
                out.append(
                    (f"p99 < {TARGET_P99_MS:.0f} ms at {lat.rate:,.0f} events/s", lat.p99_ms < TARGET_P99_MS)
                )
        return out

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["rates"] = {t.label: t.rate for t in [self.scorer, *self.sweep, self.loop, self.compute]}
        doc["loop_ratio"] = self.loop_ratio
        doc["compute_share"] = self.compute_share
        doc["machine"] = machine()
        doc["targets_met"] = dict(self.verdicts())
        return doc


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), Python {python}, broker and Redis on the same machine"


def table(r: Results) -> list[str]:
    rows = [("figure", "value", "ratio")]
    for t in [r.scorer, *[s for s in r.sweep if s.label != r.scorer.label]]:
        rows.append((t.label, f"{t.rate:,.0f} events/s", ""))
    rows.append((r.loop.label, f"{r.loop.rate:,.0f} events/s", f"scorer / loop = {r.loop_ratio:.1f}x"))
    rows.append(
        (r.compute.label, f"{r.compute.rate:,.0f} events/s", f"scorer / compute = {r.compute_share:.0%}")
    )
    if len(r.pairs) > 1:
        shares = ", ".join(f"{p.share:.0%}" for p in r.pairs)
        rows.append(("scorer / compute, each pair", shares, "the median pair is the one above"))
    for lat in r.latency:
        rows.append(
            (
                f"latency at {lat.rate:,.0f} events/s",
                f"p50 {lat.p50_ms:.1f} ms, p99 {lat.p99_ms:.1f} ms",
                f"max {lat.max_ms:.0f} ms, {lat.received:,}/{lat.events:,} back, "
                f"sent at {lat.achieved_rate:,.0f}/s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def stage_lines(r: Results) -> list[str]:
    def fmt(t: Throughput) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in t.stage_us.items())

    return [
        f"scorer, us per event by stage:  {fmt(r.scorer)}",
        f"compute, us per event by stage: {fmt(r.compute)}",
        *[
            f"latency at {lat.rate:,.0f} events/s, p99 of each part: send -> scored "
            f"{lat.p99_to_scored_ms:.1f} ms, scored -> read {lat.p99_after_scored_ms:.1f} ms"
            for lat in r.latency
        ],
    ]


def markdown(r: Results, png_name: str) -> str:
    head = ["| figure | value | ratio |", "| --- | --- | --- |"]
    body = [f"| {' | '.join(c.strip() for c in line.split('  ') if c.strip())} |" for line in table(r)[2:]]
    verdicts = [f"- {'met' if ok else 'MISSED'}: {what}" for what, ok in r.verdicts()]
    return "\n".join(
        [
            f"Command: `{r.command}`",
            "",
            f"Run {r.when} on {machine()}; model {r.model}; {r.events:,} backlog events; "
            f"1-minute load average at the phases: {', '.join(f'{x:.1f}' for x in r.load)}.",
            "",
            *head,
            *body,
            "",
            *verdicts,
            "",
            *[f"- {line}" for line in stage_lines(r)],
            "",
            f"![throughput and latency]({png_name})",
            "",
        ]
    )


def plot(r: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    bars = [*r.sweep, r.loop, r.compute]
    colors = ["tab:blue"] * len(r.sweep) + ["tab:red", "tab:gray"]
    left.barh([t.label for t in bars], [t.rate for t in bars], color=colors)
    for i, t in enumerate(bars):
        left.text(t.rate, i, f" {t.rate:,.0f}", va="center", fontsize=8)
    left.set_xlabel("events per second")
    left.set_title("Throughput over a backlog")
    left.invert_yaxis()
    names = [f"{lat.rate:,.0f}/s" for lat in r.latency]
    x = range(len(r.latency))
    for offset, (label, attr) in enumerate((("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))):
        right.bar(
            [i + (offset - 1) * 0.27 for i in x], [getattr(lat, attr) for lat in r.latency], 0.27, label=label
        )
    right.axhline(TARGET_P99_MS, color="tab:red", linestyle="--", linewidth=1, label="p99 target")
    right.set_xticks(list(x), names)
    right.set_xlabel("input rate")
    right.set_ylabel("event to prediction, ms")
    right.set_title("Latency at fixed input rates")
    right.legend()
    fig.suptitle(f"fraudscore bench, {r.when}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(r: Results, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "bench.json", out / "bench.png", out / "bench.md"]
    paths[0].write_text(json.dumps(r.as_dict(), indent=2) + "\n")
    plot(r, paths[1])
    paths[2].write_text(markdown(r, paths[1].name))
    return paths
