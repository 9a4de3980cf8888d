"""Reflowing flattened lines and finding the logical documents inside one file (corpus/000 style)."""

from __future__ import annotations

from indexer.documents import REFLOW_MIN_CHARS, detect_title, prepare_lines, reflow_line, split_documents
from indexer.records import Line

REG_TITLE = "深圳经济特区人工智能产业促进条例"
INTERP_TITLE = f"{REG_TITLE}解读"
ARTICLE_TITLE = "深圳四大优势,成为中国人工智能第三“极”"

# A regulation, its 解读 and an unrelated article flattened into ONE physical line, as in corpus/000:
# half-width punctuation, a space after each 第X条, the next page's title glued to the end.
NOTICE = (
    "深圳市第七届人民代表大会常务委员会公 告第六十四号《深圳经济特区人工智能产业促进条例》经深圳市第七届"
    "人民代表大会常务委员会第十一次会议于2022年8月30日通过,现予公布,自2022年11月1日起施行。"
    "深圳市人民代表大会常务委员会2022年9月5日"
)
REGULATION = (
    f"{REG_TITLE}(2022年8月30日深圳市第七届人民代表大会常务委员会第十一次会议通过)"
    "目 录第一章 总则第六章 治理原则与措施"
    "第一章 总则"
    "第一条 为了促进深圳经济特区人工智能产业高质量发展,推进人工智能在经济社会领域深度融合应用,"
    "规范人工智能产业有序发展,根据有关法律、行政法规的基本原则,结合深圳经济特区实际,制定本条例。"
    "第二条 本条例所称人工智能,是指利用计算机或者其控制的设备,通过感知环境、获取知识、推导演绎等方法,"
    "对人类智能的模拟、延伸或者扩展。"
    "第六条 市工业和信息化部门是人工智能产业主管部门(以下简称市产业主管部门),负责实施、协调、督促本行政区域内"
    "人工智能产业发展工作。市发展改革、教育、科技创新等部门在各自职责范围内,负责人工智能产业发展相关工作。"
    "第六章 治理原则与措施"
    "第六十五条 市人民政府应当按照国家人工智能治理相关规定,设立市人工智能伦理委员会,履行下列职责:"
    "(一)研究制定人工智能领域的伦理安全规范;"
    "(二)建立健全人工智能伦理安全规范管理制度,引导和规范人工智能伦理安全规范的制订和实施;"
    "(六)其他应当开展的活动。市人工智能伦理委员会的日常工作由市产业主管部门承担。"
)
INTERPRETATION = (
    f"《{REG_TITLE}》解读"
    "2022年8月30日,深圳市第七届人民代表大会常务委员会第十一次会议通过了《深圳经济特区人工智能产业促进条例》"
    "(以下简称《条例》),自2022年11月1日起实施。"
    "一、立法必要性制定《条例》是率先贯彻落实国家战略部署,为国家新兴领域立法探索经验作出示范的实践要求。"
    "二、主要内容《条例》是全国首部人工智能产业专项立法,共设七章七十三条。其主要内容:"
    "(一)明确人工智能及人工智能产业的界定目前,我国在法律层面对于人工智能及人工智能产业的概念尚未作出规定。"
    "(二)建立人工智能统计与监测制度建立人工智能产业统计监测制度,是企业、行业组织普遍反映的产业亟需解决的问题之一。"
)
LONG_LINE = NOTICE + REGULATION + INTERPRETATION + ARTICLE_TITLE
FOLLOWING = [
    "人工智能已经成为继互联网+之后的又一“飓风口”,并成为推动新一轮经济发展的强动力和巨大引擎。",
    "芯片优势",
    "因为华为的存在,AI芯片的龙头地位非深圳莫属。华为是人工智能芯片技术的引领者。",
]
FILE_000 = "\n".join(["深圳人大网", LONG_LINE, *FOLLOWING])


def _lines(*texts: str) -> list[Line]:
    """Lines numbered from 1, as prepare_lines would return them for short physical lines."""
    return [Line(no, text) for no, text in enumerate(texts, start=1)]


# --- reflow_line ----------------------------------------------------------------------------------


def test_fixture_is_a_flattened_line() -> None:
    assert len(LONG_LINE) >= REFLOW_MIN_CHARS


def test_reflow_cuts_at_structural_markers_and_detects_glued_title() -> None:
    pieces, glued = reflow_line(LONG_LINE)
    assert glued
    assert pieces[-1] == ARTICLE_TITLE
    assert pieces[-2].endswith("是企业、行业组织普遍反映的产业亟需解决的问题之一。")
    # nothing is lost or reordered: only whitespace at the cuts disappears
    assert "".join(pieces).replace(" ", "") == LONG_LINE.replace(" ", "")
    starts = [p[:8] for p in pieces]
    for expected in [
        "第一章 总则",
        "第六章 治理原则",
        "第一条 为了促进",
        "第二条 本条例所",
        "第六条 市工业和",
        "第六十五条 市人",
        "(一)研究制定人",
        "(二)建立健全人",
        "(六)其他应当开",
        f"《{REG_TITLE}"[:8],
        "一、立法必要性制",
        "二、主要内容《条",
    ]:
        assert any(s.startswith(expected[:6]) for s in starts), expected
    interp = next(p for p in pieces if p.startswith("《"))
    assert interp.startswith(f"《{REG_TITLE}》解读2022年8月30日")


