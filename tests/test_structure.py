"""Parsing logical documents into citable units: regulations, outlines and prose."""

from __future__ import annotations

from indexer.documents import prepare_lines, split_documents
from indexer.records import Line, LogicalDocument, Unit
from indexer.structure import document_kind, parse_units


def _doc(text: str) -> LogicalDocument:
    """The single logical document of a small file, through the real reflow/normalise/split steps."""
    lines, damaged, _ = prepare_lines(text)
    docs = split_documents("t.txt", lines, damaged)
    assert len(docs) == 1
    return docs[0]


def _by_key(units: list[Unit]) -> dict[str, Unit]:
    return {u.key: u for u in units}


# corpus/001 layout: one article per line, 款 on their own lines, TOC before the first article.
REGULATION = """
深圳经济特区人工智能产业促进条例

(2022年8月30日深圳市第七届人民代表大会常务委员会第十一次会议通过)

目 录

第一章 总则

第六章 治理原则与措施

第一章 总则

第一条 为了促进深圳经济特区人工智能产业高质量发展,规范人工智能产业有序发展,制定本条例。

第六条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。

市发展改革、教育、科技创新、公安、财政等部门在各自职责范围内，负责人工智能产业发展相关工作。

第七条 人工智能产业发展应当纳入本市国民经济和社会发展规划。

第六章 治理原则与措施

第六十五条 市人民政府应当按照国家人工智能治理相关规定，设立市人工智能伦理委员会，履行下列职责：

（一）研究制定人工智能领域的伦理安全规范；

（二）建立健全人工智能伦理安全规范管理制度；

（六）其他应当开展的活动。

市人工智能伦理委员会的日常工作由市产业主管部门承担。
"""


def test_regulation_units_paths_and_paragraphs() -> None:
    doc = _doc(REGULATION)
    assert document_kind(doc) == "regulation"
    units = parse_units(doc)
    assert [u.key for u in units] == ["（前言）", "第一条", "第六条", "第七条", "第六十五条"]
    assert [u.order for u in units] == list(range(len(units)))
    by = _by_key(units)

    assert by["第一条"].path == ("第一章 总则", "第一条")
    assert by["第六条"].path == ("第一章 总则", "第六条")
    assert by["第六十五条"].path == ("第六章 治理原则与措施", "第六十五条")
    assert " › ".join(by["第六条"].path) == "第一章 总则 › 第六条"
    assert by["第六条"].label == "第六条"
    assert by["第六条"].heading is None

    # 款: the lines after the article line
    assert by["第六条"].paragraphs == (
        "市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。",
        "市发展改革、教育、科技创新、公安、财政等部门在各自职责范围内，负责人工智能产业发展相关工作。",
    )
    # 项 join the 款 that introduces them; the next plain line is a new 款
    assert by["第六十五条"].paragraphs == (
        "市人民政府应当按照国家人工智能治理相关规定，设立市人工智能伦理委员会，履行下列职责：\n"
        "（一）研究制定人工智能领域的伦理安全规范；\n"
        "（二）建立健全人工智能伦理安全规范管理制度；\n"
        "（六）其他应当开展的活动。",
        "市人工智能伦理委员会的日常工作由市产业主管部门承担。",
    )


def test_regulation_toc_is_skipped_and_preamble_kept() -> None:
    units = parse_units(_doc(REGULATION))
    preamble = units[0]
    assert preamble.label is None
    assert preamble.heading == "前言"
    assert preamble.path == ()
    assert preamble.paragraphs == ("（2022年8月30日深圳市第七届人民代表大会常务委员会第十一次会议通过）",)
    everything = "\n".join(u.text for u in units)
    assert "目录" not in everything
    assert "总则" not in everything  # chapter names are in paths, never in text


def test_regulation_sections_nest_under_chapters_and_reset() -> None:
    doc = _doc(
        "\n".join(
            [
                "深圳经济特区数据条例",
                "第一章 总则",
                "第一条 为了规范数据处理活动，制定本条例。",
                "第二章 公共数据",
                "第一节 一般规定",
                "第二条 市人民政府应当建设公共数据开放平台。",
                "第二节 共享",
                "第三条 公共数据应当以共享为原则。",
                "第三章 附则",
                "第四条 本条例自2022年1月1日起施行。",
            ]
        )
    )
    by = _by_key(parse_units(doc))
    assert by["第一条"].path == ("第一章 总则", "第一条")
    assert by["第二条"].path == ("第二章 公共数据", "第一节 一般规定", "第二条")
    assert by["第三条"].path == ("第二章 公共数据", "第二节 共享", "第三条")
    assert by["第四条"].path == ("第三章 附则", "第四条")  # a new chapter drops the old section


