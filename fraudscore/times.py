"""Event times on the command line: ISO 8601 dates and times (UTC unless an offset is given) or epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime

from fraudscore.errors import ConfigError


def parse_time_ms(text: str) -> int:
    """`2026-01-31`, `2026-01-31T12:00`, `2026-01-31T12:00:00+01:00` or `1769860800000` -> epoch ms."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a time: use an ISO date/time (2026-01-31T12:00) or epoch ms"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def format_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
