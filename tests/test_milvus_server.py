"""Against a real Milvus server process: the standalone Milvus 2.3.5 that the PyPI package ``milvus`` bundles,
started on free loopback ports for this module and stopped after it. Dense search, filters, adding and removing
documents, and the one line that says why BM25 needs a newer server (2.3 has no sparse vectors; the sparse and
hybrid paths are tested on Milvus Lite in test_milvus_lite.py). Seen here: a second such server started while
another one still runs on the machine can panic at start (its components find each other's services); the
fixture then fails naming the log folder."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("milvus", reason="the milvus extra is not installed: pip install 'policyrag[milvus]'")

from indexer.build import build_index
from retriever.milvus_conn import MilvusBackendError
from retriever.milvus_search import MilvusBackend, publish_index
from retriever.search import Searcher
from retriever.store import load_index
from tests.conftest import FakeEmbedder

pytestmark = pytest.mark.integration

COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "indexCoord", "dataCoord", "dataNode")


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Milvus 2.3.5 standalone server on 127.0.0.1 (free ports), for this module only."""
    from milvus import MilvusServer, MilvusServerConfig

    server: Any = MilvusServer(MilvusServerConfig(), wait_for_started=True)
    server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    for component in COMPONENTS:
        server.config.set(f"{component}.ip", "127.0.0.1")  # never the machine's other addresses
    try:
        server.start()
    except (TimeoutError, RuntimeError) as exc:  # pragma: no cover - reported, not skipped
        server.stop()
        pytest.fail(f"the Milvus 2.3.5 server did not start: {exc} (logs in {server.config.base_data_dir}/logs)")
    try:
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()


@pytest.fixture()
def published(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder, milvus_uri: str) -> tuple[Path, str]:
    collection = f"t_{tmp_path.name[-24:].replace('-', '_')}"
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, progress=False)
    report = publish_index(load_index(tmp_path / "idx", searchable=False), milvus_uri, collection=collection)
    assert not report.sparse and "Milvus >= 2.5" in report.note
    return tmp_path / "idx", collection


def test_dense_search_and_filters_equal_local(
    published: tuple[Path, str], milvus_uri: str, fake_embedder: FakeEmbedder
) -> None:
    index_dir, collection = published
    backend = MilvusBackend.open(milvus_uri, collection=collection)
    assert backend.server.version.startswith("v2.3") and not backend.has_sparse
    local, remote = Searcher(load_index(index_dir), fake_embedder), Searcher(backend.index, fake_embedder, backend=backend)
    plan = next(d for d in local.index.documents if d.doc_type == "plan")
    for query in ("伦理委员会的职责", "主管部门", "行动计划的目标"):
        for filters in ({}, {"doc_type": "plan"}, {"doc": plan.doc_id}, {"year": "2019-2023"}):
            a = local.search(query, k=10, mode="dense", **filters).results  # type: ignore[arg-type]
            b = remote.search(query, k=10, mode="dense", **filters).results  # type: ignore[arg-type]
            assert [r.chunk_id for r in a] == [r.chunk_id for r in b], (query, filters)
            assert [r.score for r in a] == pytest.approx([r.score for r in b], rel=1e-5, abs=1e-6)
    with pytest.raises(MilvusBackendError) as err:
        remote.search("主管部门")  # hybrid needs BM25
    message = str(err.value)
    assert "no sparse vectors" in message and "Milvus >= 2.5" in message and "\n" not in message
    backend.client.close()


def test_add_and_remove_documents(
    published: tuple[Path, str], tiny_corpus: Path, milvus_uri: str, fake_embedder: FakeEmbedder
) -> None:
    index_dir, collection = published
    (tiny_corpus / "d_plan.txt").unlink()
    (tiny_corpus / "e_new.txt").write_text(
        "示范数据条例\n\n第一条 为了促进公共数据开放，制定本条例。\n\n第二条 数据开放应当保障安全。\n", encoding="utf-8"
    )
    build_index([tiny_corpus], index_dir, fake_embedder, progress=False)
    report = publish_index(load_index(index_dir, searchable=False), milvus_uri, collection=collection)
    assert report.removed_documents == 1 and report.upserted_documents == 1 and report.unchanged_chunks > 0
    backend = MilvusBackend.open(milvus_uri, collection=collection)  # deletes are visible at once (Strong)
    assert "plan" not in {c.doc_type for c in backend.index.chunks}
    remote = Searcher(backend.index, fake_embedder, backend=backend)
    local = Searcher(load_index(index_dir), fake_embedder)
    for query in ("公共数据开放", "行动计划的目标"):
        a, b = (s.search(query, k=10, mode="dense").results for s in (local, remote))
        assert [r.chunk_id for r in a] == [r.chunk_id for r in b]
    assert remote.search("公共数据开放", k=1, mode="dense").results[0].citation.startswith("《示范数据条例》")
    backend.client.close()


def test_cli_on_the_server(
    tmp_path: Path, tiny_corpus: Path, milvus_uri: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import models.embedders
    from policyrag.cli import main

    fake = FakeEmbedder()
    monkeypatch.setattr(models.embedders, "create_embedder", lambda *a, **k: fake)
    flags = ["--backend", "milvus", "--uri", milvus_uri, "--collection", "cli"]
    out = io.StringIO()
    assert main(["index", str(tiny_corpus), "--index", str(tmp_path / "idx"), "--no-progress", *flags], out=out) == 0
    assert "BM25 unavailable" in out.getvalue() and "note: Milvus v2.3.5" in out.getvalue()
    out = io.StringIO()
    assert main(["search", "主管部门", "--mode", "dense", "--json", *flags], out=out) == 0
    assert json.loads(out.getvalue())["results"]
    assert main(["search", "主管部门", *flags], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "need Milvus >= 2.5" in err
