"""Redis from Debian's `redis-server`, on loopback, in the foreground so its PID is the one we hold."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fraudscore.stack import procs


def url(port: int) -> str:
    return f"redis://{procs.LOOPBACK}:{port}/0"


def home(root: Path) -> Path:
    return root / "redis"


def log_file(root: Path) -> Path:
    return home(root) / "redis.log"


def start(program: str, port: int, root: Path, die_with_parent: bool) -> subprocess.Popen[bytes]:
    where = home(root)
    where.mkdir(parents=True, exist_ok=True)
    # No persistence: the local stack is for development and tests, and `down` deletes its data.
    cmd = [program, "--port", str(port), "--bind", procs.LOOPBACK, "--dir", str(where)]
    cmd += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""]
    return procs.spawn(cmd, where, log_file(root), where / "redis.pid", die_with_parent)


def ping(redis_url: str) -> bool:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
