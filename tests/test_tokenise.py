"""jieba tokenisation with the corpus-built user dictionary."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.tokenise import STOPWORDS, JiebaTokenizer, domain_terms

TEXTS = [
    "第六条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。",
    "《条例》根据国务院发布的《新一代人工智能发展规划》，同时参考《网络安全标准实践指南—人工智能伦理安全风险防范指引》等文件。",
    "2019年10月，科技部和深圳市政府共同启动深圳国家新一代人工智能创新发展试验区(以下简称“深圳试验区”)建设。",
    "通过了《深圳经济特区人工智能产业促进条例》（以下简称《条例》），自2022年11月1日起实施。",
    "参考《Artificial Intelligence Act》的做法。",
]


@pytest.fixture(scope="module")
def tokenizer() -> JiebaTokenizer:
    return JiebaTokenizer(domain_terms(TEXTS))


@pytest.fixture(scope="module")
def plain() -> JiebaTokenizer:
    tok = JiebaTokenizer()
    tok.cut("预热")  # load the dictionary once for the module
    return tok


def test_domain_terms_finds_titles_and_defined_names() -> None:
    terms = domain_terms(TEXTS)
    assert terms == sorted(terms)
    assert set(terms) == {
        "市产业主管部门",
        "深圳试验区",
        "新一代人工智能发展规划",
        "网络安全标准实践指南—人工智能伦理安全风险防范指引",
        "深圳经济特区人工智能产业促进条例",
        "条例",
    }
    assert "《条例》" not in terms  # a defined name that is itself a 《title》 is not taken with its brackets
    assert not any(" " in t for t in terms)  # 《Artificial Intelligence Act》 has spaces


def test_domain_terms_of_plain_text_is_empty() -> None:
    assert domain_terms(["人工智能产业快速发展。", ""]) == []


def test_user_words_stay_whole(tokenizer: JiebaTokenizer, plain: JiebaTokenizer) -> None:
    text = "市产业主管部门应当会同有关部门推进深圳试验区建设"
    # jieba alone splits it; this also shows that the user words of ``tokenizer`` (built first)
    # did not leak into another instance through jieba's process-wide tokenizer
    assert "市产业主管部门" not in plain.cut(text)
    tokens = tokenizer.cut(text)
    assert "市产业主管部门" in tokens
    assert "深圳试验区" in tokens
    assert "".join(tokens) == text


def test_cut_drops_whitespace_and_count_matches(tokenizer: JiebaTokenizer) -> None:
    text = "人工智能 产业\n发展"
    tokens = tokenizer.cut(text)
    assert all(t.strip() for t in tokens)
    assert "".join(tokens) == "人工智能产业发展"
    assert tokenizer.count(text) == len(tokens)


def test_terms_drop_punctuation_and_stopwords(tokenizer: JiebaTokenizer) -> None:
    terms = tokenizer.terms("什么是人工智能？市产业主管部门的职责有哪些，AI芯片")
    assert "人工智能" in terms
    assert {"人工", "智能"} <= set(terms)  # cut_for_search also emits the parts
    assert "市产业主管部门" in terms
    assert "ai" in terms  # lower-cased
    assert "AI" not in terms
    assert not set(terms) & STOPWORDS
    assert not any(t in "？，、。" for t in terms)


def test_terms_of_a_stopword_only_query_is_empty(tokenizer: JiebaTokenizer) -> None:
    assert tokenizer.terms("是什么？哪些") == []


def test_user_dictionary_round_trip(tokenizer: JiebaTokenizer, tmp_path: Path) -> None:
    path = tmp_path / "userdict.txt"
    tokenizer.save_user_dict(path)
    assert path.read_text(encoding="utf-8").splitlines() == list(tokenizer.user_words)
    loaded = JiebaTokenizer.load(path)
    assert loaded.user_words == tokenizer.user_words
    text = "市产业主管部门应当会同有关部门推进深圳试验区建设，落实《深圳经济特区人工智能产业促进条例》"
    assert loaded.cut(text) == tokenizer.cut(text)
    assert loaded.terms(text) == tokenizer.terms(text)


def test_empty_user_dictionary_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "userdict.txt"
    JiebaTokenizer().save_user_dict(path)
    assert path.read_text(encoding="utf-8") == ""
    assert JiebaTokenizer.load(path).user_words == ()