# corpus/002 layout: an action plan with 一、 / （一） / 1. / 专栏N.
OUTLINE = """深圳市新一代人工智能发展行动计划(2019-2023年)
为深入贯彻落实创新驱动发展战略和高质量发展的要求,抢抓人工智能发展机遇,制定本行动计划。
一、指导思想
深入贯彻落实习近平新时代中国特色社会主义思想,加快建设国家新一代人工智能创新发展试验区。
三、主要任务
(一)强化前沿基础研究,推进核心关键技术攻关。
以人工智能产业发展需求为导向,全面夯实人工智能产业发展基础。
1.加强基础理论研究。聚焦人工智能重大科学前沿导向,在理论和应用基础两个层面组织实施重大基础科研专项。
专栏3 建设人工智能创新载体
制造业创新中心。依托深圳市高等院校、科研院所、领军企业等创新主体,建设人工智能制造业创新中心。
重点实验室。布局一批国家、省、市级重点实验室、工程研究中心和技术创新中心。
"""


def test_outline_labels_and_paths() -> None:
    doc = _doc(OUTLINE)
    assert doc.title == "深圳市新一代人工智能发展行动计划（2019-2023年）"
    assert document_kind(doc) == "outline"
    units = parse_units(doc)
    # 三、 has no text of its own, so it is not a unit
    assert [u.key for u in units] == ["（前言）", "一、", "三、（一）", "三、（一）1.", "专栏3"]
    by = _by_key(units)

    assert by["（前言）"].paragraphs == (
        "为深入贯彻落实创新驱动发展战略和高质量发展的要求，抢抓人工智能发展机遇，制定本行动计划。",
    )
    assert by["一、"].heading == "指导思想"
    assert by["一、"].path == ("一、指导思想",)
    assert by["三、（一）"].heading == "强化前沿基础研究，推进核心关键技术攻关"
    assert by["三、（一）"].path == ("三、主要任务", "（一）强化前沿基础研究，推进核心关键技术攻关")
    assert by["三、（一）"].paragraphs == ("以人工智能产业发展需求为导向，全面夯实人工智能产业发展基础。",)

    item = by["三、（一）1."]
    assert item.heading == "加强基础理论研究"  # heading/body split at the first 。
    assert item.path == ("三、主要任务", "（一）强化前沿基础研究，推进核心关键技术攻关", "1.加强基础理论研究")
    assert item.paragraphs == (
        "加强基础理论研究。聚焦人工智能重大科学前沿导向，在理论和应用基础两个层面组织实施重大基础科研专项。",
    )

    box = by["专栏3"]
    assert box.heading == "建设人工智能创新载体"
    assert box.path[-1] == "专栏3 建设人工智能创新载体"
    assert len(box.paragraphs) == 2


# corpus/004 layout: short one-sentence headings under 一、.
ANALYSIS = """ChatGPT等生成式人工智能的迅速崛起，标志着人工智能时代的强势来临，人工智能将成为新一轮科技革命和产业变革的重要驱动力量。
一、人工智能已成为各国竞相角逐的重要赛道
当前，人工智能业已成为全球科技竞争的焦点。
（一）美国：战略引领，资本支撑，技术领先。
美国持续加大在人工智能领域的政策支持和研发投资，以期维持自身在人工智能领域的全球领导者地位。
二、我国主要城市人工智能产业发展支持情况
（一）北京：建设人工智能创新策源地。
凭借庞大的人才资源、卓越的技术实力和活跃的创新氛围，北京着力建设成为引领我国人工智能产业发展的重要中心。
"""


def test_short_one_sentence_heading_is_kept_whole() -> None:
    units = parse_units(_doc(ANALYSIS))
    by = _by_key(units)
    assert [u.key for u in units] == ["（前言）", "一、", "一、（一）", "二、（一）"]
    us = by["一、（一）"]
    assert us.heading == "美国：战略引领，资本支撑，技术领先"
    assert us.paragraphs == (
        "美国持续加大在人工智能领域的政策支持和研发投资，以期维持自身在人工智能领域的全球领导者地位。",
    )
    assert by["二、（一）"].heading == "北京：建设人工智能创新策源地"
    assert by["二、（一）"].path == ("二、我国主要城市人工智能产业发展支持情况", "（一）北京：建设人工智能创新策源地")


def test_untitled_outline_keeps_its_first_section() -> None:
    body = ANALYSIS.split("\n", 1)[1]  # without the intro sentence: starts with 一、
    doc = _doc(body)
    assert doc.title is None or not doc.title.startswith("一、")
    assert [u.key for u in parse_units(doc)] == ["一、", "一、（一）", "二、（一）"]


