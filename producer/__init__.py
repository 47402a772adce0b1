"""Upstream: the transaction simulator, the event producer and the label feed."""
