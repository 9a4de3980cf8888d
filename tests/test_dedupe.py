"""Merging copies of a document: grouping by title/content and the stated variant rule."""

from __future__ import annotations

from indexer.dedupe import (
    Variant,
    anomaly_count,
    choose_variant,
    comparison_key,
    estimated_jaccard,
    group_copies,
    merge_copies,
    sketch,
)
from indexer.records import Line, LogicalDocument, Unit

TITLE = "深圳经济特区人工智能产业促进条例"
CLEAN = "针对人工智能新技术、新产业、新业态、新模式等特点制定相应的监管规则和标准，实行分类分级监管。"
LATIN = "针对人工智能新技术、新产业、新业态、新模式等特点制定相应的监管规则 and 标准，实行分类分级监管。"  # corpus/001
INTRO = "市人民政府有关部门应当按照鼓励创新的原则，对人工智能产业实行包容审慎监管。"

ARTICLES = [
    "第一条 为了促进深圳经济特区人工智能产业高质量发展，推进人工智能在经济社会领域深度融合应用，制定本条例。",
    "第二条 本条例所称人工智能，是指利用计算机或者其控制的设备，通过感知环境、获取知识、推导演绎等方法，对人类智能的模拟、延伸或者扩展。",
    "第三条 本条例所称人工智能产业，是指与人工智能相关的软硬件产品研究、开发和生产、系统应用、集成服务等核心产业。",
    "第四条 本市人工智能产业发展遵循科技引领、应用驱动、以人为本、安全可控的原则。",
    "第五条 市人民政府应当建立本市人工智能产业发展协调工作机制，统筹协调人工智能发展和安全工作。",
    "第六条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。",
]
OTHER = [
    "人工智能已经成为继互联网+之后的又一“飓风口”，并成为推动新一轮经济发展的强动力和巨大引擎。",
    "在政策驱动下，我国人工智能产业快速发展，多个城市都在积极布局，从而打造培育人工智能产业优势。",
    "深圳作为“科技创新之都”，其人工智能产业发展也自然走在了全国的前列。",
    "因为华为的存在，AI芯片的龙头地位非深圳莫属。华为是人工智能芯片技术的引领者。",
]


def _unit(label: str, *paragraphs: str, damaged: bool = False, order: int = 0) -> Unit:
    return Unit(label, None, (label,), paragraphs, order=order, damaged=damaged)


def _variant(source: str, *paragraphs: str, damaged: bool = False, layout_intact: bool = True) -> Variant:
    return Variant(_unit("第十条", *paragraphs, damaged=damaged), source, layout_intact)


def _doc(source: str, title: str | None, texts: list[str], *, reflowed: bool = False) -> LogicalDocument:
    lines = tuple(Line(no, text, reflowed=reflowed) for no, text in enumerate(texts, start=1))
    return LogicalDocument(source, 0, title, lines)


# --- helpers --------------------------------------------------------------------------------------


def test_comparison_key_ignores_whitespace_and_punctuation_widths() -> None:
    assert comparison_key("规则 和 标准，实行监管。") == comparison_key("规则和标准,实行监管.") == "规则和标准实行监管"
    assert comparison_key(LATIN) != comparison_key(CLEAN)


def test_anomaly_count() -> None:
    assert anomaly_count(LATIN) == 1
    assert anomaly_count(CLEAN) == 0
    assert anomaly_count("人工智能(AI)产业与5G、AI芯片") == 0  # upper-case abbreviations are normal
    assert anomaly_count("监管规则 and 标准 or 办法") == 2
    assert anomaly_count("rules and standards") == 0  # no Chinese around it


def test_sketch_similarity() -> None:
    a = sketch("".join(ARTICLES))
    assert estimated_jaccard(a, sketch("".join(ARTICLES))) == 1.0
    assert estimated_jaccard(a, sketch(" ".join(ARTICLES).replace("，", ","))) == 1.0
    assert estimated_jaccard(a, sketch("".join(OTHER))) < 0.1
    assert estimated_jaccard(frozenset(), frozenset()) == 0.0


# --- choose_variant: the rule, step by step ---------------------------------------------------------


def test_step1_damaged_variant_is_excluded_even_when_it_holds_the_majority() -> None:
    damaged_a = _variant("a.txt", INTRO, "针对人工智能新技术", damaged=True)
    damaged_b = _variant("b.txt", INTRO, "针对人工智能新技术", damaged=True)
    clean = _variant("c.txt", INTRO, CLEAN)
    assert choose_variant([damaged_a, damaged_b, clean]) is clean


def test_step1_when_every_copy_is_damaged_one_is_still_chosen() -> None:
    a = _variant("b.txt", INTRO, damaged=True)
    b = _variant("a.txt", INTRO, damaged=True)
    assert choose_variant([a, b]) is b


def test_step2_majority_text_wins() -> None:
    latin = _variant("001.txt", INTRO, LATIN)
    clean_a = _variant("000.txt", INTRO, CLEAN)
    clean_b = _variant("003.txt", INTRO, CLEAN)
    assert choose_variant([latin, clean_a, clean_b]).unit.text == f"{INTRO}\n{CLEAN}"


def test_step2_majority_beats_layout_and_source_name() -> None:
    # the minority copy would win every later tie-break (more 款, first source name)
    minority = _variant("a.txt", INTRO, CLEAN)
    majority_1 = _variant("b.txt", INTRO + "另行规定。")
    majority_2 = _variant("c.txt", INTRO + "另行规定。")
    assert choose_variant([minority, majority_1, majority_2]).source == "b.txt"