def test_outline_line_that_merely_starts_with_a_number_is_body_text() -> None:
    text = (
        OUTLINE
        + "2.突破核心关键技术，开发面向人工智能的关键基础软件，发展数据深度搜索、知识深度学习、神经网络等核心算法，重点突破。\n"
    )
    by = _by_key(parse_units(_doc(text)))
    unit = by["三、（一）2."]
    assert unit.heading == ""  # the first 。 comes after 40 characters: no heading
    assert unit.paragraphs[0].startswith("突破核心关键技术，开发")


def test_box_directly_under_level_one() -> None:
    # regression: the path comprehension used to unpack l2=None (TypeError)
    text = "\n".join(
        [
            "为抢抓人工智能发展机遇，制定本行动计划。",
            "一、指导思想",
            "深入贯彻落实创新驱动发展战略。",
            "专栏1 重点任务",
            "建设人工智能制造业创新中心。",
            "二、发展目标",
            "到2023年，人工智能核心产业规模突破300亿元。",
        ]
    )
    by = _by_key(parse_units(_doc(text)))
    assert by["专栏1"].path == ("一、指导思想", "专栏1 重点任务")
    assert by["专栏1"].paragraphs == ("建设人工智能制造业创新中心。",)
    assert by["二、"].paragraphs == ("到2023年，人工智能核心产业规模突破300亿元。",)


# corpus/000 part 3 layout: prose with unnumbered short headings.
PROSE = """人工智能已经成为继互联网+之后的又一“飓风口”，并成为推动新一轮经济发展的强动力和巨大引擎。
芯片优势
因为华为的存在，AI芯片的龙头地位非深圳莫属。华为是人工智能芯片技术的引领者。
深圳新创立的人工智能企业居于前列。
融资优势
深圳不缺投资公司，深圳的投资公司不缺钱。因此，深圳人工智能企业就有了得天独厚的融资优势。
"""


def test_prose_short_headings_become_units() -> None:
    doc = LogicalDocument("000.txt", 2, "深圳四大优势，成为中国人工智能第三“极”", tuple(prepare_lines(PROSE)[0]))
    assert document_kind(doc) == "prose"
    units = parse_units(doc)
    assert [u.key for u in units] == ["（前言）", "（芯片优势）", "（融资优势）"]
    chips = units[1]
    assert chips.label is None
    assert chips.heading == "芯片优势"
    assert chips.path == ("芯片优势",)
    # a short line ending in 。 is a sentence, not a heading
    assert chips.paragraphs == (
        "因为华为的存在，AI芯片的龙头地位非深圳莫属。华为是人工智能芯片技术的引领者。",
        "深圳新创立的人工智能企业居于前列。",
    )


# corpus/003 layout: traditional text with pinyin and a mojibake line inside 第六十五条.
DAMAGED = """第六十四條 建立和完善政府規(guī)範、行業(yè)自律、企業(yè)自治、社會監(jiān)督的人工智能治理機(jī)制。
第六十五條 市人民政府應(yīng)當(dāng)按照國家人工智能治理相關(guān)規(guī)定,設(shè)立市人工智能倫理委員會,履行下列職責(zé):
。ㄒ唬┭芯恐贫ㄈ斯ぶ悄茴I(lǐng)域的倫理安全規(guī)範;
(二)建立健全人工智能倫理安全規(guī)範管理制度;
市人工智能倫理委員會的日常工作由市產(chǎn)業(yè)主管部門承擔(dān)。
第六十六條 市人民政府及其有關(guān)部門根據(jù)人工智能應(yīng)用的風(fēng)險等級,實(shí)施分級、分類差異化監(jiān)管。
"""


def test_unit_that_lost_a_mojibake_line_is_marked_damaged() -> None:
    doc = _doc(DAMAGED)
    assert doc.damaged_lines == (3,)
    units = parse_units(doc)
    assert [(u.key, u.damaged) for u in units] == [
        ("第六十四条", False),
        ("第六十五条", True),
        ("第六十六条", False),
    ]
    art = _by_key(units)["第六十五条"]
    assert art.paragraphs[0].endswith("履行下列职责：\n（二）建立健全人工智能伦理安全规范管理制度；")


def test_damage_between_units_marks_the_unit_it_falls_in() -> None:
    lines = (
        Line(1, "第一条 为了促进产业发展，制定本条例。"),
        Line(2, "第二条 本条例所称人工智能，是指利用计算机。"),
        Line(4, "第三条 本条例所称人工智能产业，是指核心产业。"),
    )
    units = parse_units(LogicalDocument("x.txt", 0, "T", lines, damaged_lines=(3,)))
    assert [u.damaged for u in units] == [False, True, False]
    clean = parse_units(LogicalDocument("x.txt", 0, "T", lines))
    assert not any(u.damaged for u in clean)
