"""The real-time scorer: a Kafka consumer that scores micro-batches."""