def test_reflow_leaves_short_lines_alone() -> None:
    line = "第一条 为了促进产业发展,制定本条例。第二条 本条例所称人工智能,是指利用计算机。深圳四大优势"
    assert len(line) < REFLOW_MIN_CHARS
    assert reflow_line(line) == ([line], False)


def test_reflow_without_glued_tail() -> None:
    line = NOTICE + REGULATION
    assert len(line) >= REFLOW_MIN_CHARS
    pieces, glued = reflow_line(line)
    assert not glued
    assert pieces[-1].endswith("市人工智能伦理委员会的日常工作由市产业主管部门承担。")


def test_reflow_does_not_cut_at_a_cross_reference() -> None:
    article = "第二条 违反本条例第三章规定的,由市产业主管部门责令改正。"
    line = "第一条 为了促进产业发展,制定本条例。" + article + "第三条 " + "本市鼓励人工智能产业发展," * 50 + "。"
    assert len(line) >= REFLOW_MIN_CHARS
    pieces, _ = reflow_line(line)
    assert article in pieces


# --- prepare_lines --------------------------------------------------------------------------------


def test_prepare_lines_reflows_normalises_and_drops() -> None:
    text = FILE_000 + "\n。ㄒ唬┭芯恐贫ㄈ斯ぶ悄茴I(lǐng)域的倫理安全規(guī)範;\n"
    lines, damaged, boilerplate = prepare_lines(text)
    assert boilerplate == 1  # 深圳人大网
    assert damaged == [6]
    from_long = [line for line in lines if line.no == 2]
    assert len(from_long) > 10
    assert all(line.reflowed for line in from_long)
    assert [line.glued_tail for line in from_long].count(True) == 1
    assert from_long[-1].glued_tail
    assert from_long[-1].text == "深圳四大优势，成为中国人工智能第三“极”"  # normalised: full-width comma
    assert [(line.no, line.reflowed) for line in lines[-3:]] == [(3, False), (4, False), (5, False)]
    assert "（一）研究制定人工智能领域的伦理安全规范；" in [line.text for line in lines]


# --- split_documents ------------------------------------------------------------------------------


def test_split_documents_finds_regulation_interpretation_and_glued_article() -> None:
    lines, damaged, _ = prepare_lines(FILE_000)
    docs = split_documents("000.txt", lines, damaged)
    assert [d.title for d in docs] == [REG_TITLE, INTERP_TITLE, "深圳四大优势，成为中国人工智能第三“极”"]
    assert [d.part for d in docs] == [0, 1, 2]
    assert all(d.source == "000.txt" for d in docs)

    regulation, interpretation, article = docs
    texts = [line.text for line in regulation.lines]
    assert texts[0].startswith("深圳市第七届人民代表大会常务委员会公告第六十四号")
    assert any(t.startswith("第六十五条") for t in texts)
    # a flattened line has no 款 boundary after the last 项: the last 款 stays on the 项's line
    assert texts[-1] == "（六）其他应当开展的活动。市人工智能伦理委员会的日常工作由市产业主管部门承担。"
    assert not any("解读" in t for t in texts)

    assert interpretation.lines[0].text.startswith("2022年8月30日，深圳市第七届人民代表大会")
    assert interpretation.lines[-1].text.startswith("（二）建立人工智能统计与监测制度")
    assert all(line.reflowed for line in interpretation.lines)
    assert interpretation.reflowed

    assert [line.text for line in article.lines] == [
        "人工智能已经成为继互联网+之后的又一“飓风口”，并成为推动新一轮经济发展的强动力和巨大引擎。",
        "芯片优势",
        "因为华为的存在，AI芯片的龙头地位非深圳莫属。华为是人工智能芯片技术的引领者。",
    ]
    assert not article.reflowed


def test_title_line_followed_by_interpretation_line() -> None:
    lines = _lines(
        "第一条 为了促进深圳经济特区人工智能产业高质量发展，制定本条例。",
        "第二条 本条例所称人工智能，是指利用计算机或者其控制的设备。",
        "第三条 本条例所称人工智能产业，是指与人工智能相关的核心产业。",
        f"《{REG_TITLE}》",
        "解读",
        "2022年8月30日，深圳市第七届人民代表大会常务委员会第十一次会议通过了《条例》。",
        "一、立法必要性",
    )
    docs = split_documents("x.txt", lines)
    assert [d.title for d in docs] == [None, INTERP_TITLE]
    assert len(docs[0].lines) == 3
    assert [line.no for line in docs[1].lines] == [6, 7]


