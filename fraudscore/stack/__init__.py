"""The local stack: a real Apache Kafka (KRaft) and a real Redis, started on loopback."""
