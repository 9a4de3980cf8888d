"""The Milvus backend on Milvus Lite files: parity with the local backend, filters, incremental publishing,
embedder change, tampered metadata and one-line errors (fake embedder, tiny inline corpus)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("milvus_lite", reason="the milvus extra is not installed: pip install 'policyrag[milvus]'")

from indexer.build import build_index
from retriever.backend import IndexLocation, UnknownBackendError, check_backend, open_index
from retriever.milvus_conn import MilvusBackendError, ServerInfo, check_uri, connect
from retriever.milvus_meta import meta_name
from retriever.milvus_search import MilvusBackend, publish_index
from retriever.rowfilter import RowFilter, milvus_expr
from retriever.search import Searcher
from retriever.store import IndexStoreError, load_index
from tests.conftest import FakeEmbedder

LAW_OLD = """# 中华人民共和国示范法

2015年8月29日 第十二届全国人民代表大会常务委员会第十六次会议修正

<!-- INFO END -->

第一条 为了规范示范活动，制定本法。

第二条 示范活动应当遵守伦理规范，接受伦理委员会监督。
"""
LAW_NEW = LAW_OLD.replace("2015年8月29日", "2025年3月11日").replace("接受伦理委员会监督", "接受伦理委员会和主管部门监督")
QUERIES = ["伦理委员会的职责", "人工智能产业主管部门是哪个部门", "行动计划的发展目标", "监管规则和标准", "示范活动"]


@pytest.fixture()
def corpus(tiny_corpus: Path) -> Path:
    (tiny_corpus / "示范法(2015-08-29).md").write_text(LAW_OLD, encoding="utf-8")
    (tiny_corpus / "示范法(2025-03-11).md").write_text(LAW_NEW, encoding="utf-8")
    return tiny_corpus


@pytest.fixture()
def local(tmp_path: Path, corpus: Path, fake_embedder: FakeEmbedder) -> Path:
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, fake_embedder, progress=False)
    return index_dir


@pytest.fixture()
def lite(tmp_path: Path, local: Path) -> Iterator[str]:
    uri = str(tmp_path / "milvus.db")
    publish_index(load_index(local, searchable=False), uri, collection="t")
    yield uri


def _searchers(local: Path, uri: str, embedder: FakeEmbedder) -> tuple[Searcher, Searcher, MilvusBackend]:
    backend = MilvusBackend.open(uri, collection="t")
    return Searcher(load_index(local), embedder), Searcher(backend.index, embedder, backend=backend), backend


def _same(a: Searcher, b: Searcher, query: str, **kwargs: object) -> None:
    """Same scores in the same order, and the same chunks up to the order of exact ties (two versions of a law share
    an article's text; bm25s breaks such ties in an unspecified order)."""
    ra, rb = a.search(query, **kwargs).results, b.search(query, **kwargs).results  # type: ignore[arg-type]
    assert [r.score for r in ra] == pytest.approx([r.score for r in rb], rel=1e-5, abs=1e-6), (query, kwargs)
    score_a, score_b = {r.chunk_id: r.score for r in ra}, {r.chunk_id: r.score for r in rb}
    for chunk_id in score_a.keys() ^ score_b.keys():  # only a tie at the cut-off may differ
        assert score_a.get(chunk_id, score_b.get(chunk_id)) == pytest.approx(ra[-1].score, rel=1e-5), (query, kwargs)
    for chunk_id in score_a.keys() & score_b.keys():
        assert score_a[chunk_id] == pytest.approx(score_b[chunk_id], rel=1e-5, abs=1e-6), (query, kwargs)


def test_same_ranking_and_scores_as_local(local: Path, lite: str, fake_embedder: FakeEmbedder) -> None:
    loc, mil, backend = _searchers(local, lite, fake_embedder)
    assert backend.has_sparse and backend.info.dense_index == "flat"
    assert [c.chunk_id for c in mil.index.chunks] == [c.chunk_id for c in loc.index.chunks]  # published order
    for query in QUERIES:
        for mode in ("hybrid", "dense", "bm25"):
            _same(loc, mil, query, k=10, mode=mode)
        cl, cm = (s.candidates(query, 50, s.row_filter()) for s in (loc, mil))
        assert set(cl.bm25[1]) == set(cm.bm25[1])
        assert list(cl.bm25[0]) == pytest.approx(list(cm.bm25[0]), rel=1e-5)


def test_filters_match_local(local: Path, lite: str, fake_embedder: FakeEmbedder) -> None:
    loc, mil, _ = _searchers(local, lite, fake_embedder)
    law = {d.title: d for d in loc.index.documents if "示范法" in d.title}
    old = next(d for d in loc.index.documents if d.status == "superseded")
    assert law and old.superseded_by
    plan = next(d for d in loc.index.documents if d.doc_type == "plan")
    for kwargs in (
        {"doc_type": "plan"},
        {"doc": plan.doc_id},
        {"doc": old.doc_id},  # asked for by id: a superseded version is searched
        {"include_superseded": True},
        {"year": "2019-2023"},
        {"doc_type": "regulation", "year": "2022"},
    ):
        for mode in ("hybrid", "dense", "bm25"):
            _same(loc, mil, "示范活动 伦理委员会", k=10, mode=mode, **kwargs)
    hits = mil.search("示范活动", k=10).results
    assert hits and old.doc_id not in {h.doc_id for h in hits}  # superseded left out by default
    assert old.doc_id in {h.doc_id for h in mil.search("示范活动", k=10, include_superseded=True).results}


def test_filter_expression_escapes_strings() -> None:
    expr = milvus_expr(RowFilter(frozenset({'a"b', "c\\d"}), 'x" or doc_id != "', current_only=True))
    assert expr == r'doc_id in ["a\"b", "c\\d"] and doc_type == "x\" or doc_id != \"" and status != "superseded"'
    assert milvus_expr(RowFilter()) == "" and milvus_expr(None) == ""


def test_incremental_publish_writes_only_what_changed(
    tmp_path: Path, corpus: Path, local: Path, lite: str, fake_embedder: FakeEmbedder
) -> None:
    (corpus / "d_plan.txt").unlink()  # a removed document
    text = (corpus / "b_clean.txt").read_text(encoding="utf-8")
    (corpus / "b_clean.txt").write_text(text.replace("评估伦理风险", "评估和通报伦理风险"), encoding="utf-8")
    (corpus / "e_new.txt").write_text(  # a new document
        "示范数据条例\n\n第一条 为了促进公共数据开放，制定本条例。\n\n第二条 数据开放应当保障安全。\n", encoding="utf-8"
    )
    build_index([corpus], local, fake_embedder, progress=False)
    loaded = load_index(local, searchable=False)
    report = publish_index(loaded, lite, collection="t")
    assert report.removed_documents == 1 and report.deleted_chunks > 0
    assert 1 <= report.upserted_documents <= 3  # the changed regulation (and its merged copies), the new one
    assert report.unchanged_chunks > 0 and report.rows == len(loaded.chunks)
    assert not report.recreated
    again = publish_index(loaded, lite, collection="t")
    assert (again.upserted_chunks, again.deleted_chunks) == (0, 0)  # nothing else written
    loc, mil, _ = _searchers(local, lite, fake_embedder)
    assert {c.chunk_id for c in mil.index.chunks} == {c.chunk_id for c in loc.index.chunks}
    for query in [*QUERIES, "公共数据开放", "评估和通报伦理风险"]:
        ids = [r.chunk_id for r in mil.search(query, k=10, mode="dense").results]
        assert ids == [r.chunk_id for r in loc.search(query, k=10, mode="dense").results]
        # BM25 keeps the frozen avgdl (drift under 5%): same ranking, scores within the drift
        mb, lb = mil.search(query, k=10, mode="bm25").results, loc.search(query, k=10, mode="bm25").results
        assert {r.chunk_id for r in mb[:3]} & {r.chunk_id for r in lb[:3]}
    assert "plan" not in {d.doc_type for d in mil.index.documents}


def test_embedder_change_writes_the_collection_anew(
    tmp_path: Path, corpus: Path, local: Path, lite: str
) -> None:
    other = FakeEmbedder(name="fake-32", dim=32)
    build_index([corpus], local, other, progress=False)
    report = publish_index(load_index(local, searchable=False), lite, collection="t")
    assert "fake-32" in report.recreated and report.upserted_chunks == report.rows
    index, backend = open_index(IndexLocation("milvus", uri=lite, collection="t"))
    assert backend.dim == 32 and index.manifest.embedder == "fake-32"
    with pytest.raises(IndexStoreError, match="built with embedder 'fake-32', not 'fake'"):
        open_index(IndexLocation("milvus", uri=lite, collection="t"), expect_embedder="fake")


def _tamper(uri: str, key: str, value: str) -> None:
    client, _ = connect(uri)
    client.load_collection(meta_name("t"))
    client.upsert(meta_name("t"), [{"key": key, "value": value, "vec": [0.0, 1.0]}])
    client.flush(meta_name("t"))
    client.close()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("info/0", "AAAA", "does not match its checksum|is corrupt"),
        ("info", json.dumps({"parts": 3, "sha256": "0"}), "partial"),
        ("userdict", "{", "corrupt"),
    ],
)
def test_tampered_metadata_is_one_line(lite: str, key: str, value: str, message: str) -> None:
    _tamper(lite, key, value)
    with pytest.raises(MilvusBackendError, match=message) as err:
        MilvusBackend.open(lite, collection="t")
    assert "\n" not in str(err.value) and "policyrag index --backend milvus" in str(err.value)


