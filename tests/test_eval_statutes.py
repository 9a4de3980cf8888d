"""Tests for eval.common.statutes (tiny inline samples; no dataset needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.common.statutes import (
    StatuteQuestion,
    load_stard,
    resolution_report,
    resolve_gold,
    split_gold,
    title_index,
    title_key,
    unit_id,
)

TITLES = [
    "中华人民共和国民法典",
    "个体工商户条例",
    "中华人民共和国刑法",
    "最高人民法院关于适用《中华人民共和国民法典》有关担保制度的解释",
    "最高人民法院关于适用《中华人民共和国保险法》若干问题的解释（二）",
]


def test_load_stard(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    rows = [
        {
            "id": 0,
            "question": "谁可以成为个体工商户？",
            "gold": ["中华人民共和国民法典第五十四条", "个体工商户条例第二条"],
        },
        {"id": 1, "question": "醉驾怎么处罚？", "gold": ["刑法第一百三十三条之一"]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    qs = load_stard(path)
    assert qs[0] == StatuteQuestion(
        "0", "谁可以成为个体工商户？", ("中华人民共和国民法典第五十四条", "个体工商户条例第二条")
    )
    assert qs[1].gold == ("刑法第一百三十三条之一",)
    with pytest.raises(AttributeError):
        qs[0].id = "x"  # type: ignore[misc]


def test_load_stard_rejects_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "question": "q"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_stard(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("中华人民共和国民法典第五十四条", ("中华人民共和国民法典", "第五十四条")),
        ("个体工商户条例第二条", ("个体工商户条例", "第二条")),
        ("中华人民共和国民法典第一千零七十九条", ("中华人民共和国民法典", "第一千零七十九条")),
        ("刑法第一百三十三条之一", ("刑法", "第一百三十三条之一")),
        ("民法典第十条 ", ("民法典", "第十条")),
        ("民法典", None),
        ("第十条", None),
        ("民法典第十条第二款", None),
    ],
)
def test_split_gold(name: str, expected: tuple[str, str] | None) -> None:
    assert split_gold(name) == expected


def test_title_key_ignores_prefix_brackets_and_spaces() -> None:
    assert title_key("中华人民共和国民法典") == title_key("民法典")
    assert title_key("最高人民法院关于适用《民法典》有关担保制度的解释") == title_key(TITLES[3])
    assert title_key("关于适用《保险法》若干问题的解释(二)") == title_key("关于适用《保险法》若干问题的解释（二）")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("中华人民共和国民法典第五十四条", ("中华人民共和国民法典", "第五十四条")),
        ("民法典第五十四条", ("中华人民共和国民法典", "第五十四条")),
        ("中华人民共和国个体工商户条例第二条", ("个体工商户条例", "第二条")),
        ("刑法第一百三十三条之一", ("中华人民共和国刑法", "第一百三十三条之一")),
        (
            "最高人民法院关于适用《民法典》有关担保制度的解释第十七条",
            (TITLES[3], "第十七条"),
        ),
        ("最高人民法院关于适用《保险法》若干问题的解释(二)第三条", (TITLES[4], "第三条")),
        ("公司法第三条", None),  # title not ingested
        ("民法典", None),  # no article label
    ],
)
def test_resolve_gold(name: str, expected: tuple[str, str] | None) -> None:
    assert resolve_gold(name, TITLES) == expected
    assert resolve_gold(name, title_index(TITLES)) == expected


def test_unit_id_matches_citation_form() -> None:
    assert unit_id("中华人民共和国民法典", "第五十四条") == "《中华人民共和国民法典》第五十四条"


def test_resolution_report() -> None:
    qs = [
        StatuteQuestion("0", "q0", ("中华人民共和国民法典第五十四条", "个体工商户条例第二条")),
        StatuteQuestion("1", "q1", ("公司法第三条", "民法典第十条")),
        StatuteQuestion("2", "q2", ("公司法第四条", "不是法条")),
    ]
    r = resolution_report(qs, TITLES)
    assert (r.questions, r.gold_names, r.resolved_names) == (3, 6, 3)
    assert (r.questions_all_resolved, r.questions_any_resolved) == (1, 2)
    assert r.unparsed == ("不是法条",)
    assert r.unknown_titles == (("公司法", 2),)
    assert r.resolved_share == pytest.approx(0.5)
