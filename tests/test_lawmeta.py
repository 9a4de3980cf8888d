"""Markdown law files: front matter, dated versions (superseded), a law split across files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.dedupe import article_number, chinese_to_int
from indexer.lawmeta import (
    VersionedDocument,
    blank_front_matter,
    parse_front_matter,
    version_of,
    version_status,
)
from indexer.pipeline import ingest
from policyrag.cli import main
from retriever.search import Searcher
from retriever.store import load_index
from tests.conftest import FakeEmbedder

WITH_INFO = """# 中华人民共和国代表法

1992年4月3日 第七届全国人民代表大会第五次会议通过

2015年8月29日 第十二届全国人民代表大会常务委员会第十六次会议第二次修正

1992年4月3日 施行

<!-- INFO END -->

## 第一章 总则

第一条 为保证代表依法行使职权，制定本法。

第二条 代表依照本法的规定行使职权。

第三条 代表享有下列权利：

（一）出席本级人民代表大会会议；

（二）提出议案。
"""

NO_INFO = """# 烟花爆竹安全管理条例

第一条 为了加强烟花爆竹安全管理，制定本条例。

第二条 烟花爆竹的生产、经营，适用本条例。

第三条 国家对烟花爆竹的生产实行许可证制度。
"""

NEWER = WITH_INFO.replace(
    "第二条 代表依照本法的规定行使职权。", "第二条 代表依照宪法和本法的规定行使职权，履行义务。"
).replace(
    "2015年8月29日 第十二届全国人民代表大会常务委员会第十六次会议第二次修正",
    "2025年3月11日 第十四届全国人民代表大会第三次会议第三次修正",
)

CIVIL_TOTAL = """# 中华人民共和国民法典

# 总则编

2020年5月28日 第十三届全国人民代表大会第三次会议通过

2021年1月1日 施行

<!-- INFO END -->

## 第一章 基本规定

第一条 为了保护民事主体的合法权益，制定本法。

第二条 民法调整平等主体之间的人身关系和财产关系。

第三条 民事主体的人身权利、财产权利受法律保护。
"""

CIVIL_CONTRACT = """# 中华人民共和国民法典

# 合同编

2020年5月28日 第十三届全国人民代表大会第三次会议通过

<!-- INFO END -->

## 第一分编 通则

## 第一章 一般规定

第四百六十三条 本编调整因合同产生的民事关系。

第四百六十四条 合同是民事主体之间设立、变更、终止民事法律关系的协议。

第四百六十五条 依法成立的合同，受法律保护。

第四百六十六条 当事人对合同条款的理解有争议的，应当确定争议条款的含义。
"""

CIVIL_END = """# 中华人民共和国民法典

# 附则

2020年5月28日 第十三届全国人民代表大会第三次会议通过

<!-- INFO END -->

##

第一千二百五十九条 民法所称的“以上”、“以下”、“以内”、“届满”，包括本数。

