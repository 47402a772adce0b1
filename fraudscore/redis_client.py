"""One way to open Redis: bounded timeouts, and errors that never show the password."""

from __future__ import annotations

import redis

from fraudscore.errors import ServiceUnavailableError
from fraudscore.settings import redact_url


def connect_redis(url: str, timeout_s: float = 2.0, check: bool = True) -> redis.Redis[bytes]:
    """A client for `url`; with `check`, fails in one line when the server does not answer."""
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    if check:
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            raise ServiceUnavailableError(
                f"Redis at {redact_url(url)} is not reachable ({type(exc).__name__})"
            ) from None
    return client
