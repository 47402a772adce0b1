"""`fraudscore bench`: the scorer's throughput and latency on the real broker and Redis, with baselines."""
