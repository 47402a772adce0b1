"""The programs the stack runs: `java` with Kafka's jars (fetched once with Maven), and `redis-server`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from fraudscore.stack.exceptions import StackError, ToolMissingError

POM = Path(str(resources.files("fraudscore.stack") / "pom.xml"))
COMPLETE_MARK = ".complete"


def kafka_version() -> str:
    """The Kafka release pinned in `pom.xml`: the one place the version is written."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not node.text:
        raise StackError(f"{POM} has no kafka.version property")
    return node.text.strip()


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "fraudscore"


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise ToolMissingError(
            "java not found on PATH: install a JDK 17+ (e.g. apt-get install -y openjdk-17-jre-headless)"
        )
    return java


def kafka_jars(cache_dir: Path, fetch: bool = True) -> Path:
    """The directory holding the broker's runtime classpath, fetched with Maven on first use."""
    target = cache_dir / f"kafka-{kafka_version()}"
    if (target / COMPLETE_MARK).exists():
        return target
    if not fetch:
        raise StackError(f"Kafka jars missing in {target}: run `fraudscore stack fetch`")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissingError(
            f"mvn not found on PATH and no Kafka jars in {target}: install Maven (apt-get install -y maven)"
        )
    print(f"fetching Kafka {kafka_version()} jars with Maven into {target} ...", file=sys.stderr)
    staging = cache_dir / f".kafka-{kafka_version()}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not any(staging.glob("kafka_*.jar")):
        last = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise StackError(f"Maven could not fetch the Kafka jars (exit {done.returncode}): {' | '.join(last)}")
    (staging / COMPLETE_MARK).touch()
    try:
        staging.rename(target)
    except OSError:
        # Another process (a parallel test session) finished first; its copy is as good as ours.
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / COMPLETE_MARK).exists():
            raise StackError(f"cannot install the Kafka jars into {target}") from None
    return target


def require_redis_server(install: bool) -> str:
    """The `redis-server` program; installed from Debian's package when missing, allowed and root."""
    found = shutil.which("redis-server")
    if found:
        return found
    hint = "redis-server not found: install it with `apt-get install -y redis-server`"
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ToolMissingError(hint)
    print("installing redis-server with apt-get ...", file=sys.stderr)
    apt = ["apt-get", "install", "-y", "-q", "redis-server"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(apt, capture_output=True, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=False)
        subprocess.run(apt, capture_output=True, env=env, check=False)
    found = shutil.which("redis-server")
    if found is None:
        raise ToolMissingError(f"{hint} (automatic install failed)")
    return found
