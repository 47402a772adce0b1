"""The rules a decoded transaction must meet before it is scored: one function, reused everywhere.

A record can be valid Avro and still be nonsense (NaN amount, empty card id, a time in seconds instead
of milliseconds). `validate_transaction` names the first broken rule, or returns None.
"""

from __future__ import annotations

import math
from typing import Any

MAX_AMOUNT = 1_000_000.0
MAX_ID_LENGTH = 128
# 2000-01-01 and 2100-01-01 in epoch ms: a time outside is a unit bug (seconds, microseconds) or garbage.
MIN_EVENT_TIME_MS = 946_684_800_000
MAX_EVENT_TIME_MS = 4_102_444_800_000
ID_FIELDS = ("event_id", "card_id", "terminal_id")


def validate_transaction(record: dict[str, Any]) -> str | None:
    """The reason this transaction is invalid, or None when it may be scored."""
    for name in ID_FIELDS:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            return f"empty {name}"
        if len(value) > MAX_ID_LENGTH:
            return f"{name} of {len(value)} characters (at most {MAX_ID_LENGTH})"
    amount = record.get("amount")
    if not isinstance(amount, (int, float)) or isinstance(amount, bool):
        return "amount is not a number"
    if math.isnan(amount):
        return "amount is NaN"
    if math.isinf(amount):
        return "amount is infinite"
    if amount < 0:
        return f"negative amount {amount}"
    if amount > MAX_AMOUNT:
        return f"absurd amount {amount} (above {MAX_AMOUNT:.0f})"
    event_time = record.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        return "event_time is not an integer"
    if event_time <= 0:
        return f"event_time {event_time} is not positive"
    if not MIN_EVENT_TIME_MS <= event_time < MAX_EVENT_TIME_MS:
        return f"event_time {event_time} is not epoch milliseconds between 2000 and 2100"
    currency = record.get("currency", "EUR")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isupper()):
        return f"currency {currency!r} is not a 3-letter code"
    return None
