"""Where schema ids come from: the built-in catalog, or a Confluent Schema Registry when one is set.

Either way the framing is Confluent's (magic byte 0, 4-byte big-endian schema id), so any
Confluent-format Avro consumer can read fraudscore's topics.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import fastavro

from schemas.exceptions import SchemaError

SCHEMA_DIR = Path(str(resources.files("schemas")))


def load_schema_file(relative: str) -> dict[str, Any]:
    with (SCHEMA_DIR / relative).open() as fh:
        raw: dict[str, Any] = json.load(fh)
    return raw


def parse(raw: dict[str, Any]) -> Any:
    # A fresh named-type table per schema: two versions of one record name must not collide.
    return fastavro.parse_schema(raw, named_schemas={})


def full_name(raw: dict[str, Any]) -> str:
    return f"{raw.get('namespace', '')}.{raw['name']}".lstrip(".")


class SchemaSource(Protocol):
    """Gives the id a writer frames with, and the writer schema for an id a reader meets."""

    def id_for(self, name: str) -> int: ...

    def writer_schema(self, schema_id: int) -> Any: ...


class BuiltinCatalog:
    """Ids from `schemas/catalog.json`; the newest id of each record name is the one written."""

    def __init__(self) -> None:
        catalog = json.loads((SCHEMA_DIR / "catalog.json").read_text())["schemas"]
        self._by_id: dict[int, Any] = {}
        self._latest: dict[str, int] = {}
        for key, relative in catalog.items():
            schema_id = int(key)
            raw = load_schema_file(relative)
            self._by_id[schema_id] = parse(raw)
            name = full_name(raw)
            self._latest[name] = max(schema_id, self._latest.get(name, schema_id))

    def id_for(self, name: str) -> int:
        try:
            return self._latest[name]
        except KeyError:
            raise SchemaError(f"no schema named {name} in the built-in catalog") from None

    def writer_schema(self, schema_id: int) -> Any:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise SchemaError(f"unknown schema id {schema_id}") from None


class RegistryClient:
    """A minimal Confluent Schema Registry client (subject = record full name, RecordNameStrategy).

    Only the two calls the codec needs; ids and schemas are cached for the process's life since a
    registry never changes what an id means.
    """

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self._url = url.rstrip("/")
        self._timeout = timeout_s
        self._ids: dict[str, int] = {}
        self._schemas: dict[int, Any] = {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self._url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                result: dict[str, Any] = json.loads(resp.read())
                return result
        except urllib.error.HTTPError as exc:
            raise SchemaError(f"schema registry answered {exc.code} to {method} {path}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SchemaError(f"schema registry unreachable: {exc}") from None

    def register(self, raw: dict[str, Any]) -> int:
        name = full_name(raw)
        if name not in self._ids:
            reply = self._call("POST", f"/subjects/{name}/versions", {"schema": json.dumps(raw)})
            self._ids[name] = int(reply["id"])
            self._schemas[self._ids[name]] = parse(raw)
        return self._ids[name]

    def id_for(self, name: str) -> int:
        if name not in self._ids:
            for raw in current_schemas().values():
                if full_name(raw) == name:
                    return self.register(raw)
            raise SchemaError(f"no schema named {name} in schemas/")
        return self._ids[name]

    def writer_schema(self, schema_id: int) -> Any:
        if schema_id not in self._schemas:
            reply = self._call("GET", f"/schemas/ids/{schema_id}")
            self._schemas[schema_id] = parse(json.loads(reply["schema"]))
        return self._schemas[schema_id]


def current_schemas() -> dict[str, dict[str, Any]]:
    """The current version of every schema, by file stem (`transaction`, `prediction`, ...)."""
    return {p.stem: load_schema_file(p.name) for p in sorted(SCHEMA_DIR.glob("*.avsc"))}


def open_schema_source(registry_url: str | None) -> SchemaSource:
    return RegistryClient(registry_url) if registry_url else BuiltinCatalog()
