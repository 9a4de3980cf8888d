"""The authority prior: statutes (法/法典) get a small boost after fusion."""

from __future__ import annotations

from pathlib import Path

from indexer.build import build_index
from retriever.rerank import AuthorityPrior, is_statute
from retriever.search import Searcher
from retriever.store import load_index
from tests.conftest import FakeEmbedder


def test_statute_titles() -> None:
    assert is_statute("中华人民共和国民法典") and is_statute("劳动合同法")
    assert not is_statute("劳动合同法实施条例")
    assert not is_statute("最高人民法院关于适用《中华人民共和国民法典》的解释")


def test_rerank_moves_a_close_statute_ahead_only() -> None:
    prior = AuthorityPrior.for_titles(["劳动合同法实施条例", "劳动合同法", "工伤保险条例", "劳动法"], 0.02)
    fused = [(0, 0.900), (1, 0.890), (2, 0.880), (3, 0.700)]
    assert [row for row, _ in prior.rerank(fused)] == [1, 0, 2, 3]  # 0.91 > 0.90; 0.72 stays last
    assert prior.rerank([]) == []


def test_searcher_applies_the_prior_only_when_asked(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    folder = tmp_path / "laws"
    folder.mkdir()
    (folder / "a.md").write_text(
        "# 烟花爆竹安全管理条例\n\n第一条 燃放烟花爆竹应当遵守安全规定。\n\n第二条 本条例自公布之日起施行。\n\n"
        "第三条 违反本条例的，依法处罚。\n",
        encoding="utf-8",
    )
    (folder / "b.md").write_text(
        "# 治安管理处罚法\n\n第一条 燃放烟花爆竹危害公共安全的，依法处罚。\n\n第二条 本法自公布之日起施行。\n\n"
        "第三条 处罚应当公正。\n",
        encoding="utf-8",
    )
    build_index([folder], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    index = load_index(tmp_path / "idx")
    plain = Searcher(index, fake_embedder).search("燃放烟花爆竹", k=6)
    boosted = Searcher(index, fake_embedder, authority_boost=1.0).search("燃放烟花爆竹", k=6)
    assert {r.chunk_id for r in plain.results} == {r.chunk_id for r in boosted.results}
    titles = [r.doc_title for r in boosted.results]
    assert titles[:3] == ["治安管理处罚法"] * 3  # a boost of 1.0 dominates any cosine difference
