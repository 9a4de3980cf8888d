"""POST /api/documents: uploads go into the corpus folder, the index follows incrementally, every bad file is
reported by name, and nobody writes outside the corpus folder or uploads without the right credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import server.uploads
from indexer.build import build_index
from policyrag.settings import Settings
from server.app import create_app
from server.uploads import UploadRejected, check_content, safe_name
from tests.conftest import FakeEmbedder

NEW_DOC = """示范公共数据开放条例

第一条 为了促进公共数据开放和利用，制定本条例。

第二条 市政务服务数据管理部门负责统筹公共数据开放工作。
"""
LOCAL = ("127.0.0.1", 50000)
BASE = "http://127.0.0.1"  # a loopback Host, as a server that checks Host names accepts


def _app(tmp_path: Path, corpus: Path, embedder: FakeEmbedder, **settings: object) -> TestClient:
    build_index([corpus], tmp_path / "idx", embedder, cache_dir=tmp_path / "c", progress=False)
    app = create_app(Settings(index_dir=tmp_path / "idx", corpus=[corpus], **settings), embedder=embedder)
    return TestClient(app, base_url=BASE, client=LOCAL)


@pytest.fixture()
def client(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> TestClient:
    return _app(tmp_path, tiny_corpus, fake_embedder)


def _files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "text/plain")) for name, data in items]


def test_upload_indexes_the_new_file_and_search_finds_it(
    client: TestClient, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    before = len(client.get("/api/documents").json())
    embedded = sum(fake_embedder.calls)
    response = client.post("/api/documents", files=_files(("数据开放条例.txt", NEW_DOC.encode())))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["files"] == [
        {"name": "数据开放条例.txt", "saved_as": "数据开放条例.txt", "status": "accepted", "error": None}
    ]
    assert body["index"]["files_read"] == 1 and body["index"]["embedded"] == 2
    assert sum(fake_embedder.calls) - embedded == 2  # only the new file's chunks were embedded
    assert (tiny_corpus / "数据开放条例.txt").read_bytes() == NEW_DOC.encode()
    docs = client.get("/api/documents").json()
    assert len(docs) == before + 1
    hit = client.get("/api/search", params={"q": "公共数据开放由哪个部门统筹", "k": 1}).json()["results"][0]
    assert hit["citation"] == "《示范公共数据开放条例》第二条"
    doc_id = next(d["doc_id"] for d in docs if d["title"] == "示范公共数据开放条例")
    assert client.get(f"/api/documents/{doc_id}").status_code == 200
    assert client.get(f"/api/units/{hit['chunk_id']}").json()["text"].startswith("市政务服务数据管理部门")


def test_each_bad_file_is_reported_by_name_and_the_good_ones_are_indexed(client: TestClient, tiny_corpus: Path) -> None:
    response = client.post(
        "/api/documents",
        files=_files(
            ("good.md", NEW_DOC.encode()),
            ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 100),
            ("empty.txt", b"  \n"),
            ("slides.pptx", NEW_DOC.encode()),
            ("b_clean.txt", NEW_DOC.encode()),  # already in the corpus folder: never overwritten
        ),
    )
    assert response.status_code == 200
    outcome = {f["name"]: (f["status"], f["error"]) for f in response.json()["files"]}
    assert outcome["good.md"] == ("accepted", None)
    assert outcome["binary.txt"][0] == "rejected" and "binary" in outcome["binary.txt"][1]
    assert outcome["empty.txt"] == ("rejected", "the file is empty")
    assert outcome["slides.pptx"][0] == "rejected" and "unsupported file type" in outcome["slides.pptx"][1]
    assert outcome["b_clean.txt"][0] == "rejected" and "already in the corpus folder" in outcome["b_clean.txt"][1]
    assert "示范人工智能促进条例" in (tiny_corpus / "b_clean.txt").read_text(encoding="utf-8")
    assert not (tiny_corpus / "binary.txt").exists() and not (tiny_corpus / "slides.pptx").exists()


def test_all_files_rejected_is_422_with_per_file_errors(client: TestClient) -> None:
    response = client.post("/api/documents", files=_files(("a.txt", b""), ("b.exe", b"x")))
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("no file was added: a.txt: the file is empty; b.exe: unsupported file type")
    assert [f["status"] for f in body["files"]] == ["rejected", "rejected"]


@pytest.mark.parametrize(
    "name",
    ["../../etc/evil.txt", "..\\..\\evil.txt", "/abs/evil.txt", "sub/../../evil.txt"],
)
def test_path_traversal_names_stay_inside_the_corpus_folder(
    client: TestClient, tiny_corpus: Path, tmp_path: Path, name: str
) -> None:
    response = client.post("/api/documents", files=_files((name, NEW_DOC.encode())))
    assert response.status_code == 200
    assert response.json()["files"][0]["saved_as"] == "evil.txt"  # the last path component only
    assert (tiny_corpus / "evil.txt").is_file()
    assert not (tmp_path / "evil.txt").exists() and not (tiny_corpus.parent / "evil.txt").exists()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "no name"),
        ("..", "not a usable file name"),
        (".hidden.txt", "not a usable file name"),
        ("a\x00b.txt", "control or reserved"),
        ("what?.txt", "control or reserved"),
        ("长" * 80 + ".txt", "longer than 200 bytes"),
        ("report.exe", "unsupported file type"),
        ("slides.pptx", "unsupported file type"),
    ],
)
def test_safe_name_refuses_rather_than_rewrites(raw: str, reason: str) -> None:
    with pytest.raises(UploadRejected, match=reason):
        safe_name(raw)


def test_safe_name_keeps_chinese_and_normalises() -> None:
    assert safe_name("政策/深圳市人工智能条例（2022）.md") == "深圳市人工智能条例（2022）.md"
    assert check_content("第一条 内容。".encode("gb18030"), "a.txt") == "text"


def test_size_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.uploads, "MAX_UPLOAD_BYTES", 1000)
    response = client.post("/api/documents", files=_files(("big.txt", ("第一条 内容。" * 200).encode())))
    assert response.status_code == 422
    assert "larger than the upload limit" in response.json()["files"][0]["error"]


def test_a_symlink_in_the_corpus_folder_is_never_written_through(
    client: TestClient, tiny_corpus: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    (tiny_corpus / "link.txt").symlink_to(outside)
    response = client.post("/api/documents", files=_files(("link.txt", NEW_DOC.encode())))
    assert response.status_code == 422
    assert not outside.exists()


def test_remote_client_without_a_token_is_refused(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    app = create_app(Settings(index_dir=tmp_path / "idx", corpus=[tiny_corpus]), embedder=fake_embedder)
    remote = TestClient(app, base_url=BASE, client=("192.0.2.7", 40000))
    response = remote.post("/api/documents", files=_files(("x.txt", NEW_DOC.encode())))
    assert response.status_code == 403 and "API token" in response.json()["detail"]
    assert not (tiny_corpus / "x.txt").exists()


def test_with_a_token_every_client_must_send_it(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> None:
    client = _app(tmp_path, tiny_corpus, fake_embedder, api_token="s3cret")
    assert client.post("/api/documents", files=_files(("x.txt", NEW_DOC.encode()))).status_code == 401
    wrong = client.post("/api/documents", files=_files(("x.txt", NEW_DOC.encode())), headers={"X-API-Token": "nope"})
    assert wrong.status_code == 401 and not (tiny_corpus / "x.txt").exists()
    ok = client.post("/api/documents", files=_files(("x.txt", NEW_DOC.encode())), headers={"X-API-Token": "s3cret"})
    assert ok.status_code == 200


def test_uploads_are_off_for_an_index_of_other_files(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    other = tmp_path / "other-corpus"
    other.mkdir()
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    app = create_app(Settings(index_dir=tmp_path / "idx", corpus=[other]), embedder=fake_embedder)
    response = TestClient(app, base_url=BASE, client=LOCAL).post(
        "/api/documents", files=_files(("x.txt", NEW_DOC.encode()))
    )
    assert response.status_code == 409 and "holds files outside the corpus folder" in response.json()["detail"]
    assert list(other.iterdir()) == []


def test_a_concurrent_cli_build_gives_409_and_the_upload_is_undone(
    client: TestClient, tiny_corpus: Path, tmp_path: Path
) -> None:
    from retriever.index_dir import build_lock

    with build_lock(tmp_path / "idx"):  # another build holds the index (here: this thread)
        import threading

        result: dict[str, object] = {}

        def upload() -> None:
            r = client.post("/api/documents", files=_files(("late.txt", NEW_DOC.encode())))
            result["status"], result["body"] = r.status_code, r.json()

        t = threading.Thread(target=upload)
        t.start()
        t.join(60)
    assert result["status"] == 409
    assert "another policyrag build" in str(result["body"])
    assert not (tiny_corpus / "late.txt").exists()


def test_uploads_are_off_for_an_index_that_does_not_record_its_files(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    import json

    from retriever.store import current_dir

    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    mpath = current_dir(tmp_path / "idx") / "manifest.json"
    raw = json.loads(mpath.read_text(encoding="utf-8"))
    raw["sources"] = []  # as an index of the previous format: which files it holds is unknown
    mpath.write_text(json.dumps(raw), encoding="utf-8")
    app = create_app(Settings(index_dir=tmp_path / "idx", corpus=[tiny_corpus]), embedder=fake_embedder)
    response = TestClient(app, base_url=BASE, client=LOCAL).post(
        "/api/documents", files=_files(("x.txt", NEW_DOC.encode()))
    )
    assert response.status_code == 409 and "policyrag index" in response.json()["detail"]
    assert not (tiny_corpus / "x.txt").exists()


def test_office_and_pdf_files_are_indexed_by_their_content(client: TestClient) -> None:
    from tests.format_fixtures import gazette_pdf, gongwen_docx

    response = client.post(
        "/api/documents",
        files=[
            ("files", ("公文.docx", gongwen_docx(), "application/octet-stream")),
            ("files", ("公报.pdf", gazette_pdf(), "application/pdf")),
            ("files", ("fake.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf")),
        ],
    )
    assert response.status_code == 200, response.text
    outcome = {f["name"]: f for f in response.json()["files"]}
    assert outcome["公文.docx"]["status"] == outcome["公报.pdf"]["status"] == "accepted"
    assert outcome["fake.pdf"]["status"] == "rejected" and "PNG" in outcome["fake.pdf"]["error"]
    sources = {s for d in client.get("/api/documents").json() for s in d["sources"]}
    assert {"公文.docx", "公报.pdf"} <= sources


def test_a_file_the_readers_cannot_read_is_refused_after_the_build_and_removed(
    client: TestClient, tiny_corpus: Path
) -> None:
    broken = b"%PDF-1.7\n" + b"\x00garbage" * 50  # a PDF signature, no readable PDF behind it
    response = client.post("/api/documents", files=_files(("ok.txt", NEW_DOC.encode()), ("broken.pdf", broken)))
    assert response.status_code == 200, response.text
    outcome = {f["name"]: f for f in response.json()["files"]}
    assert outcome["ok.txt"]["status"] == "accepted"
    assert outcome["broken.pdf"]["status"] == "rejected" and "PDF" in outcome["broken.pdf"]["error"]
    assert not (tiny_corpus / "broken.pdf").exists() and (tiny_corpus / "ok.txt").exists()


def test_uploads_have_their_own_body_limit(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server caps request bodies at max_body_bytes (1 MiB by default); files need more, up to their own cap.
    import server.app

    monkeypatch.setattr(server.app, "MAX_UPLOAD_REQUEST_BYTES", 64 * 1024)
    client = _app(tmp_path, tiny_corpus, fake_embedder, max_body_bytes=4096)
    doc = (NEW_DOC + "第三条 " + "数据开放应当安全可控。" * 400 + "\n").encode()  # ~13 KB: over 4096, under 64 KB
    assert client.post("/api/documents", files=_files(("big.txt", doc))).status_code == 200
    assert client.post("/api/ask", json={"question": "问" * 3000}).status_code == 413  # other routes keep 4096
    huge = _files(("huge.txt", doc * 6))  # ~80 KB: over the upload cap
    response = client.post("/api/documents", files=huge)
    assert response.status_code == 413 and "65,536 bytes" in response.json()["detail"]
    assert not (tiny_corpus / "huge.txt").exists()