def test_consistent_but_wrong_metadata_is_caught(lite: str) -> None:
    from retriever.milvus_meta import write_blobs

    client, _ = connect(lite)
    client.load_collection(meta_name("t"))
    client.delete("t", filter='doc_type == "plan"')  # rows gone behind the metadata's back
    client.flush("t")
    client.close()
    with pytest.raises(MilvusBackendError, match=r"holds \d+ chunks but its metadata says"):
        MilvusBackend.open(lite, collection="t")
    client, _ = connect(lite)
    client.load_collection(meta_name("t"))
    write_blobs(client, "t", {"userdict": "另一个词\n".encode()})  # a valid blob, the wrong dictionary
    client.close()
    with pytest.raises(MilvusBackendError, match="tokenizer dictionary does not match"):
        MilvusBackend.open(lite, collection="t")


def test_one_line_errors(tmp_path: Path, lite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MilvusBackendError, match=r"must end in \.db"):
        check_uri(str(tmp_path / "x.milvus"))
    with pytest.raises(MilvusBackendError, match="http"):
        check_uri("ftp://host:1")
    with pytest.raises(MilvusBackendError, match=r"no collection 'nope'.*policyrag index --backend milvus"):
        MilvusBackend.open(lite, collection="nope")
    with pytest.raises(MilvusBackendError, match="unknown Milvus consistency 'Weak'; valid: Strong, Session"):
        MilvusBackend.open(lite, collection="t", consistency="Weak")
    with pytest.raises(UnknownBackendError, match="valid: local, milvus"):
        check_backend("faiss")
    with pytest.raises(IndexStoreError, match="needs --uri"):
        open_index(IndexLocation("milvus"))
    held = MilvusBackend.open(lite, collection="t")  # this process holds the Lite file
    import subprocess

    code = (
        "import sys; from retriever.milvus_conn import connect\n"
        "try: connect(sys.argv[1])\n"
        "except Exception as e: print(type(e).__name__, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, lite], capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=60
    ).stdout.strip()
    assert out.startswith("MilvusBackendError another process has the Lite file") and "milvus-lite server" in out
    held.client.close()
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(MilvusBackendError, match=r"pip install 'policyrag\[milvus\]'"):
        connect(lite)


