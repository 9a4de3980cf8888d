"""Pure text normalisation and mojibake detection, on examples taken from the messy corpus."""

from __future__ import annotations

import pytest

from indexer.mojibake import is_mojibake, map_private_use, mojibake_spans
from indexer.normalise import (
    is_boilerplate,
    normalise_line,
    normalise_query,
    normalise_text,
    strip_pinyin,
    tidy_spaces,
    to_simplified,
    unify_width,
)

# --- pinyin annotations (corpus/003) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("深圳經(jīng)濟(jì)特區(qū)人工智能產(chǎn)業(yè)促進(jìn)條例", "深圳經濟特區人工智能產業促進條例"),
        ("應(yīng)當(dāng)按照國家人工智能治理相關(guān)規(guī)定", "應當按照國家人工智能治理相關規定"),
        ("科技創(chuàng)新、規(guī)劃和自然資源", "科技創新、規劃和自然資源"),
        ("推動數(shù)據(jù)要素資源化", "推動數據要素資源化"),
    ],
)
def test_strip_pinyin_removes_annotations(raw: str, expected: str) -> None:
    assert strip_pinyin(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "支持车联网(C-V2X)技术研发",
        "人工智能(AI)产业",
        "行动计划(2019-2023年)",
        "芯片功耗(W)与算力",  # upper-case abbreviation
        "数据量(TB)",
        "see (jing) here",  # not directly after a Chinese character
    ],
)
def test_strip_pinyin_keeps_non_pinyin_brackets(text: str) -> None:
    assert strip_pinyin(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("跨學(xué)科", "跨學科"), ("超越(yuè)", "超越"), ("決(jué)策", "決策"), ("確(què)保", "確保")],
)
def test_strip_pinyin_handles_ue_final(raw: str, expected: str) -> None:
    assert strip_pinyin(raw) == expected


# --- traditional → simplified ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("深圳經濟特區人工智能產業促進條例", "深圳经济特区人工智能产业促进条例"),
        ("倫理安全規範", "伦理安全规范"),
        ("市人民政府應當設立市人工智能倫理委員會", "市人民政府应当设立市人工智能伦理委员会"),
    ],
)
def test_to_simplified(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified


def test_to_simplified_leaves_simplified_text_and_empty_string_alone() -> None:
    text = "第六条 市工业和信息化部门是人工智能产业主管部门，负责实施。"
    assert to_simplified(text) == text
    assert to_simplified("") == ""


# --- widths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # half-width punctuation in Chinese text (corpus/000 is written like this)
        (
            "于2022年8月30日通过,现予公布,自2022年11月1日起施行。",
            "于2022年8月30日通过，现予公布，自2022年11月1日起施行。",
        ),
        ("履行下列职责:(一)研究制定", "履行下列职责：（一）研究制定"),
        ("发展;推进", "发展；推进"),
        ("是什么?", "是什么？"),
        # thousands separators stay
        ("投资12,000元", "投资12,000元"),
        ("截至2023年,12,000家企业", "截至2023年，12,000家企业"),
        # full-width digits, letters and the ideographic space become half-width
        ("２０２３年建成２０家以上创新载体", "2023年建成20家以上创新载体"),
        ("ＡＩ芯片", "AI芯片"),
        ("目\u3000录", "目 录"),
        # brackets touching or containing Chinese become full-width; others stay
        ("人工智能(AI)产业", "人工智能（AI）产业"),
        ("(2019-2023年)", "（2019-2023年）"),
        ("see (a, b) here", "see (a, b) here"),
    ],
)
def test_unify_width(raw: str, expected: str) -> None:
    assert unify_width(raw) == expected


# --- spaces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("自 2022 年 11 月 1 日起施行", "自2022年11月1日起施行"),
        ("公 告第六十四号", "公告第六十四号"),
        ("目 录", "目录"),
        ("共 12 000 元", "共12 000元"),  # digit space digit is kept: it is part of a number
        ("AI 芯片", "AI 芯片"),  # Latin next to Chinese keeps its space
        ("  深圳   人工智能  ", "深圳人工智能"),
        ("hello    world", "hello world"),
    ],
)
def test_tidy_spaces(raw: str, expected: str) -> None:
    assert tidy_spaces(raw) == expected


# --- whole lines ----------------------------------------------------------------------------------


