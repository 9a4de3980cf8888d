"""--backend milvus through the real CLI parser and main(), and the HTTP server on a Milvus Lite collection
(search, uploads published by document, 503 with the reason when Milvus cannot answer)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

pytest.importorskip("milvus_lite", reason="the milvus extra is not installed: pip install 'policyrag[milvus]'")

import models.embedders
from indexer.build import build_index
from policyrag.cli import main
from policyrag.settings import Settings
from server.app import create_app
from tests.conftest import FakeEmbedder

NEW_DOC = """示范公共数据开放条例

第一条 为了促进公共数据开放和利用，制定本条例。

第二条 市政务服务数据管理部门负责统筹公共数据开放工作。
"""


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """Every embedder name resolves to one shared fake (the CLI imports create_embedder lazily)."""
    fake = FakeEmbedder()
    monkeypatch.setattr(models.embedders, "create_embedder", lambda *a, **k: fake)
    return fake


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_index_search_documents_on_lite(tmp_path: Path, tiny_corpus: Path, fake: FakeEmbedder) -> None:
    uri = str(tmp_path / "m.db")
    milvus = ["--backend", "milvus", "--uri", uri, "--collection", "c1"]
    code, out = run("index", str(tiny_corpus), "--index", str(tmp_path / "idx"), "--no-progress", *milvus)
    assert code == 0, out
    assert "published" in out and "collection 'c1'" in out and "BM25 sparse vectors" in out
    for mode in ("hybrid", "dense", "bm25"):
        code, local = run("search", "伦理委员会的职责", "--json", "--mode", mode, "--index", str(tmp_path / "idx"))
        code2, remote = run("search", "伦理委员会的职责", "--json", "--mode", mode, *milvus)
        assert code == code2 == 0
        assert [r["chunk_id"] for r in json.loads(local)["results"]] == [
            r["chunk_id"] for r in json.loads(remote)["results"]
        ]
    code, docs = run("documents", "--json", *milvus)
    assert code == 0 and {d["doc_type"] for d in json.loads(docs)} == {"regulation", "interpretation", "plan", "article"}
    # unchanged corpus: the staging index is up to date and nothing is written to the collection
    code, out = run("index", str(tiny_corpus), "--index", str(tmp_path / "idx"), "--no-progress", *milvus)
    assert code == 0 and "0 documents written (0 chunks), 0 chunks deleted" in out


def test_from_index_and_environment(
    tmp_path: Path, tiny_corpus: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index([tiny_corpus], tmp_path / "idx", fake, progress=False)
    calls = len(fake.calls)
    uri = str(tmp_path / "e.db")
    code, out = run("index", "--from-index", str(tmp_path / "idx"), "--backend", "milvus", "--uri", uri)
    assert code == 0 and "published" in out and "collection 'policyrag'" in out
    assert len(fake.calls) == calls  # nothing embedded
    monkeypatch.setenv("POLICYRAG_BACKEND", "milvus")
    monkeypatch.setenv("POLICYRAG_URI", uri)
    code, out = run("search", "主管部门", "-k", "1")
    assert code == 0 and "第二条" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "主管部门", "--backend", "faiss"], "unknown index backend 'faiss'; valid: local, milvus"),
        (["search", "主管部门", "--backend", "milvus"], "needs --uri"),
        (["search", "主管部门", "--backend", "milvus", "--uri", "x.milvus"], "must end in .db"),
        (["index", "--from-index", "idx"], "--from-index publishes a local index to Milvus"),
        (["documents", "--backend", "milvus", "--uri", "{tmp}/none.db"], "no collection 'policyrag'"),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path, fake: FakeEmbedder, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _ = run(*[a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


@pytest.fixture()
def client(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> TestClient:
    from retriever.milvus_search import publish_index
    from retriever.store import load_index

    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, progress=False)
    uri = str(tmp_path / "s.db")
    publish_index(load_index(tmp_path / "idx", searchable=False), uri)
    settings = Settings(index_dir=tmp_path / "idx", corpus=[tiny_corpus], backend="milvus", uri=uri)
    return TestClient(create_app(settings, embedder=fake_embedder), base_url="http://127.0.0.1", client=("127.0.0.1", 5))


def test_http_search_upload_and_unavailable(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    hit = client.get("/api/search", params={"q": "產業主管部門是哪個部門", "k": 3}).json()["results"][0]
    assert hit["citation"].endswith("第二条")
    response = client.post("/api/documents", files=[("files", ("数据开放.txt", NEW_DOC.encode(), "text/plain"))])
    assert response.status_code == 200, response.text
    hit = client.get("/api/search", params={"q": "公共数据开放由哪个部门统筹", "k": 1}).json()["results"][0]
    assert hit["citation"] == "《示范公共数据开放条例》第二条"  # published to the collection and read back
    searcher = client.app.state.searcher  # type: ignore[attr-defined]
    assert searcher.backend.name == "milvus" and len(searcher.backend.row_of) == len(searcher.index.chunks)

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("<_InactiveRpcError: StatusCode.UNAVAILABLE: failed to connect to all addresses>")

    monkeypatch.setattr(searcher.backend.client, "search", down)
    response = client.get("/api/search", params={"q": "主管部门"})
    assert response.status_code == 503 and response.headers["retry-after"]
    assert "cannot reach Milvus at" in response.json()["detail"]


def test_processes_share_one_lite_server(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> None:
    """One Lite data directory served by `milvus-lite server` on loopback: two processes search it at once."""
    import socket
    import subprocess
    import sys
    import time

    from retriever.milvus_search import MilvusBackend, publish_index
    from retriever.search import Searcher
    from retriever.store import load_index

    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, progress=False)
    db = tmp_path / "shared.db"
    publish_index(load_index(tmp_path / "idx", searchable=False), str(db))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [Path(sys.executable).parent / "milvus-lite", "server", "--data-dir", str(db), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        uri = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                mine = MilvusBackend.open(uri)
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        code = (
            "import sys; from tests.conftest import FakeEmbedder; from retriever.milvus_search import MilvusBackend\n"
            "from retriever.search import Searcher\n"
            "b = MilvusBackend.open(sys.argv[1]); s = Searcher(b.index, FakeEmbedder(), backend=b)\n"
            "print(s.search('伦理委员会的职责', k=1).results[0].citation)\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1]
        )
        here = Searcher(mine.index, fake_embedder, backend=mine).search("伦理委员会的职责", k=1).results[0].citation
        assert other.returncode == 0, other.stderr[-2000:]
        assert other.stdout.strip() == here == "《示范人工智能促进条例》第三条"
        mine.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
