"""Indexing a mixed folder: every format through one command, bad files reported and skipped, metadata shown
and filterable (CLI through the real parser, with the fake embedder)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import models.embedders
from indexer.pipeline import ingest
from policyrag.cli import main
from retriever.docfilter import FilterError, matching_documents, parse_years
from tests.conftest import FakeEmbedder
from tests.format_fixtures import gazette_pdf, gbk_page_declared_gb2312, gongwen_docx, per_character_ofd, rtf_doc

REGULATION = "\n".join(
    [
        "深圳市人民政府文件",
        "深府〔2020〕8号",
        "深圳市人工智能伦理管理办法",
        "第一条　为了规范人工智能伦理管理，制定本办法。",
        "第二条　市人工智能伦理委员会负责伦理审查工作。",
        "第三条　本办法自2020年10月1日起施行。",
    ]
)


@pytest.fixture()
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    fake = FakeEmbedder()
    monkeypatch.setattr(models.embedders, "create_embedder", lambda name, **_: fake)
    return fake


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out, stdin=io.StringIO("")), out.getvalue()


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "政策文件"
    folder.mkdir()
    (folder / "gazette.pdf").write_bytes(gazette_pdf())
    (folder / "notice.docx").write_bytes(gongwen_docx())
    (folder / "old.doc").write_bytes(rtf_doc())  # RTF named .doc
    (folder / "page.html").write_bytes(gbk_page_declared_gb2312())
    (folder / "gazette.ofd").write_bytes(per_character_ofd())
    (folder / "ethics.txt").write_text(REGULATION, encoding="utf-8")
    (folder / "utf16.txt").write_bytes(REGULATION.replace("伦理", "数据").encode("utf-16-le"))  # no BOM
    # Bad files: each is reported by name, with the reason, and the rest is indexed.
    (folder / "scan.pdf").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "broken.docx").write_bytes(gongwen_docx()[:1500])
    (folder / "garbled.txt").write_bytes((REGULATION * 2).encode("utf-8").decode("latin-1").encode("utf-8"))
    (folder / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    return folder


def test_mixed_folder_indexes_and_reports_bad_files(tmp_path: Path, mixed_folder: Path, fake_registry) -> None:  # type: ignore[no-untyped-def]
    code, out = run(["index", str(mixed_folder), "--index", str(tmp_path / "idx"), "--no-progress"])
    assert code == 0, out
    assert "indexed 10 files" in out
    assert "skipped 3 file(s) that could not be read:" in out
    assert "scan.pdf: unsupported content (a PNG image)" in out
    assert "broken.docx: cannot read this DOCX file" in out or "broken.docx: damaged DOCX" in out
    assert "garbled.txt: UTF-8 Chinese that was decoded as Latin-1" in out
    assert "ignored 1 file(s) of other types (.xlsx: 1)" in out

    code, out = run(["documents", "--index", str(tmp_path / "idx"), "--json"])
    docs = {d["title"]: d for d in json.loads(out)}
    assert docs["深圳市人工智能伦理管理办法"]["doc_number"] == "深府〔2020〕8号"  # 红头 and 文号 are not the title
    assert docs["深圳市人工智能伦理管理办法"]["issuer"] == "深圳市人民政府"
    assert docs["深圳市人工智能伦理管理办法"]["effective"] == "2020-10-01"
    assert docs["关于朱镕基同志题词的说明"]["doc_number"] == "某府办〔2021〕7号"
    assert "深圳市公共数据开放管理办法" in docs  # the gazette PDF and the OFD (one document, merged copies)
    assert "深圳市人工智能数据管理办法" in docs  # UTF-16 without a BOM

    code, out = run(["search", "伦理审查", "--index", str(tmp_path / "idx"), "--json", "--issuer", "深圳市人民政府"])
    assert code == 0
    titles = {r["doc_title"] for r in json.loads(out)["results"]}
    assert titles and titles <= {"深圳市人工智能伦理管理办法", "深圳市数据开放管理办法", "深圳市人工智能数据管理办法"}

    code, out = run(["documents", "--index", str(tmp_path / "idx"), "--year", "2021"])
    assert code == 0 and "某府办〔2021〕7号" in out and "深府〔2020〕8号" not in out


def test_strict_fails_and_keeps_no_partial_index(tmp_path: Path, mixed_folder: Path, fake_registry, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _ = run(["index", str(mixed_folder), "--index", str(tmp_path / "idx"), "--strict", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("policyrag: error: --strict:") and "scan.pdf" in err
    assert not (tmp_path / "idx").exists()


def test_nothing_readable_is_an_error_listing_the_reasons(tmp_path: Path, fake_registry, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"\x7fELF\x02\x01")
    (folder / "b.txt").write_bytes(b"\x00\x01\x02\x03binary\x00")
    code, _ = run(["index", str(folder), "--index", str(tmp_path / "idx"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no text found" in err and "a.pdf: unsupported content" in err and "b.txt" in err


def test_search_filter_errors_are_clean(tmp_path: Path, mixed_folder: Path, fake_registry, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["index", str(mixed_folder), "--index", str(tmp_path / "idx"), "--no-progress"])[0] == 0
    code, _ = run(["search", "数据", "--index", str(tmp_path / "idx"), "--year", "1999"])
    assert code == 2 and "no document dated 1999" in capsys.readouterr().err
    code, _ = run(["search", "数据", "--index", str(tmp_path / "idx"), "--year", "19"])
    assert code == 2 and "YYYY" in capsys.readouterr().err


def test_year_and_issuer_filters() -> None:
    from indexer.records import DocumentInfo

    docs = [
        DocumentInfo("a", "甲", "plan", issuer="深圳市人民政府", adopted="2019-05-14", published="2020-01-13"),
        DocumentInfo("b", "乙", "regulation", issuer="深圳市人民代表大会常务委员会", adopted="2022-08-30"),
        DocumentInfo("c", "丙", "article"),
    ]
    assert parse_years("2019-2020") == (2019, 2020)
    assert matching_documents(docs, year=2020) == {"a"}
    assert matching_documents(docs, year="2019-2022") == {"a", "b"}
    assert matching_documents(docs, issuer="深圳市") == {"a", "b"}
    assert matching_documents(docs, issuer="深圳市人民政府") == {"a"}
    with pytest.raises(FilterError, match="no document of that issuer dated 2022"):
        matching_documents(docs, issuer="深圳市人民政府", year="2022")
    with pytest.raises(FilterError, match="no document issued by"):
        matching_documents(docs, issuer="国务院")


def test_page_reaches_the_citation(tmp_path: Path) -> None:
    (tmp_path / "gazette.pdf").write_bytes(gazette_pdf())
    corpus = ingest([tmp_path], budget=380)
    citations = [c.citation for c in corpus.chunks]
    assert "《深圳市公共数据开放管理办法》第六条（第1页）" in citations


def test_api_filters_by_issuer_and_year(tmp_path: Path, mixed_folder: Path, fake_embedder: FakeEmbedder) -> None:
    from fastapi.testclient import TestClient

    from indexer.build import build_index
    from policyrag.settings import Settings
    from server.app import create_app

    build_index([mixed_folder], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    settings = Settings(
        index_dir=tmp_path / "idx", abstain_min_dense=0.0, abstain_min_coverage=0.0, abstain_sure_dense=0.0
    )
    client = TestClient(create_app(settings, embedder=fake_embedder, generator=None), base_url="http://127.0.0.1")
    body = client.get("/api/search", params={"q": "题词", "issuer": "办公厅"}).json()
    assert {r["doc_title"] for r in body["results"]} == {"关于朱镕基同志题词的说明"}
    response = client.get("/api/search", params={"q": "题词", "year": "1999"})
    assert response.status_code == 422 and "no document dated 1999" in response.json()["detail"]
    assert client.get("/api/search", params={"q": "题词", "year": "99"}).status_code == 422
    # Asked within 2020 only, the answer cannot cite the 2021 page; within 2021 it cites it.
    for year, cited in (("2020", False), ("2021", True)):
        body = client.post("/api/ask", json={"question": "题词的原件由谁保存？", "no_llm": True, "year": year}).json()
        assert any("题词" in c["citation"] for c in body["citations"]) is cited, body
    bad = client.post("/api/ask", json={"question": "题词", "no_llm": True, "year": "1999"})
    assert bad.status_code == 422
    docs = client.get("/api/documents").json()
    assert {d["doc_number"] for d in docs} >= {"某府办〔2021〕7号", "深府〔2020〕8号"}


def test_merged_copies_pool_their_metadata(tmp_path: Path) -> None:
    # The text copy comes first (and is the primary); only the web page knows the 文号 and the issuer.
    (tmp_path / "a_copy.txt").write_text(
        "关于朱镕基同志题词的说明\n一、朱镕基同志题词的原件由市档案馆保存。\n二、复制件可在政务服务大厅查阅。\n",
        encoding="utf-8",
    )
    (tmp_path / "b_page.html").write_bytes(gbk_page_declared_gb2312())
    corpus = ingest([tmp_path], budget=380)
    assert len(corpus.documents) == 1
    doc = corpus.documents[0]
    assert doc.sources == ("a_copy.txt", "b_page.html")
    assert (doc.doc_number, doc.issuer, doc.published) == ("某府办〔2021〕7号", "某市人民政府办公厅", "2021-03-05")