def test_normalise_line_traditional_with_pinyin() -> None:
    raw = "深圳經(jīng)濟(jì)特區(qū)人工智能產(chǎn)業(yè)促進(jìn)條例"
    assert normalise_line(raw) == "深圳经济特区人工智能产业促进条例"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("## 一、指导思想", "一、指导思想"),
        ("# 深圳市新一代人工智能发展行动计划(2019-2023年)", "深圳市新一代人工智能发展行动计划（2019-2023年）"),
        ("###### 芯片优势", "芯片优势"),
        ("<!-- INFO END -->", ""),
        ("鼓励社会资本参与人工智能产业发展。<!-- 来自深圳人大网 -->", "鼓励社会资本参与人工智能产业发展。"),
        ("- 智能芯片", "智能芯片"),
        ("* 智能传感器", "智能传感器"),
        ("#话题标签", "#话题标签"),  # no space after '#': not a markdown heading
    ],
)
def test_normalise_line_markdown(raw: str, expected: str) -> None:
    assert normalise_line(raw) == expected


def test_normalise_query_uses_document_rules_and_joins_lines() -> None:
    assert normalise_query("深圳經濟特區 人工智能\n\n  倫理委員會(AI) ") == "深圳经济特区人工智能 伦理委员会（AI）"


# --- boilerplate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "深圳人大网",
        "微信扫描二维码，关注公众号。",
        "2020/1/13 11:45深圳市人民政府关键字：深圳人工智能发展行动计划浏览量：",
        "（47）",
        "(47)",
        "上一篇：深圳市人民政府关于印发通知",
        "责任编辑：张三",
        "打印本页 关闭窗口",
        "分享到：",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "第六条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门）。",
        "（一）研究制定人工智能领域的伦理安全规范；",
        "人工智能产业优势突出，跻身全国第三",
        "2019年5月，《深圳市新一代人工智能发展行动计划（2019-2023年）》出台。",
        "芯片优势",
        "（2022年8月30日深圳市第七届人民代表大会常务委员会第十一次会议通过）",
    ],
)
def test_policy_text_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


@pytest.mark.parametrize("line", ["工业互联网", "智能电网", "资金来源：市级财政专项资金。"])
def test_content_lines_that_look_like_boilerplate_are_kept(line: str) -> None:
    assert not is_boilerplate(line)


# --- mojibake -------------------------------------------------------------------------------------

# Real damaged lines from corpus/003 (GBK bytes read as Big5 somewhere upstream).
MOJIBAKE_LINES = [
    "。ㄒ唬┭芯恐贫ㄈ斯ぶ悄茴I(lǐng)域的倫理安全規(guī)範;",
    "。ǘ┙⒔∪斯ぶ悄軅惱戆踩(guī)范管理制度,引導(dǎo)和規(guī)范人工智能倫理安全規(guī)范",
    "。ㄎ澹┰u估、監(jiān)督本市人工智能企業(yè)的倫理安全規(guī)範執(zhí)行情況;",
    "。├蒙疃群铣杉夹g(shù)從事禁止行為;",
    "對實(shí)施效果良好、發(fā)展?jié)摿Υ蟮捻?xiàng)目可以追加支持。",
    "發展?jié)摿Υ蟮",
]