第一千二百六十条 本法自2021年1月1日起施行。
"""


def test_front_matter_with_info_end() -> None:
    front = parse_front_matter(WITH_INFO)
    assert front is not None
    assert front.title == "中华人民共和国代表法"
    assert front.parts == ()
    assert front.adopted == "1992-04-03"
    assert front.amended == "2015-08-29"
    assert front.effective == "1992-04-03"
    assert len(front.info) == 3
    assert WITH_INFO.splitlines()[front.body_start] == ""
    assert WITH_INFO.splitlines()[front.body_start + 1] == "## 第一章 总则"


def test_front_matter_without_info_end_is_only_the_title() -> None:
    front = parse_front_matter(NO_INFO)
    assert front is not None
    assert front.title == "烟花爆竹安全管理条例"
    assert front.info == () and front.adopted is None
    assert NO_INFO.splitlines()[front.body_start].startswith("第一条")


def test_plain_text_has_no_front_matter() -> None:
    assert parse_front_matter("第一条 为了规范管理，制定本条例。\n第二条 本条例适用于本市。") is None


def test_part_heading_is_metadata() -> None:
    front = parse_front_matter(CIVIL_CONTRACT)
    assert front is not None and front.title == "中华人民共和国民法典" and front.parts == ("合同编",)


def test_blanking_keeps_title_and_line_numbers() -> None:
    front = parse_front_matter(WITH_INFO)
    assert front is not None
    blanked = blank_front_matter(WITH_INFO, front).splitlines()
    original = WITH_INFO.splitlines()
    assert len(blanked) == len(original)
    assert blanked[0] == "# 中华人民共和国代表法"
    assert not any("通过" in line for line in blanked[: front.body_start])
    assert blanked[front.body_start :] == original[front.body_start :]


def test_version_of_file_name() -> None:
    assert version_of("代表法(2015-08-29).md") == "2015-08-29"
    assert version_of("合同编.md") is None


def test_version_status_newest_dated_is_current() -> None:
    docs = [
        VersionedDocument("a", "代表法", "2015-08-29"),
        VersionedDocument("b", "代表法", "2025-03-11"),
        VersionedDocument("c", "代表法", "2010-10-28"),
        VersionedDocument("d", "民法典", None),
        VersionedDocument("e", "条例", "2001-01-01"),
    ]
    assert version_status(docs) == {"a": "b", "b": None, "c": "b", "d": None, "e": None}


def test_undated_copy_is_never_hidden() -> None:
    docs = [VersionedDocument("a", "法", None), VersionedDocument("b", "法", "2020-01-01")]
    assert version_status(docs) == {"a": None, "b": None}


def test_chinese_numerals_and_article_order() -> None:
    assert [chinese_to_int(n) for n in ("一", "十", "十二", "二十", "一百零五", "一千二百六十")] == [
        1,
        10,
        12,
        20,
        105,
        1260,
    ]
    assert article_number("第三条之一") == pytest.approx(3.001)
    assert article_number("第一千二百六十条") == 1260
    assert article_number("（前言）") is None


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_ingest_metadata_is_not_text_and_versions_are_marked(tmp_path: Path) -> None:
    folder = _write(tmp_path / "laws", {"代表法(2015-08-29).md": WITH_INFO, "代表法(2025-03-11).md": NEWER})
    corpus = ingest([folder], budget=400)
    assert corpus.stats.documents == 2 and corpus.stats.superseded_documents == 1
    old = next(d for d in corpus.documents if d.version == "2015-08-29")
    new = next(d for d in corpus.documents if d.version == "2025-03-11")
    assert (old.status, old.superseded_by) == ("superseded", new.doc_id)
    assert (new.status, new.superseded_by) == ("current", None)
    assert new.adopted == "1992-04-03" and new.amended == "2025-03-11"
    keys = [m.unit.key for m in corpus.units[new.doc_id]]
    assert keys == ["第一条", "第二条", "第三条"]  # no preamble made of the metadata lines
    assert all("通过" not in c.text for c in corpus.chunks)


def test_ingest_civil_code_split_across_files_is_one_law_in_article_order(tmp_path: Path) -> None:
    folder = _write(tmp_path / "民法典", {"合同编.md": CIVIL_CONTRACT, "总则.md": CIVIL_TOTAL, "附则.md": CIVIL_END})
    corpus = ingest([folder], budget=400)
    assert corpus.stats.documents == 1
    (doc,) = corpus.documents
    assert doc.title == "中华人民共和国民法典" and doc.status == "current" and doc.version is None
    keys = [m.unit.key for m in corpus.units[doc.doc_id]]
    assert keys == [
        "第一条",
        "第二条",
        "第三条",
        "第四百六十三条",
        "第四百六十四条",
        "第四百六十五条",
        "第四百六十六条",
        "第一千二百五十九条",
        "第一千二百六十条",
    ]
    contract = next(m.unit for m in corpus.units[doc.doc_id] if m.unit.key == "第四百六十三条")
    assert contract.path == ("第一分编 通则", "第一章 一般规定", "第四百六十三条")


def test_search_leaves_out_superseded_versions_by_default(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    folder = _write(tmp_path / "laws", {"代表法(2015-08-29).md": WITH_INFO, "代表法(2025-03-11).md": NEWER})
    build_index([folder], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    index = load_index(tmp_path / "idx")
    searcher = Searcher(index, fake_embedder)
    old = next(d for d in index.documents if d.status == "superseded")
    default = searcher.search("代表依照本法的规定行使职权", k=10)
    assert default.results and all(r.doc_id != old.doc_id for r in default.results)
    for mode in ("dense", "bm25"):
        assert all(r.doc_id != old.doc_id for r in searcher.search("代表行使职权", k=10, mode=mode).results)
    everything = searcher.search("代表依照本法的规定行使职权", k=10, include_superseded=True)
    assert any(r.doc_id == old.doc_id for r in everything.results)
    asked_by_id = searcher.search("代表行使职权", k=10, doc=old.doc_id)
    assert asked_by_id.results and all(r.doc_id == old.doc_id for r in asked_by_id.results)


def test_cli_include_superseded_and_documents_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder: FakeEmbedder
) -> None:
    monkeypatch.setattr("models.embedders.create_embedder", lambda name, **_: fake_embedder)
    folder = _write(tmp_path / "laws", {"代表法(2015-08-29).md": WITH_INFO, "代表法(2025-03-11).md": NEWER})
    idx = tmp_path / "idx"

    def run(argv: list[str]) -> tuple[int, str]:
        out = io.StringIO()
        return main(argv, out=out, stdin=io.StringIO("")), out.getvalue()

    assert run(["index", str(folder), "--index", str(idx), "--no-progress"])[0] == 0
    code, listing = run(["documents", "--index", str(idx)])
    assert code == 0 and "(2015-08-29)" in listing and "superseded by" in listing
    code, text = run(["search", "代表依照本法的规定行使职权", "--index", str(idx), "--json"])
    versions = {r["doc_id"] for r in json.loads(text)["results"]}
    code, text = run(["search", "代表依照本法的规定行使职权", "--index", str(idx), "--json", "--include-superseded"])
    assert len({r["doc_id"] for r in json.loads(text)["results"]}) == len(versions) + 1


def test_api_include_superseded(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    from fastapi.testclient import TestClient

    from policyrag.settings import Settings
    from server.app import create_app

    folder = _write(tmp_path / "laws", {"代表法(2015-08-29).md": WITH_INFO, "代表法(2025-03-11).md": NEWER})
    build_index([folder], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    client = TestClient(create_app(Settings(index_dir=tmp_path / "idx"), embedder=fake_embedder), base_url="http://127.0.0.1")
    docs = client.get("/api/documents").json()
    old = next(d for d in docs if d["status"] == "superseded")
    assert old["version"] == "2015-08-29" and old["superseded_by"] and old["articles"] == 3
    query = {"q": "代表依照本法的规定行使职权", "k": 10}
    default = {r["doc_id"] for r in client.get("/api/search", params=query).json()["results"]}
    widened = {
        r["doc_id"] for r in client.get("/api/search", params={**query, "include_superseded": True}).json()["results"]
    }
    assert old["doc_id"] not in default and old["doc_id"] in widened
