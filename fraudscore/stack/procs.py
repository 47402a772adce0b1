"""Server processes: started in their own process group, recorded by PID, stopped by that PID only.

A PID alone can be reused by an unrelated process once ours has exited, so before signalling we check
that the process still runs in the directory we started it in (`/proc/PID/cwd`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"


def spawn(
    argv: Sequence[str], cwd: Path, log_file: Path, pid_file: Path, die_with_parent: bool = False
) -> subprocess.Popen[bytes]:
    """Starts `argv` in a new session (so its own process group) with output appended to `log_file`.

    `die_with_parent` sends the server SIGTERM when the process that started it dies, even by SIGKILL:
    a test session that is killed must not leave brokers behind. (`setpriv` execs, so the PID stays.)
    """
    command = list(argv)
    setpriv = shutil.which("setpriv")
    if die_with_parent and setpriv:
        command = [setpriv, "--pdeathsig", "TERM", "--", *command]
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def _reap(pid: int) -> None:
    # A server we started in this process stays a zombie until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a process being torn down still counts)."""
    _reap(pid)
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def is_ours(pid: int, cwd: Path) -> bool:
    """True when `pid` is alive (not a zombie) and runs in `cwd`: the process we started there."""
    try:
        where = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return _alive(pid) and where.removesuffix(" (deleted)") == str(cwd.resolve())


def stop(pid: int, cwd: Path, grace_s: float = 20.0) -> bool:
    """Stops our process `pid` and its group: SIGTERM, then SIGKILL after `grace_s`. True if it ran."""
    return bool(stop_all([(pid, cwd)], grace_s))


def stop_all(targets: Sequence[tuple[int, Path]], grace_s: float = 20.0) -> list[int]:
    """Stops several of our processes at once (a cluster's nodes shut down together, not one by one).

    Returns the PIDs that were running.
    """
    running = [(pid, cwd) for pid, cwd in targets if is_ours(pid, cwd)]
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        for pid, _ in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
        # Gone, not merely "no longer ours": a dying process loses its cwd before it exits.
        if wait_until(lambda: not any(_alive(pid) for pid, _ in running), wait_s):
            break
    return [pid for pid, _ in running]


def wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Polls `condition` until it holds or `timeout_s` passes; returns whether it held."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """True when a server could listen on `port` (SO_REUSEADDR, as Java and Redis set it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct ports the kernel says are free now (held open together so none repeats)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def tail(path: Path, lines: int = 15) -> list[str]:
    """The last `lines` lines of a log file (empty when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
