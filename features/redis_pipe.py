"""Commands sent now and answered later, on one Redis connection of their own.

The scorer sends a batch's feature write and reads Redis's answer only when the next batch needs the
state: Redis executes the script on its own core while this process collects and decodes the next
batch. A worker thread did the same before, but its every step waited for the GIL held by the
decoding loop (up to a switch interval of 5 ms each), so the write took twice Redis's own time.

Replies come back in the order the commands were sent. Any failure drops the connection, and with it
the replies still owed: the caller treats everything sent since its last `replies` as not applied
(the writes are idempotent, so a replay of one that was applied is harmless).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hiredis
import redis
from redis.connection import Connection, ConnectionPool


def pack_args(args: Sequence[bytes]) -> bytes:
    """Arguments in Redis's wire format, without the count that opens a command: a part of a command
    that `command` assembles, so that a long run of arguments two commands share is packed once."""
    # hiredis's stub says a 1-tuple; the function takes a command of any length.
    packed: bytes = hiredis.pack_command(tuple(args))  # type: ignore[arg-type]
    return packed[packed.index(b"\r\n") + 2 :]


def command(argc: int, *parts: bytes) -> bytes:
    """A command of `argc` arguments from parts packed by `pack_args`."""
    return b"*%d\r\n" % argc + b"".join(parts)


def set_last_argument(packed: bytearray, value: bytes) -> None:
    """Overwrite a packed command's last argument with one of the same length (the wire format ends
    with the argument's length, its bytes and CRLF)."""
    head = b"\r\n$%d\r\n" % len(value)
    start = len(packed) - len(value) - 2
    if packed[start - len(head) : start] != head:  # a wrong splice would garble the connection
        raise ValueError(f"the command's last argument is not {len(value)} bytes long")
    packed[start:-2] = value


class RedisPipe:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._conn: Connection | None = None
        self._owed = 0

    def send_packed(self, command: bytes | bytearray) -> None:
        """Send one command already in Redis's wire format (`hiredis.pack_command`)."""
        try:
            if self._conn is None:
                # redis-py 5.3+ deprecates the command-name argument that types-redis still requires.
                self._conn = self._pool.get_connection()  # type: ignore[call-arg]
            # A list of byte strings, as redis-py sends its own (types-redis says str).
            self._conn.send_packed_command([command], check_health=False)  # type: ignore[list-item]
        except BaseException:  # an interrupted send leaves the connection out of step too
            self.drop()
            raise
        self._owed += 1

    def replies(self) -> list[Any]:
        """The replies of every command sent, in order; the first error reply is raised (after all
        replies were read, so the connection stays in step)."""
        if not self._owed or self._conn is None:
            return []
        out: list[Any] = []
        failed: redis.ResponseError | None = None
        try:
            for _ in range(self._owed):
                try:
                    out.append(self._conn.read_response())
                except redis.ResponseError as exc:  # the command failed, the connection did not
                    failed = failed or exc
        except BaseException:
            self.drop()
            raise
        self._owed = 0
        if failed is not None:
            raise failed
        return out

    def drop(self) -> None:
        """Forget the replies owed; the next `send` connects afresh."""
        self._owed = 0
        if self._conn is not None:
            self._conn.disconnect()
            self._pool.release(self._conn)
            self._conn = None
