"""The ``<collection>_meta`` collection: named blobs (manifest, documents, user dictionary, BM25 statistics).

Milvus has no file store, so a blob is zlib-compressed, base64-encoded, cut into parts that fit a VARCHAR and
stored one part a row; a header row holds the part count and the blob's sha256, checked on every read. Milvus
before 2.6 requires a vector field in every collection: a 2-d dummy vector.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from retriever.milvus_conn import MilvusBackendError

PART_CHARS = 60_000  # a VARCHAR holds at most 65,535 bytes
_DUMMY = [0.0, 1.0]


class MetaCorruptError(MilvusBackendError):
    """A metadata blob that is missing, partial or does not match its checksum."""


def meta_name(collection: str) -> str:
    """The metadata collection of ``collection``."""
    return f"{collection}_meta"


def create_meta(client: Any, collection: str) -> None:
    """Create the metadata collection (key, value, dummy vector)."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("value", DataType.VARCHAR, max_length=65_535)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(meta_name(collection), schema=schema, index_params=index, consistency_level="Strong")


@dataclass(frozen=True)
class Header:
    """A blob's part count and checksum."""

    parts: int
    sha256: str


def write_blobs(client: Any, collection: str, blobs: dict[str, bytes]) -> None:
    """Store each named blob (parts first, then the header that makes them valid), replacing older versions."""
    name = meta_name(collection)
    for key, data in blobs.items():
        text = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
        parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
        rows = [{"key": f"{key}/{i}", "value": part, "vec": _DUMMY} for i, part in enumerate(parts)]
        for start in range(0, len(rows), 16):
            client.upsert(name, rows[start : start + 16])
        old = client.query(name, filter=f'key like "{key}/%"', output_fields=["key"])
        stale = [r["key"] for r in old if int(str(r["key"]).rsplit("/", 1)[1]) >= len(parts)]
        if stale:
            client.delete(name, ids=stale)
        header = json.dumps({"parts": len(parts), "sha256": hashlib.sha256(data).hexdigest()})
        client.upsert(name, [{"key": key, "value": header, "vec": _DUMMY}])
    client.flush(name)


def read_rows(client: Any, collection: str) -> dict[str, str]:
    """Every metadata row (key → value) in one query: each query of a server in Strong consistency waits for its
    time tick, so reading the blobs from this is faster than one query per blob."""
    rows = client.query(meta_name(collection), filter='key != ""', output_fields=["key", "value"], limit=16_384)
    return {str(r["key"]): str(r["value"]) for r in rows}


def read_blob(client: Any, collection: str, key: str, rows: dict[str, str] | None = None) -> bytes:
    """A blob written by ``write_blobs`` (from ``rows`` when given, else queried), checked against its header;
    ``MetaCorruptError`` otherwise."""
    name = meta_name(collection)
    got = (
        [{"value": rows[key]}] if rows is not None and key in rows
        else [] if rows is not None
        else client.query(name, filter=f'key == "{key}"', output_fields=["value"])
    )  # fmt: skip
    if not got:
        raise MetaCorruptError(f"the metadata of collection {collection!r} has no {key!r}")
    try:
        raw = json.loads(got[0]["value"])
        header = Header(int(raw["parts"]), str(raw["sha256"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise MetaCorruptError(f"the metadata of collection {collection!r} is corrupt ({key} header)") from exc
    keys = [f"{key}/{i}" for i in range(header.parts)]
    if rows is not None:
        parts = {k: rows[k] for k in keys if k in rows}
    else:
        found = client.query(
            name, filter=f"key in [{', '.join(json.dumps(k) for k in keys)}]", output_fields=["key", "value"]
        )
        parts = {r["key"]: r["value"] for r in found}
    if len(parts) != header.parts:
        raise MetaCorruptError(f"the metadata of collection {collection!r} is partial ({key})")
    try:
        data = zlib.decompress(base64.b64decode("".join(parts[k] for k in keys)))
    except (ValueError, zlib.error) as exc:
        raise MetaCorruptError(f"the metadata of collection {collection!r} is corrupt ({key})") from exc
    if hashlib.sha256(data).hexdigest() != header.sha256:
        raise MetaCorruptError(f"the metadata of collection {collection!r} does not match its checksum ({key})")
    return data
