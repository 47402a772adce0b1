"""The stack's pieces without servers: node configs, PID ownership, container environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fraudscore.stack import containers, kafka, procs


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_three_nodes_form_one_quorum_with_rf3_and_min_isr2(tmp_path: Path) -> None:
    nodes = kafka.plan_nodes([19091, 19092, 19093], [29091, 29092, 29093])
    second = _props(kafka.server_properties(nodes[1], nodes, tmp_path))
    assert second["node.id"] == "2"
    assert second["controller.quorum.voters"] == "1@127.0.0.1:29091,2@127.0.0.1:29092,3@127.0.0.1:29093"
    assert second["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:29092"
    assert second["log.dirs"] == str(tmp_path / "kafka-2" / "data")
    assert second["transaction.state.log.replication.factor"] == "3"
    assert second["min.insync.replicas"] == "2"
    assert kafka.bootstrap_servers(nodes) == "127.0.0.1:19091,127.0.0.1:19092,127.0.0.1:19093"


def test_one_node_uses_replication_factor_one(tmp_path: Path) -> None:
    nodes = kafka.plan_nodes([9092], [9093])
    props = _props(kafka.server_properties(nodes[0], nodes, tmp_path))
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert len(kafka.new_cluster_id()) == 22


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xf8 makes the first base64url character "-": kafka-storage would read the id as an option.
    draws = iter([b"\xf8" + bytes(15), bytes(16)])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    cluster = kafka.new_cluster_id()
    assert cluster == "A" * 22
    assert not cluster.startswith("-")


def test_stop_signals_only_a_process_started_in_the_given_directory(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    proc = procs.spawn(["sleep", "60"], mine, mine / "log", mine / "pid")
    try:
        assert (mine / "pid").read_text().strip() == str(proc.pid)
        assert not procs.stop(proc.pid, other)  # same PID, wrong place: not ours, left alone
        assert proc.poll() is None
        assert procs.stop(proc.pid, mine)
        assert proc.poll() is not None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = procs.free_ports(5)
    assert len(set(ports)) == 5
    assert all(procs.port_free(p) for p in ports)


def test_container_env_maps_broker_settings_to_image_variables() -> None:
    env = containers.kafka_env(29999)
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:29999"
    assert env["KAFKA_LISTENERS"] == "PLAINTEXT://0.0.0.0:29999,CONTROLLER://0.0.0.0:9093"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"


def test_no_docker_client_means_no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not containers.docker_engine_reachable()


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert procs.tail(log, 3) == ["line 97", "line 98", "line 99"]
    assert procs.tail(tmp_path / "missing.log") == []


def test_a_server_started_for_a_session_dies_with_it(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from fraudscore.stack import procs; "
        "d = Path(sys.argv[1]); "
        "p = procs.spawn(['sleep', '60'], d, d / 'log', d / 'pid', die_with_parent=True); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    session = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert session.stdout is not None
    server = int(session.stdout.readline())
    try:
        assert procs.is_ours(server, tmp_path)
        # setpriv arms the death signal just before it execs the server: killing the session before
        # that (a busy machine) would test nothing, so wait until the server itself runs.
        comm = Path(f"/proc/{server}/comm")
        assert procs.wait_until(lambda: comm.exists() and comm.read_text().strip() == "sleep", 10)
        session.kill()  # SIGKILL: no clean-up code runs in the session
        session.wait()
        assert procs.wait_until(lambda: not procs.is_ours(server, tmp_path), 10)
    finally:
        procs.stop(server, tmp_path)