# Clean lines in the corpus' own styles: simplified/traditional, half- and full-width punctuation,
# Latin abbreviations, digits, quotes and dashes.
CLEAN_LINES = [
    "第六条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。",
    "第十条 市人民政府有关部门应当按照鼓励创新的原则,对人工智能产业实行包容审慎监管。",
    "针对人工智能新技术、新产业、新业态、新模式等特点制定相应的监管规则 and 标准，实行分类分级监管。",
    "（一）研究制定人工智能领域的伦理安全规范；",
    "(四)發布人工智能倫理安全實踐指南、人工智能倫理安全白皮書以及人工智能企業倫理安全治理優秀案例集等",
    "深圳經濟特區人工智能產業促進條例",
    "市人工智能倫理委員會的日常工作由市產業主管部門承擔。",
    "深圳四大优势,成为中国人工智能第三“极”",
    "人工智能已经成为继互联网+之后的又一“飓风口”，并成为推动新一轮经济发展的强动力和巨大引擎。",
    "在2018年华为云计算大会上,华为发布了两款人工智能芯片:胜腾910和胜腾310.它们在行业中处于领先地位。",
    "同时,华为全新推出了HiAI2.0.带来更强劲的AI算力。",
    "2019年9月6日,华为发布了全球首款智能集成5G芯片——麒麟9905G。",
    "统计研究数据显示,2000年以来,北京人工智能企业累计融资规模超过28亿美元。",
    "2019年10月，科技部和深圳市政府共同启动深圳国家新一代人工智能创新发展试验区(以下简称“深圳试验区”)建设。",
    "深圳市新一代人工智能发展行动计划(2019-2023年)",
    "2020/1/13 11:45   深圳市人民政府      关键字:深圳 人工智能 发展行动计划      浏览量:",
    "专栏1 基础理论研究",
    "1.加强基础理论研究。聚焦人工智能重大科学前沿导向,在理论和应用基础两个层面组织实施重大基础科研专项。",
    "ChatGPT等生成式人工智能的迅速崛起,标志着人工智能时代的强势来临。",
    "（一）美国：战略引领，资本支撑，技术领先。",
    "围绕“明确范围+补齐短板+强化支撑+抢抓应用+集聚发展+规范治理”等环节进行探索创新。",
    "《网络安全标准实践指南—人工智能伦理安全风险防范指引》以及《广东省加快发展新一代人工智能产业实施方案》",
]


@pytest.mark.parametrize("line", MOJIBAKE_LINES)
def test_real_mojibake_is_detected(line: str) -> None:
    assert is_mojibake(strip_pinyin(line))
    assert is_mojibake(line)


@pytest.mark.parametrize("line", CLEAN_LINES)
def test_clean_corpus_lines_are_not_mojibake(line: str) -> None:
    assert mojibake_spans(strip_pinyin(line)) == []


def test_mojibake_spans_point_at_the_damage() -> None:
    line = "發展?jié)摿Υ蟮"  # from corpus/003: the Greek capital upsilon gives it away
    assert [line[a:b] for a, b in mojibake_spans(line)] == ["Υ"]
    # A half-width '?' between Chinese characters is ordinary scraped punctuation, not damage.
    assert mojibake_spans("什么是人工智能?人工智能是指利用计算机模拟人类智能") == []
    several = "。ㄒ唬┭芯恐贫ㄈ斯ぶ悄"
    spans = mojibake_spans(several)
    assert spans == sorted(spans)
    assert {several[a:b] for a, b in spans} >= {"ㄒ", "┭", "ㄈ", "ぶ"}


def test_foreign_script_without_chinese_is_not_mojibake() -> None:
    assert not is_mojibake("Ελληνικά και русский")
    assert not is_mojibake("What is AI? Why?")


# Lines from real regulations that the old rule (any Greek/Cyrillic/private-use letter) dropped.
SYMBOL_LINES = [
    "（三）汞≤0.6μg/g，铅≤1.0mg/kg；",
    "第五条　含β-内酰胺类抗生素的药品，应当单独存放。",
    "α-六氯环己烷的残留限量按照国家标准执行。",
    "声学阻抗单位为Pa·s/m，磁通单位为λ·s。",
    "钢筋直径不小于Ф40mm。",
    "使用β受体阻滞剂的患者应当定期复查。",  # one Greek letter between ideographs proves nothing
    "含有放射α粒子和β粒子的物质，应当按照放射性废物管理。",  # nor do two
    "（九）曲马多、γ-羟丁酸二千克以上；",  # from the law collection
    "第一百条　犯罪嫌疑人有下列违反取保候审规定的行为，人民检察院应当对犯罪嫌疑人予以逮捕：\ue004",
    "每只不超过0\ue01025千克。",  # a symbol-font decimal point
]


@pytest.mark.parametrize("line", SYMBOL_LINES)
def test_scientific_symbols_are_not_mojibake(line: str) -> None:
    assert not is_mojibake(map_private_use(line)[0])


def test_symbol_font_private_use_characters_are_mapped() -> None:
    assert map_private_use("每只不超过0\ue01025千克") == ("每只不超过0.25千克", 0)
    assert map_private_use("温度\uf0b12\uf0b0C，误差\uf0a31%") == ("温度±2°C，误差≤1%", 0)
    assert map_private_use("\uf06c第一项") == ("•第一项", 0)  # Wingdings bullet
    # An unknown private-use character is removed on its own; the rest of the line stays.
    assert map_private_use("数据\ue7c7开放") == ("数据开放", 1)