def test_step3_fewer_anomalies_break_a_tie() -> None:
    latin = _variant("000.txt", INTRO, LATIN)  # first by name
    clean = _variant("001.txt", INTRO, CLEAN)
    assert choose_variant([latin, clean]) is clean


def test_step4_layout_breaks_a_tie_more_paragraphs_win() -> None:
    flattened = _variant("000.txt", f"{INTRO}{CLEAN}")  # same text, 款 boundary lost
    intact = _variant("001.txt", INTRO, CLEAN)
    assert comparison_key(flattened.unit.text) == comparison_key(intact.unit.text)
    assert choose_variant([flattened, intact]) is intact


def test_step4_copy_with_intact_layout_wins() -> None:
    reflowed = _variant("000.txt", INTRO, CLEAN, layout_intact=False)
    intact = _variant("001.txt", INTRO, CLEAN, layout_intact=True)
    assert choose_variant([reflowed, intact]) is intact


def test_step5_first_source_name_wins() -> None:
    b = _variant("b.txt", INTRO, CLEAN)
    a = _variant("a.txt", INTRO, CLEAN)
    assert choose_variant([b, a]) is a
    assert choose_variant([a, b]) is a


# --- group_copies ---------------------------------------------------------------------------------


def test_group_copies_by_content_when_titles_differ() -> None:
    docs = [
        _doc("001.txt", TITLE, ARTICLES),
        _doc("000.txt", None, [" ".join(a.replace("，", ",") for a in ARTICLES)], reflowed=True),
        _doc("004.txt", "深圳四大优势，成为中国人工智能第三“极”", OTHER),
    ]
    assert group_copies(docs) == [[0, 1], [2]]


def test_group_copies_tolerates_a_changed_article() -> None:
    edited = [*ARTICLES[:5], "第六条 市工业和信息化部门是人工智能产业主管部门，负责人工智能产业发展工作。"]
    docs = [_doc("a.txt", "甲", ARTICLES), _doc("b.txt", "乙", edited)]
    assert group_copies(docs) == [[0, 1]]


def test_group_copies_keeps_different_texts_apart() -> None:
    docs = [_doc("a.txt", None, ARTICLES), _doc("b.txt", None, OTHER), _doc("c.txt", "丙", ARTICLES[:1])]
    assert group_copies(docs) == [[0], [1], [2]]


def test_group_copies_merges_sixty_identical_copies() -> None:
    # Issue 13 item 5: hashes shared by more than 50 documents were skipped, so 60 copies stayed 60 documents.
    docs = [_doc(f"copy{i:02d}.txt", None, ARTICLES) for i in range(60)] + [_doc("other.txt", None, OTHER)]
    assert group_copies(docs) == [list(range(60)), [60]]


def test_group_copies_merges_a_near_copy_of_a_file_held_sixty_times() -> None:
    edited = [*ARTICLES[:5], "第六条 市工业和信息化部门是人工智能产业主管部门，负责人工智能产业发展工作。"]
    docs = [_doc(f"copy{i:02d}.txt", None, ARTICLES) for i in range(60)] + [_doc("edited.txt", None, edited)]
    assert group_copies(docs) == [list(range(61))]


def test_group_copies_by_title_ignores_punctuation_width() -> None:
    docs = [
        _doc("a.txt", "深圳市新一代人工智能发展行动计划（2019-2023年）", OTHER[:2]),
        _doc("b.txt", "深圳市新一代人工智能发展行动计划(2019-2023年)", OTHER[2:]),
    ]
    assert group_copies(docs) == [[0, 1]]


# --- merge_copies ---------------------------------------------------------------------------------


def test_merge_copies_keeps_provenance_and_union_of_units() -> None:
    docs = [
        _doc("001.txt", TITLE, ARTICLES),
        _doc("003.txt", TITLE, ARTICLES),
        _doc("004.txt", "深圳四大优势，成为中国人工智能第三“极”", OTHER),
    ]
    units = [
        [_unit("第一条", "为了促进。", order=0), _unit("第十条", INTRO, LATIN, order=1)],
        [
            _unit("第一条", "为了促进。", order=0),
            _unit("第十条", INTRO, "针对人工智能新技术", damaged=True, order=1),
            _unit("第十一条", "鼓励国际交流与合作。", order=2),
        ],
        [Unit(None, "芯片优势", ("芯片优势",), ("华为是人工智能芯片技术的引领者。",), order=0)],
    ]
    merged = merge_copies(docs, units)
    assert len(merged) == 2
    regulation, article = merged
    assert regulation.title == TITLE
    assert regulation.sources == ("001.txt", "003.txt")
    assert [(u.key, sources, copies) for u, sources, copies in regulation.units] == [
        ("第一条", ("001.txt", "003.txt"), 2),
        ("第十条", ("001.txt", "003.txt"), 2),
        ("第十一条", ("003.txt",), 1),
    ]
    tenth = regulation.units[1][0]
    assert not tenth.damaged  # the undamaged copy wins even with its anomaly
    assert tenth.paragraphs == (INTRO, LATIN)
    assert article.sources == ("004.txt",)
    assert [u.key for u, _, _ in article.units] == ["（芯片优势）"]


def test_merge_copies_primary_is_the_copy_with_intact_layout() -> None:
    flat = _doc("000.txt", TITLE, ARTICLES, reflowed=True)
    intact = _doc("001.txt", TITLE, ARTICLES)
    units = [[_unit("第一条", "甲。", order=0)], [_unit("第一条", "甲。", order=0)]]
    (merged,) = merge_copies([flat, intact], units)
    assert merged.primary is intact
