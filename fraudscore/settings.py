"""Every setting, read once at the entry point into one frozen object.

Sources, later wins: defaults, environment (`KAFKA_BOOTSTRAP_SERVERS`, `REDIS_URL`, `FRAUDSCORE_*`),
CLI flags. Code below the entry point receives the values it needs as arguments, never this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraudscore.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUDSCORE_", frozen=True, extra="forbid")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    redis_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"),
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
    )
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    schema_registry_url: str | None = None

    topic_transactions: str = "transactions"
    topic_predictions: str = "predictions"
    topic_alerts: str = "fraud-alerts"
    topic_labels: str = "fraud-labels"
    topic_dlq: str = "transactions-dlq"

    run_dir: Path = Path("var/run")
    model_dir: Path = Path("artifacts/models")

    group_id: str = "fraudscore-scorer"
    guarantee: Literal["at-least-once", "exactly-once"] = "at-least-once"
    max_batch: int = Field(1000, ge=1, le=100_000)
    # Small by default: at moderate rates a batch closes on time, not size, so this bounds the latency;
    # under a backlog batches fill to max_batch at once whatever this is.
    max_wait_ms: int = Field(5, ge=0, le=60_000)
    label_delay_days: int = Field(7, ge=0, le=60)
    redis_retry_budget_ms: int = Field(2000, ge=0)
    on_redis_down: Literal["score-missing", "pause"] = "score-missing"
    metrics_port: int = Field(9108, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so a port mapping can reach it

    def kafka_common(self) -> dict[str, Any]:
        """librdkafka settings every client shares: the connection and, when set, SASL."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            conf["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password is not None:
            conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        return conf

    def topics(self) -> dict[str, str]:
        return {
            "transactions": self.topic_transactions,
            "predictions": self.topic_predictions,
            "alerts": self.topic_alerts,
            "labels": self.topic_labels,
            "dlq": self.topic_dlq,
        }


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment plus the given overrides (None means "not given")."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        # The input value is left out on purpose: it may be a password.
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None


def setting_names() -> frozenset[str]:
    return frozenset(Settings.model_fields)
