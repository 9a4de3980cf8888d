"""The statute benchmark on a tiny inline law collection, and ``policyrag eval statutes`` through the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import models.embedders
from eval.common.statutes import StatuteQuestion
from eval.suites.statute_bench import DEPTH, evaluate_statutes, format_statutes, tuning_ids
from indexer.build import build_index
from policyrag.cli import main
from retriever.search import Searcher
from retriever.store import load_index
from tests.conftest import FakeEmbedder

FIREWORKS = """# 烟花爆竹安全管理条例

<!-- INFO END -->

第一条 为了加强烟花爆竹安全管理，预防爆炸事故发生，制定本条例。

第二条 烟花爆竹的生产、经营、运输和燃放，适用本条例。

第三条 国家对烟花爆竹的生产、经营、运输和举办焰火晚会实行许可证制度。
"""

OLD_LABOUR = """# 中华人民共和国劳动法

<!-- INFO END -->

第一条 为了保护劳动者的合法权益，制定本法。

第二条 在中华人民共和国境内的企业和与之形成劳动关系的劳动者，适用本法。

第三条 劳动者享有平等就业和选择职业的权利。
"""

NEW_LABOUR = OLD_LABOUR.replace(
    "第三条 劳动者享有平等就业和选择职业的权利。", "第三条 劳动者享有平等就业、选择职业和休息休假的权利。"
)

QUESTIONS = [
    StatuteQuestion("1", "举办焰火晚会需要许可证吗？", ("烟花爆竹安全管理条例第三条",)),
    StatuteQuestion("2", "劳动者有休息休假的权利吗？", ("中华人民共和国劳动法第三条", "劳动法第一条")),
    StatuteQuestion("3", "合同怎么解除？", ("中华人民共和国合同法第九十三条",)),  # law not in the collection
    StatuteQuestion("4", "烟花爆竹运输归谁管？", ("烟花爆竹安全管理条例第九十九条",)),  # article not in the law
]


def _laws(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "烟花爆竹安全管理条例(2016-02-06).md").write_text(FIREWORKS, encoding="utf-8")
    (folder / "劳动法(2009-08-27).md").write_text(OLD_LABOUR, encoding="utf-8")
    (folder / "劳动法(2018-12-29).md").write_text(NEW_LABOUR, encoding="utf-8")
    return folder


def _stard(path: Path) -> Path:
    lines = [
        json.dumps({"id": int(q.id), "question": q.question, "gold": list(q.gold)}, ensure_ascii=False)
        for q in QUESTIONS
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_statute_report(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    build_index([_laws(tmp_path / "laws")], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    searcher = Searcher(load_index(tmp_path / "idx"), fake_embedder)
    report = evaluate_statutes(searcher, QUESTIONS, progress=False)

    assert report["questions"] == 4
    assert report["evaluated_questions"] == 3  # question 3's law is not in the collection
    res = report["resolution"]
    assert (res["gold_names"], res["resolved_names"], res["resolved_in_index"]) == (5, 4, 3)
    assert res["unknown_titles"] == [["中华人民共和国合同法", 1]]
    assert report["index"]["superseded_documents"] == 1
    assert report["index"]["searchable_chunks"] == 6  # the old 劳动法 is left out
    assert [m["name"] for m in report["methods"]] == ["bm25", "dense", "hybrid", "hybrid+rerank"]
    bm25 = report["methods"][0]
    assert len(bm25["recall_curve"]) == DEPTH
    # Q1: 第三条 first (许可证 and 焰火晚会 only occur there); Q2: both gold articles are in a 6-chunk index;
    # Q4: its gold article does not exist, so it can never be found.
    assert bm25["metrics"]["R@1"] == pytest.approx(2 / 3, abs=1e-3)
    assert bm25["metrics"]["R@100"] == pytest.approx(2 / 3, abs=1e-3)
    assert bm25["recall_curve"][-1] == pytest.approx(2 / 3, abs=1e-3)
    # Capped recall (R_cap) need not grow with k: Q2 has two gold articles, R@1 counts one of one.
    assert bm25["recall_curve"][0] == bm25["metrics"]["R@1"] and bm25["recall_curve"][9] == bm25["metrics"]["R@10"]
    table = format_statutes(report)
    assert "| hybrid |" in table and "3 of 4 STARD questions" in table


def test_bm25_ranks_the_distinctive_article_first(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    build_index([_laws(tmp_path / "laws")], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    searcher = Searcher(load_index(tmp_path / "idx"), fake_embedder)
    report = evaluate_statutes(searcher, QUESTIONS[:1], progress=False)
    bm25 = report["methods"][0]["metrics"]
    assert bm25["R@1"] == 1.0 and bm25["MRR@10"] == 1.0 and bm25["nDCG@10"] == 1.0


def test_tuning_ids_are_the_fusion_study_sample() -> None:
    many = [StatuteQuestion(str(i), "问", ("法第一条",)) for i in range(1000)]
    ids = tuning_ids(many)
    assert len(ids) == 300 and ids == tuning_ids(many)
    assert tuning_ids(many[:10]) == {str(i) for i in range(10)}


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out, stdin=io.StringIO("")), out.getvalue()


def test_cli_statutes_skips_without_datasets(tmp_path: Path) -> None:
    code, text = _run(["eval", "statutes", "--laws", str(tmp_path / "nope"), "--reports", str(tmp_path / "r")])
    assert code == 0 and "skipped" in text and "nope" in text
    assert not (tmp_path / "r").exists()


def test_cli_statutes_builds_the_law_index_and_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder: FakeEmbedder
) -> None:
    monkeypatch.setattr(models.embedders, "create_embedder", lambda name, **_: fake_embedder)
    laws, stard = _laws(tmp_path / "laws"), _stard(tmp_path / "stard.jsonl")
    argv = ["eval", "statutes", "--laws", str(laws), "--stard", str(stard), "--work-dir", str(tmp_path / "w")]
    argv += ["--embedder", fake_embedder.name]
    argv += ["--reports", str(tmp_path / "r"), "--no-progress"]
    code, text = _run(argv)
    assert code == 0 and "building the law index" in text and "| bm25 |" in text
    report = json.loads((tmp_path / "r" / "statutes.json").read_text(encoding="utf-8"))
    assert report["kind"] == "statutes" and report["evaluated_questions"] == 3
    code, text = _run(argv)  # second run reuses the index
    assert code == 0 and "building the law index" not in text
