"""build_index's report: cache hits are counted per text, whatever else the shared cache holds."""

from __future__ import annotations

from pathlib import Path

from indexer.build import build_index
from tests.conftest import FakeEmbedder


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "doc.md").write_text(text, encoding="utf-8")
    return path


def test_cached_vectors_counts_hits_not_cache_size(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    cache = tmp_path / "cache"
    big = _folder(
        tmp_path / "big", "# 甲条例\n\n" + "\n\n".join(f"第{n}条 甲的第{n}项规定。" for n in "一二三四五六七八九十")
    )
    small = _folder(
        tmp_path / "small", "# 乙条例\n\n第一条 乙的规定。\n\n第二条 乙的另一规定。\n\n第三条 乙的施行日期。"
    )
    first = build_index([big], tmp_path / "i1", fake_embedder, cache_dir=cache, progress=False)
    assert first.cached_vectors == 0 and first.stats.chunks == 10
    other = build_index([small], tmp_path / "i2", fake_embedder, cache_dir=cache, progress=False)
    assert other.cached_vectors == 0  # the cache holds 10 vectors, none of them for these 3 chunks
    again = build_index([small], tmp_path / "i3", fake_embedder, cache_dir=cache, progress=False)
    assert again.cached_vectors == again.stats.chunks == 3
