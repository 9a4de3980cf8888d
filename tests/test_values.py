"""Values in policy text: numbers compared by value, times, bodies, places; grounding a claim in its quote."""

from __future__ import annotations

import pytest

from answer.values import has_quantity, has_time, number_values, numbers, org_mentions, ungrounded
from indexer.tokenise import JiebaTokenizer

TOK = JiebaTokenizer()


def grounded(claim: str, quote: str) -> list[str]:
    return ungrounded(claim, quote, cut=TOK.cut, tagger=TOK.tag)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("三十日", "30日"),
        ("百分之五", "5%"),
        ("一千亿元", "1000亿元"),
        ("1,000万元", "一千万元"),
        ("十二点七亿", "12.7亿"),
    ],
)
def test_trivially_equivalent_forms_are_the_same_value(a: str, b: str) -> None:
    assert grounded(f"期限为{a}。", f"期限为{b}。") == []
    assert grounded(f"期限为{b}。", f"期限为{a}。") == []


def test_a_different_figure_is_ungrounded() -> None:
    assert grounded("最高奖励1000万元。", "最高奖励500万元。") == ["1000万"]
    assert grounded("应当在二十日内答复。", "应当在三十日内答复。") == ["二十"]
    assert grounded("售价是256T次。", "运算速度高达256T次。") == []  # the value is there; the slot check judges it


def test_article_like_one_is_not_a_figure() -> None:
    assert [n.value for n in numbers("建立一个统筹机制，培育一批企业")] == []
    assert [n.value for n in numbers("两大工程")] == [2.0]


def test_dates_and_ordinals_need_their_numbers() -> None:
    assert grounded("本条例自2022年11月1日起施行。", "本条例自2022年11月1日起施行。") == []
    assert grounded("本条例自2023年1月1日起施行。", "本条例自2022年11月1日起施行。") == [
        "2023"
    ]  # the "1" of 1月 stands in 1日: values are compared one by one
    assert grounded("依据第六条。", "《条例》第六条市工业和信息化部门是主管部门") == []


def test_organisations_people_places_and_addresses_must_stand_in_the_quote() -> None:
    quote = "市工业和信息化部门是人工智能产业主管部门。"
    assert grounded("主管部门是市工业和信息化部门。", quote) == []
    assert grounded("主管部门是市科技创新委员会。", quote) != []
    assert grounded("协会会长是李文。", "据深圳市人工智能产业协会统计，产业规模达2488亿元。") == ["李文"]
    assert grounded("网址是https://www.sz.gov.cn/。", quote) == ["https://www.sz.gov.cn/"]
    assert grounded("广州市的主管部门是工业和信息化部门。", quote) == ["广州市"]
    assert grounded("深圳市的主管部门是工业和信息化部门。", "《深圳经济特区人工智能产业促进条例》" + quote) == []


def test_generic_bodies_are_not_names() -> None:
    assert org_mentions("有关部门和各部门应当配合", TOK.cut) == []
    assert "伦理委员会" in "".join(org_mentions("设立人工智能伦理委员会", TOK.cut))


def test_value_kinds() -> None:
    assert has_time("市产业主管部门于每年上半年发布报告")
    assert has_time("自公布之日起三十日内")
    assert not has_time("市产业主管部门发布报告")
    assert has_quantity("最高给予1000万元资助", money=True)
    assert not has_quantity("2019年出台《行动计划》")  # a year is no quantity
    assert not has_quantity("依据第六条")
    assert has_quantity("应用层占比最高，为69%", percent=True)
    assert not has_quantity("融资规模超过12.70亿美元", percent=True)
    assert 1e11 in number_values("规模1000亿元的基金群")


def test_an_enumeration_its_quote_does_not_give_is_invented() -> None:
    # The quote says a list was published, not what is on it: a filled-in list is an invented value.
    quote = "5月31日，深圳印发行动方案，同步发布首批“城市+AI”应用场景清单，统筹设立规模1000亿元的人工智能基金群。"
    claim = "首批“城市+AI”应用场景清单包括：智能政务、智能交通、智能安防。"
    assert grounded(claim, quote) == ["智能交通", "智能安防"]


def test_an_enumeration_copied_from_its_quote_is_grounded() -> None:
    quote = "伦理委员会履行下列职责：研究制定伦理安全规范、评估伦理风险、监督伦理规范实施、受理投诉。"
    assert grounded("伦理委员会负责研究制定伦理安全规范、评估伦理风险、监督伦理规范实施。", quote) == []
    # One paraphrased item in an otherwise copied list is tolerated; two short lists are no enumeration.
    assert grounded("重点发展智能芯片、智能传感器、服务机器人等产业。", "重点发展智能芯片、智能传感器和智能机器人产业。") == []
    assert grounded("包括政务、交通。", "无关的引文。") == []
