"""Bad flags and missing servers: one readable line, a non-zero exit, and never a secret or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scorer_support import make_events, make_model

from fraudscore.settings import redact_url
from fraudscore.stack import procs
from schemas.history import from_records, write_history

SECRET = "s3cr3t-Pa55"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fraudscore.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url(f"redis://user:{SECRET}@host:6380/2") == "redis://user:***@host:6380/2"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"


def test_a_bad_setting_is_one_line_without_its_value() -> None:
    done = _run("--redis-url", f"redis://:{SECRET}@127.0.0.1:1/0", "score", "--max-batch", "0")
    assert done.returncode == 2
    assert "max_batch" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_missing_redis_is_one_line_without_the_password(tmp_path: Path) -> None:
    port = procs.free_ports(1)[0]
    env = {**os.environ, "REDIS_URL": f"redis://default:{SECRET}@127.0.0.1:{port}/0"}
    history = tmp_path / "h.avro"
    write_history(history, from_records(make_events(20)))
    done = _run("features", "load", "--history", str(history), env=env)
    assert done.returncode != 0
    assert "***" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_missing_redis_for_the_scorer_names_it_without_the_password(tmp_path: Path) -> None:
    make_model(tmp_path)
    port = procs.free_ports(1)[0]
    env = {**os.environ, "REDIS_URL": f"redis://default:{SECRET}@127.0.0.1:{port}/0"}
    done = _run("--model-dir", str(tmp_path), "score", "--metrics-port", "0", env=env)
    assert done.returncode != 0
    assert f"redis://default:***@127.0.0.1:{port}/0" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_no_model_is_one_line(tmp_path: Path) -> None:
    done = _run("--model-dir", str(tmp_path / "empty"), "score")
    assert done.returncode != 0
    assert "fraudscore train" in done.stderr
    assert "Traceback" not in done.stderr


def _sasl_env(servers: str, redis_url: str) -> dict[str, str]:
    """The environment of a client whose broker is `servers`, with a SASL password to keep out of sight."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": servers,
        "REDIS_URL": redis_url,
        "FRAUDSCORE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "FRAUDSCORE_KAFKA_SASL_MECHANISM": "PLAIN",
        "FRAUDSCORE_KAFKA_SASL_USERNAME": "scorer",
        "FRAUDSCORE_KAFKA_SASL_PASSWORD": SECRET,
    }


@pytest.mark.parametrize("command", [["score", "--metrics-port", "0"], ["tail", "alerts"]])
def test_a_missing_broker_is_one_line_without_librdkafka_noise_or_the_password(
    command: list[str], redis_url: str, tmp_path: Path
) -> None:
    make_model(tmp_path)
    servers = f"127.0.0.1:{procs.free_ports(1)[0]}"
    env = _sasl_env(servers, redis_url)
    done = _run("--model-dir", str(tmp_path), *command, "--connect-timeout", "2", env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"Kafka at {servers} did not answer within 2 s" in lines[0]
    assert SECRET not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("command", "unmade"),
    [
        (
            ["score", "--metrics-port", "0"],
            {"TRANSACTIONS": "never-made-tx", "PREDICTIONS": "never-made-pred"},
        ),
        (["tail", "alerts"], {"ALERTS": "never-made-alerts"}),
    ],
)
def test_the_topics_a_command_lacks_are_named_in_one_line(
    command: list[str], unmade: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    make_model(tmp_path)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        **{f"FRAUDSCORE_TOPIC_{field}": name for field, name in unmade.items()},
    }
    done = _run("--model-dir", str(tmp_path), *command, env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for name in unmade.values():
        assert name in lines[0]
    assert "fraudscore topics create" in lines[0]


def test_batch_from_a_topic_with_the_broker_down_is_one_line(tmp_path: Path) -> None:
    make_model(tmp_path)
    servers = f"127.0.0.1:{procs.free_ports(1)[0]}"
    done = _run(
        "--bootstrap-servers",
        servers,
        "--model-dir",
        str(tmp_path),
        "batch",
        "--topic",
        "transactions",
        "--from",
        "2018-04-01",
        "--to",
        "2018-04-02",
        "--output",
        str(tmp_path / "out.parquet"),
    )
    assert done.returncode == 1
    # The progress bar is drawn before the read starts; the error is the one line after it.
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"fraudscore batch: error: Kafka at {servers} did not answer"), done.stderr
    assert "Traceback" not in done.stderr
    assert "%3|" not in done.stderr, "librdkafka printed nothing itself"