def test_title_line_followed_by_interpretation_line_with_text() -> None:
    lines = _lines(
        "第一条 为了促进产业发展，制定本条例。",
        f"《{REG_TITLE}》",
        "解读2022年8月30日，会议通过了《条例》。",
    )
    docs = split_documents("x.txt", lines)
    assert docs[-1].title == INTERP_TITLE
    assert [line.text for line in docs[-1].lines] == ["2022年8月30日，会议通过了《条例》。"]


def test_section_heading_after_articles_does_not_start_a_document() -> None:
    lines, _, _ = prepare_lines(
        "\n".join(
            [
                REG_TITLE,
                "第一章 总则",
                "第一条 为了促进产业发展，制定本条例。",
                "第二条 本条例所称人工智能，是指利用计算机或者其控制的设备。",
                "第三条 本条例所称人工智能产业，是指与人工智能相关的核心产业。",
                "第二章 数据",
                "第一节 一般规定",  # ends in 规定 like a regulation title, but is a division
                "第四条 市人民政府应当建设公共数据开放平台。",
            ]
        )
    )
    docs = split_documents("x.txt", lines)
    assert len(docs) == 1
    assert docs[0].title == REG_TITLE
    assert "第一节一般规定" in [line.text for line in docs[0].lines]


def test_regulation_title_after_articles_starts_a_document() -> None:
    lines, _, _ = prepare_lines(
        "\n".join(
            [
                REG_TITLE,
                "第一条 为了促进产业发展，制定本条例。",
                "第二条 本条例所称人工智能，是指利用计算机或者其控制的设备。",
                "第三条 本条例所称人工智能产业，是指与人工智能相关的核心产业。",
                "深圳经济特区数据条例",
                "第一条 为了规范数据处理活动，制定本条例。",
            ]
        )
    )
    docs = split_documents("x.txt", lines)
    assert [d.title for d in docs] == [REG_TITLE, "深圳经济特区数据条例"]
    assert [line.text for line in docs[1].lines] == ["第一条为了规范数据处理活动，制定本条例。"]


def test_damaged_lines_are_attached_to_the_document_that_lost_them() -> None:
    lines = [
        Line(1, REG_TITLE),
        Line(2, "第一条 为了促进产业发展，制定本条例。"),
        Line(3, "第二条 本条例所称人工智能，是指利用计算机。"),
        Line(5, "第三条 本条例所称人工智能产业，是指核心产业。"),
        Line(6, f"《{REG_TITLE}》解读"),
        Line(7, "2022年8月30日，会议通过了《条例》。"),
        Line(9, "一、立法必要性"),
    ]
    docs = split_documents("003.txt", lines, damaged=[4, 8])
    assert [d.damaged_lines for d in docs] == [(4,), (8,)]


def test_interpretation_header_text_kept_at_start_of_file() -> None:
    lines = _lines(f"《{REG_TITLE}》解读2022年8月30日，会议通过了《条例》。", "一、立法必要性")
    docs = split_documents("x.txt", lines)
    assert docs[0].title == INTERP_TITLE
    assert [line.text for line in docs[0].lines] == ["2022年8月30日，会议通过了《条例》。", "一、立法必要性"]


def test_group_with_only_a_title_line_does_not_crash() -> None:
    lines = _lines(REG_TITLE, f"《{REG_TITLE}》解读", "2022年8月30日，会议通过了《条例》。")
    docs = split_documents("x.txt", lines)
    assert docs[-1].title == INTERP_TITLE
    assert [line.text for line in docs[-1].lines] == ["2022年8月30日，会议通过了《条例》。"]


# --- detect_title ---------------------------------------------------------------------------------


def test_detect_title_uses_a_short_first_line() -> None:
    lines = _lines("深圳市新一代人工智能发展行动计划（2019-2023年）", "一、指导思想")
    assert detect_title(lines) == "深圳市新一代人工智能发展行动计划（2019-2023年）"


def test_detect_title_falls_back_to_the_regulation_named_by_the_notice() -> None:
    lines = _lines(
        "深圳市第七届人民代表大会常务委员会公告第六十四号《深圳经济特区人工智能产业促进条例》经深圳市第七届"
        "人民代表大会常务委员会第十一次会议于2022年8月30日通过，现予公布，自2022年11月1日起施行。",
        "第一条 为了促进产业发展，制定本条例。",
        "第二条 本条例所称人工智能，是指利用计算机。",
    )
    assert detect_title(lines) == REG_TITLE


def test_detect_title_ignores_quoted_titles_without_articles() -> None:
    lines = _lines(
        "2019年5月，《深圳市新一代人工智能发展行动计划（2019-2023年）》出台，着力构建全国领先的人工智能技术创新体系。",
        "到2023年，建成20家以上创新载体。",
    )
    assert detect_title(lines) is None


def test_detect_title_of_nothing() -> None:
    assert detect_title([]) is None
    assert detect_title(_lines("第一条 为了促进产业发展，制定本条例。")) is None
