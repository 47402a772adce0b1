"""Batch scoring and replay: the same scoring core over a file or a time range of a topic."""
