"""fraudscore: shared infrastructure (settings, CLI, local stack, Kafka/Redis clients)."""

__version__ = "0.1.0"
