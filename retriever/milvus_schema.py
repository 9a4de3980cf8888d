"""The chunk collection's schema and indexes: fields, FLAT/HNSW dense index (nested build parameters), the sparse
index, the FLAT → HNSW switch at ``HNSW_THRESHOLD`` rows, and waiting for background index builds."""

from __future__ import annotations

import logging
import time
from typing import Any

from retriever.dense import HNSW_EF_CONSTRUCTION, HNSW_M, HNSW_THRESHOLD
from retriever.milvus_conn import MilvusBackendError

logger = logging.getLogger(__name__)


def create_collection(client: Any, collection: str, dim: int, *, sparse: bool, hnsw: bool) -> None:
    """Create the chunk collection (``consistency_level="Strong"``: a delete is visible to the next search)."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("seq", DataType.INT64)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=128)
    schema.add_field("doc_type", DataType.VARCHAR, max_length=64)
    schema.add_field("status", DataType.VARCHAR, max_length=32)
    schema.add_field("issuer", DataType.VARCHAR, max_length=1024)
    for name in ("adopted", "published", "effective"):
        schema.add_field(name, DataType.VARCHAR, max_length=32)
    schema.add_field("sig", DataType.VARCHAR, max_length=64)
    schema.add_field("record", DataType.VARCHAR, max_length=65_535)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    if sparse:
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    client.create_collection(
        collection, schema=schema, index_params=_index_params(client, hnsw, sparse), consistency_level="Strong"
    )


def _index_params(client: Any, hnsw: bool, sparse: bool) -> Any:
    index = client.prepare_index_params()
    if hnsw:
        # Nested: Milvus Lite silently drops build parameters given at the top level.
        index.add_index(
            "dense",
            index_type="HNSW",
            metric_type="IP",
            params={"params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}},
        )
    else:
        index.add_index("dense", index_type="FLAT", metric_type="IP")
    if sparse:
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    return index


def wait_indexed(client: Any, collection: str, field: str = "dense", *, timeout: float = 1800.0) -> None:
    """Wait until the dense index covers every row (a server builds segment indexes in the background after a
    flush; until then its searches scan)."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.describe_index(collection, field)
        if not state:
            raise MilvusBackendError(
                f"collection {collection!r} has no index on {field!r}; it was not written by policyrag"
            )
        total, done = int(state.get("total_rows", 0)), int(state.get("indexed_rows", 0))
        if int(state.get("pending_index_rows", 0)) == 0 and done >= total:
            return
        if time.monotonic() > deadline:
            raise MilvusBackendError(f"collection {collection!r}: its dense index covers {done} of {total} rows")
        time.sleep(0.5)


def switch_index(client: Any, collection: str) -> None:
    """FLAT → HNSW once the collection passes ``HNSW_THRESHOLD`` rows."""
    logger.info("collection %r passed %d rows: its dense index becomes HNSW", collection, HNSW_THRESHOLD)
    client.release_collection(collection)
    client.drop_index(collection, "dense")
    index = client.prepare_index_params()
    index.add_index(
        "dense",
        index_type="HNSW",
        metric_type="IP",
        params={"params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}},
    )
    client.create_index(collection, index)
    client.load_collection(collection)
