"""The Schema Registry client against a small in-process fake of the registry's REST API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from schemas import Codec, DecodeError
from schemas.exceptions import SchemaError
from schemas.registry import RegistryClient, open_schema_source


class FakeRegistry(BaseHTTPRequestHandler):
    """POST /subjects/NAME/versions registers (same schema, same id); GET /schemas/ids/ID returns it."""

    schemas: ClassVar[dict[int, str]] = {}
    calls: ClassVar[list[str]] = []

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.calls.append(f"POST {self.path}")
        schema = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["schema"]
        for schema_id, known in self.schemas.items():
            if known == schema:
                return self._reply(200, {"id": schema_id})
        schema_id = 100 + len(self.schemas)
        self.schemas[schema_id] = schema
        return self._reply(200, {"id": schema_id})

    def do_GET(self) -> None:
        self.calls.append(f"GET {self.path}")
        schema_id = int(self.path.rsplit("/", 1)[1])
        if schema_id not in self.schemas:
            return self._reply(404, {"error_code": 40403, "message": "Schema not found"})
        return self._reply(200, {"schema": self.schemas[schema_id]})

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def registry_url() -> Iterator[str]:
    FakeRegistry.schemas, FakeRegistry.calls = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_writer_registers_and_a_fresh_reader_fetches_the_schema_by_id(registry_url: str) -> None:
    assert isinstance(open_schema_source(registry_url), RegistryClient)
    writer = Codec("prediction", RegistryClient(registry_url))
    assert writer.schema_id == 100
    assert FakeRegistry.calls == ["POST /subjects/fraudscore.Prediction/versions"]
    record = {
        "event_id": "e1",
        "card_id": "C1",
        "terminal_id": "T1",
        "event_time": 5,
        "amount": 3.5,
        "score": 0.9,
        "is_alert": True,
        "threshold": 0.5,
        "model_version": "v1",
        "features_missing": [],
        "scored_at": 6,
    }
    data = writer.encode(record)

    reader = Codec("prediction", RegistryClient(registry_url))
    assert reader.decode(data) == record
    assert reader.decode(data) == record  # the second decode is served from the cache
    assert FakeRegistry.calls.count("GET /schemas/ids/100") == 0  # the reader registered id 100 itself

    stranger = RegistryClient(registry_url)  # never registered: must fetch the writer's schema
    assert stranger.writer_schema(100) is not None
    assert FakeRegistry.calls.count("GET /schemas/ids/100") == 1


def test_an_id_the_registry_does_not_know_is_a_decode_error(registry_url: str) -> None:
    codec = Codec("prediction", RegistryClient(registry_url))
    with pytest.raises(DecodeError, match="answered 404"):
        codec.decode(b"\x00\x00\x00\x03\xe7" + b"\x00" * 8)


def test_an_unreachable_registry_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="unreachable"):
        Codec("prediction", RegistryClient("http://127.0.0.1:9", timeout_s=2.0))