def test_three_wedged_greek_letters_make_a_line_garbled() -> None:
    assert is_mojibake("融資擔鹱饔茫哟髮θ斯悄艹ν鮿企業λ信用")
    assert not is_mojibake("融資擔鹱饔茫哟髮θ斯悄艹ν鮿企業信用")


def test_prepare_lines_keeps_symbols_and_cuts_unknown_private_use() -> None:
    from indexer.documents import prepare_lines

    text = "\n".join(["汞≤0.6μg/g", "数据\ue7c7开放", "。ㄒ唬┭芯恐贫ㄈ斯ぶ悄"])
    lines, damaged, _ = prepare_lines(text)
    assert [line.text for line in lines] == ["汞≤0.6μg/g", "数据开放"]
    assert damaged == [3]


def test_half_width_question_mark_is_not_mojibake() -> None:
    assert not is_mojibake("什么是人工智能?")
    assert not is_mojibake("什么是人工智能?人工智能是指")  # scraped pages use half-width '?'


# --- whole files ----------------------------------------------------------------------------------


def test_normalise_text_keeps_line_numbers_and_reports_drops() -> None:
    text = "\n".join(
        [
            "深圳人大网",  # 1 boilerplate
            "",  # 2 blank
            "第六十五條 市人民政府應(yīng)當(dāng)設(shè)立市人工智能倫理委員會,履行下列職責(zé):",  # 3
            "。ㄒ唬┭芯恐贫ㄈ斯ぶ悄茴I(lǐng)域的倫理安全規(guī)範;",  # 4 mojibake
            "<!-- INFO END -->",  # 5 empty after normalisation
            "(六)其他應(yīng)當(dāng)開展的活動。",  # 6
            "微信扫描二维码，关注公众号。",  # 7 boilerplate
        ]
    )
    result = normalise_text(text)
    assert result.lines == (
        "第六十五条市人民政府应当设立市人工智能伦理委员会，履行下列职责：",
        "（六）其他应当开展的活动。",
    )
    assert result.line_numbers == (3, 6)
    assert [(d.line_no, d.reason) for d in result.dropped] == [(1, "boilerplate"), (4, "mojibake"), (7, "boilerplate")]
    assert result.dropped[1].text.startswith("。ㄒ唬┭芯")


def test_simplified_text_is_never_altered_by_t2s() -> None:
    from indexer.documents import prepare_lines
    from indexer.normalise import is_traditional, normalise_query

    simplified = (
        "因为华为的存在，AI芯片的龙头地位非深圳莫属。华为是人工智能芯片技术的引领者，先后发布了麒麟810、"
        "麒麟980、昇腾310等人工智能芯片。\n其中最新的昇腾910用最新的7nm工艺，是英伟达芯片的两倍多。\n"
    )
    assert not is_traditional(simplified)
    lines, _, _ = prepare_lines(simplified)
    assert all("昇腾" in line.text for line in lines)  # t2s would turn the brand into 升腾
    assert normalise_query("昇腾芯片") == "昇腾芯片"
    traditional = "深圳經(jīng)濟(jì)特區人工智能產業促進條例\n第六條市工業和信息化部門是人工智能產業主管部門。\n"
    assert is_traditional(strip_pinyin(traditional))
    assert [line.text for line in prepare_lines(traditional)[0]] == [
        "深圳经济特区人工智能产业促进条例",
        "第六条市工业和信息化部门是人工智能产业主管部门。",
    ]
    assert normalise_query("人工智能產業的主管部門是哪個部門？") == "人工智能产业的主管部门是哪个部门？"


def test_corpus_003_still_loses_exactly_its_nine_garbled_lines() -> None:
    from pathlib import Path

    from indexer.documents import prepare_lines

    text = (Path(__file__).resolve().parents[1] / "corpus" / "003_4d3b2a425f2a4fe0.txt").read_text(encoding="utf-8")
    _, damaged, _ = prepare_lines(text)
    assert damaged == [51, 104, 119, 120, 121, 123, 140, 144, 145]


def test_radicals_become_ideographs_in_text_and_queries() -> None:
    from indexer.normalise import normalise_line, normalise_query

    assert normalise_line("⼈⼯智能产业⻓期发展", simplify=False) == "人工智能产业长期发展"
    assert normalise_query("⼈⼯智能") == "人工智能"