def test_server_version_decides_sparse() -> None:
    assert not ServerInfo("http://h:1", "v2.3.5-lite", False).has_sparse
    assert ServerInfo("http://h:1", "v2.5.4", False).has_sparse
    assert ServerInfo("x.db", "milvus_lite-3.2.2", True).has_sparse
    message = ServerInfo("http://h:1", "v2.4.9", False).no_sparse_message()
    assert "Milvus >= 2.5" in message and "--mode dense" in message and "\n" not in message


def test_flat_becomes_hnsw_past_the_threshold(
    corpus: Path, local: Path, lite: str, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retriever.milvus_store

    assert MilvusBackend.open(lite, collection="t").info.dense_index == "flat"
    monkeypatch.setattr(retriever.milvus_store, "HNSW_THRESHOLD", 5)  # the collection has passed it
    (corpus / "e_new.txt").write_text("示范数据条例\n\n第一条 为了促进公共数据开放，制定本条例。\n", encoding="utf-8")
    build_index([corpus], local, fake_embedder, progress=False)
    report = publish_index(load_index(local, searchable=False), lite, collection="t")
    assert report.dense_index == "hnsw" and report.upserted_documents == 1
    loc, mil, backend = _searchers(local, lite, fake_embedder)
    assert backend.info.dense_index == "hnsw"
    client, _ = connect(lite)
    assert client.describe_index("t", "dense")["index_type"] == "HNSW"
    for query in QUERIES:
        _same(loc, mil, query, k=5, mode="dense")  # HNSW over a few dozen rows finds the exact neighbours


def test_avgdl_drift_rewrites_every_bm25_vector(
    corpus: Path, local: Path, lite: str, fake_embedder: FakeEmbedder
) -> None:
    articles = "".join(f"第{n}条 数据开放平台应当按照目录向社会开放公共数据，保障数据安全和个人信息权益。\n\n" for n in "一二三四五六七八九十")
    (corpus / "e_long.txt").write_text("示范数据开放条例\n\n" + articles * 3, encoding="utf-8")
    build_index([corpus], local, fake_embedder, progress=False)
    loaded = load_index(local, searchable=False)
    report = publish_index(loaded, lite, collection="t")
    assert report.rewrote_sparse and report.upserted_chunks == report.rows == len(loaded.chunks)
    loc, mil, _ = _searchers(local, lite, fake_embedder)
    for query in [*QUERIES, "公共数据开放"]:
        _same(loc, mil, query, k=10, mode="bm25")  # the avgdl frozen anew is the true one: bm25s scores again
