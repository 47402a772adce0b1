"""`fraudscore stack up/status/down` on free ports: up twice is harmless, down leaves no process."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from fraudscore.cli import main
from fraudscore.stack import local, procs
from fraudscore.stack.exceptions import StartupError

pytestmark = pytest.mark.integration


def _gone(pid: int) -> bool:
    return (
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
    )


def test_up_twice_status_and_down_leave_no_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kafka_port, controller_port, redis_port = procs.free_ports(3)
    run = ["--run-dir", str(tmp_path)]
    up = [*run, "stack", "up", "--kafka-port", str(kafka_port), "--controller-port", str(controller_port)]
    up += ["--redis-port", str(redis_port), "--heap", "384m"]
    expected = [
        f"export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{kafka_port}",
        f"export REDIS_URL=redis://127.0.0.1:{redis_port}/0",
    ]
    try:
        assert main(up) == 0
        assert capsys.readouterr().out.splitlines() == expected
        assert (tmp_path / "env.sh").read_text().splitlines() == expected
        record = json.loads((tmp_path / "stack" / "stack.json").read_text())
        pids = [p["pid"] for p in record["processes"]]

        assert main(up) == 0  # already running: same servers, nothing new started
        assert capsys.readouterr().out.splitlines() == expected
        assert [
            p["pid"] for p in json.loads((tmp_path / "stack" / "stack.json").read_text())["processes"]
        ] == pids

        assert main([*run, "stack", "status"]) == 0
        assert capsys.readouterr().out.count("running") == 2
    finally:
        assert main([*run, "stack", "down"]) == 0
    assert all(_gone(pid) for pid in pids)
    assert not (tmp_path / "stack").exists()
    assert not (tmp_path / "env.sh").exists()
    assert main([*run, "stack", "status"]) == 1


def test_port_in_use_is_one_line_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        controller, redis_port = procs.free_ports(2)
        argv = ["--run-dir", str(tmp_path), "stack", "up", "--kafka-port", str(taken)]
        argv += ["--controller-port", str(controller), "--redis-port", str(redis_port)]
        assert main(argv) == 4
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1
    assert f"port {taken}" in err[0]
    assert not (tmp_path / "stack").exists()


def test_missing_java_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["--run-dir", str(tmp_path), "stack", "up"]) == 3
    assert "java not found on PATH" in capsys.readouterr().err


def test_a_broker_that_dies_is_reported_with_its_log_and_cleaned_up(tmp_path: Path) -> None:
    broker, controller = procs.free_ports(2)
    spec = local.StackSpec(tmp_path / "stack", [broker], [controller], redis_port=None, heap="1k")
    with pytest.raises(StartupError) as caught:
        local.start(spec, timeout_s=60)
    message = str(caught.value)
    assert "kafka-1 exited with code" in message
    assert "heap" in message.lower()  # the JVM's own complaint, from the node's console log
    assert all(not alive for _, alive in local.status(spec.root))
