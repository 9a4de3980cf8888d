"""The slot check: may a passage answer what the question asks — and if none may, what do the sources say?

A slot question (answer/question.py) is answerable from a passage (one 款 or sentence) only when
that passage holds both the question's *focus* — the head word of the thing whose slot is asked
(奖励, 售价, 公布, 主任), or a close synonym — and a value of the asked type (a figure, a date or
period, an organisation or person, a place or web address). No model takes part, so the check holds
for every generator. When no passage qualifies, the answer is *partial*: the related passages,
quoted, and the detail the corpus leaves open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from answer.question import GENERIC, SLOT_NOUNS, Ask, AskedDetail
from answer.sources import Source
from answer.values import (
    CN_DIGITS,
    Tagger,
    has_duration,
    has_quantity,
    has_time,
    number_values,
    org_mentions,
    people,
    places,
    urls,
)
from answer.verify import Citation, support

SYNONYMS: dict[str, tuple[str, ...]] = {
    "公布": ("发布", "公开", "公示"),
    "发布": ("公布", "公开", "印发"),
    "施行": ("生效",),  # not 实施: 计划实施情况 is no entry into force
    "生效": ("施行",),
    "成立": ("设立", "组建", "建立"),
    "设立": ("成立", "组建", "建立"),
    "罚": ("罚款", "处罚", "罚金"),
    "罚款": ("罚", "处罚"),
    "补贴": ("补助", "资助"),
    "资助": ("补贴", "补助", "支持"),
    "担任": ("由",),
    "负责": ("主管", "承担", "牵头", "责任单位"),
    "牵头": ("负责", "责任单位"),
    "主管": ("负责", "主管部门"),
    "举办": ("召开", "举行"),
    "检举": ("举报", "投诉"),
    "举报": ("检举", "投诉"),
    "投诉": ("举报", "检举"),
}
_HEADING_CHARS = 30
# A near-topic question's own words are half slot and half topic: 0.3 of them still marks the topic
# (tuned on the near-topic set's tune part; far questions stop at the retrieval gate before this).
RELATED_SHARE = 0.3
# "等多个医院", "各园区": a count or a kind, not a name
_VAGUE = re.compile(r"(?:多个|多家|各|一些|其他|其它|相关|有关|部分|若干|众多|等|该|本|这些|所有)$")
_ROLES = frozenset("对象 人员 人 主体 单位 机构 部门 组织".split())
_MONEY_HEADS = ("经费", "资金", "钱", "金额", "资助", "补贴", "补助", "奖励", "投资")
_DURATION_CUE = re.compile(
    r"多久|多长时间|多少年|多少个?(?:工作日|天|月|小时)|几年|几个?(?:工作日|月|星期|小时)|几天|期限"
)
# What a list is a list *of* when it names a kind rather than a thing (哪些政策, 哪些方面): the article that
# answers lists the items and need not repeat the kind; 哪些*税收优惠* names a thing it must mention.
CATEGORY_NOUNS = frozenset(
    """
    政策 方向 方面 措施 内容 领域 工作 要求 职责 任务 形式 方式 途径 事项 问题 原则 目标 作用 特点 优势 重点 环节
    类 种 项 举措 支持 服务 产品 技术 活动 制度 机制 手段 条件 做法 规定 办法 能力 场景 应用 行业 产业
    """.split()
)
_VERBS_1 = frozenset("罚 奖 补 租 借 税".split())  # one-character words that carry a focus
_FUNCTION = frozenset("的 了 和 与 及 或 在 对 为 由 向 从 上 下 中 前 后 里 内 外 个 项 家 起".split())
_MONEY_NOUNS = (
    "钱",
    "金额",
    "资金",
    "资助",
    "补贴",
    "补助",
    "奖励",
    "罚",
    "售价",
    "价格",
    "费用",
    "投资",
    "总额",
    "出资",
)
_PERCENT_NOUNS = ("比例", "占比", "比重", "百分之", "增长率", "增速", "率")
_AREA_NOUNS = frozenset("城市 国家 地区 区域 省 省份 地方 地点 区 市".split())
# A named web site (深圳政府在线网站, 市政府门户网站); not 互联网/物联网, which are no addresses.
_WEBSITE = re.compile(r"[\u4e00-\u9fff]{2,}(?:网站|官网|门户网)")
# Who a rule names when it names a kind of actor rather than a body (奖励的对象是谁 → 个人、组织).
_ACTORS = re.compile(r"个人|组织|单位|企业|机构|人员|团队|人才|高等院校|科研机构|社会力量|公民|法人|专家")
_PLACE_VALUE = re.compile(r"[\u4e00-\u9fff]{2,}(?:区|市|省|县|街道|园区|合作区|新区|城|网|网站)")


@dataclass(frozen=True)
class Partial:
    """What the corpus says on the topic of a question it does not answer, and the detail it leaves open."""

    missing: str  # the detail the corpus leaves open (发布网站)
    related: tuple[Citation, ...]  # what it does say on the topic, quoted

    def to_dict(self) -> dict[str, object]:
        """The documented JSON shape: ``{"missing": str, "related": [citation objects]}``."""
        return {"missing": self.missing, "related": [asdict(c) for c in self.related]}


def focus_terms(ask: Ask, cut: Callable[[str], list[str]]) -> tuple[str, ...]:
    """The words of an ask's focus that a qualifying passage must contain (one of them, or a synonym).

    The head word (the last one) comes first. Generic words and slot nouns are left out; a focus of
    nothing but those (多少钱) keeps its slot noun.
    """
    words = [w for w in cut(ask.focus) if re.search(r"[\u4e00-\u9fffA-Za-z0-9]", w) and w not in _FUNCTION]
    content = [w for w in words if w.lower() not in GENERIC and w not in SLOT_NOUNS and (len(w) > 1 or w in _VERBS_1)]
    if not content:
        content = [ask.slot_noun] if ask.slot_noun else []
    return tuple(reversed(content))


def required_words(
    ask: Ask, cut: Callable[[str], list[str]], tagger: Tagger | None = None, *, limit: int = 3
) -> tuple[str, ...]:
    """What a passage must name to answer a slot: the subject's words nearest the cue, the event, and the
    thing counted (年度报告 + 公布; 公共数据开放平台; 单个项目 + 资助). Empty when the question names none.

    With a tagger, the subject's verbs are left out when it has other words: a question paraphrases the
    act (给…研究*安排*了多少经费 where the text says 提供) more freely than the thing.
    """
    subject = re.sub(r"第[一二三四五六七八九十百零〇\d]+条", "", ask.subject)  # 条例第五十条…: a reference
    words = [w for w in cut(subject) if re.search(r"[\u4e00-\u9fffA-Za-z0-9]", w) and w not in _FUNCTION]
    if tagger is not None:
        tags = dict(tagger(subject))
        # 欧洲*哪个国家*: a region before a place cue contains the answer, it is not the thing asked about
        drop = {w for w, f in tags.items() if f.startswith("v") or (ask.kind == "place" and f == "ns")}
        words = [w for w in words if w not in drop]
    # 由谁建设开放*平台*: for a body the platform is the thing, not the slot; roles (对象, 单位) are the slot
    keep_slot_nouns = ask.kind == "body"
    words = [
        w
        for w in words
        if w.lower() not in GENERIC
        and w != ask.slot_noun
        and w not in _ROLES
        and (keep_slot_nouns or w not in SLOT_NOUNS)
        and (len(w) > 1 or w in _VERBS_1)
    ][-limit:]
    extra = [ask.event] if ask.event else []
    noun = ask.slot_noun
    counted = noun and noun.lower() not in GENERIC and noun not in SLOT_NOUNS and not noun.endswith(_MONEY_HEADS)
    if ask.kind == "quantity" and counted and noun not in words:
        extra.append(noun)  # 多少*资助*: the money it names is the value; 多少*纳米* is not
    return tuple(dict.fromkeys(words + extra))


def variants(word: str) -> set[str]:
    """Ways a passage may write ``word``: itself, a close synonym, the last two characters of a compound
    (where Chinese puts its head: 量体温 → 体温), the compound less a trailing slot noun (主管机关 → 主管)."""
    out = {word, *SYNONYMS.get(word, ())}
    tail = "".join(re.findall(r"[\u4e00-\u9fff]", word))[-2:]
    if len(word) >= 3 and len(tail) == 2 and tail not in GENERIC and tail not in SLOT_NOUNS:
        out.add(tail)
    if len(word) >= 3 and word[-2:] in SLOT_NOUNS:
        out.add(word[:-2])
    if len(word) == 3 and word[:2] not in GENERIC:
        out.add(word[:2])
    return out


def holds_all(passage: str, words: Sequence[str]) -> bool:
    """Every word (or one of its variants) stands in the passage."""
    return all(any(v in passage for v in variants(w)) for w in words)


def holds_focus(passage: str, terms: Sequence[str]) -> bool:
    """The passage names the focus: its head word (or a synonym, or the head's last two characters,
    where Chinese puts a compound's head: 具体办法 → 办法, 量体温 → 体温), or all the focus words."""
    if not terms:
        return True
    if any(v in passage for v in variants(terms[0])):
        return True
    return len(terms) > 1 and all(t in passage for t in terms)


def holds_value(ask: Ask, passage: str, *, cut: Callable[[str], list[str]], tagger: Tagger, question: str = "") -> bool:
    """The passage holds a value of the type ``ask`` asks for (see module docstring).

    A value the question itself states (鹏城实验室设在*深圳*什么地方, 除了*深圳第三人民医院*) is no answer.
    """
    noun = ask.slot_noun
    focus = ask.focus

    def new(found: Iterable[str]) -> bool:
        return any(v not in question for v in found)

    if ask.kind == "quantity":
        if ask.unit and ask.unit not in "个项":  # 多少个 may be answered by 九大, 上千类
            # 多少家 is answered by 104家 / 20家以上 / 一千余家, not by an amount in 亿元
            unit = ask.unit
            return new(m.group(0) for m in re.finditer(rf"(?:\d+|[{CN_DIGITS}]+)\s*(?:余|多|来)?\s*{unit}", passage))
        percent = any(n in focus or n in ask.cue for n in _PERCENT_NOUNS)
        money = not percent and any(n in focus or n in ask.cue for n in _MONEY_NOUNS)
        return has_quantity(passage, percent=percent, money=money, exclude=number_values(question))
    if ask.kind == "time":
        return has_duration(passage) if _DURATION_CUE.search(ask.cue) else has_time(passage)
    if ask.kind == "body":
        named = new(org_mentions(passage, cut)) or new(people(passage, tagger))
        # 由谁 / 对象是谁 may be answered by a kind of actor (个人、组织); 哪家企业 / 哪个机构 needs a name
        return named or ((not noun or noun in {"对象", "人员", "人"}) and bool(_ACTORS.search(passage)))
    if ask.kind == "place":
        if noun == "网址":
            return new(urls(passage))  # the corpus naming a site (…开放网站…子站) gives no address
        if noun == "网站":
            return new(urls(passage)) or new(m.group(0) for m in _WEBSITE.finditer(passage))
        if noun and noun not in _AREA_NOUNS:
            # 哪家*医院*, 哪个产业*基地*: a name of that kind (深圳第三人民医院, 罗湖人工智能产业基地)
            kind = noun[-2:]
            names = (m.group(0) for m in re.finditer(rf"[\u4e00-\u9fffA-Za-z0-9]{{2,}}?{kind}", passage))
            # compared by their last six characters: the match may start before the name (…在深圳第三人民医院)
            return new(n[-6:] for n in names if not _VAGUE.search(n[: -len(kind)]))
        if not noun and new(org_mentions(passage, cut)):
            return True  # 向哪里检举: where to go is a body
        return new(places(passage, tagger)) or new(m.group(0) for m in _PLACE_VALUE.finditer(passage))
    return True


def answering_passages(
    ask: Ask,
    sources: Sequence[Source],
    *,
    cut: Callable[[str], list[str]],
    tagger: Tagger,
    question: str = "",
    terms: Callable[[str], list[str]] | None = None,
) -> list[tuple[Source, str]]:
    """The (source, passage) pairs that hold the ask's focus and a value of its type.

    Given the question and a term function, the best first: a named body before a kind of actor (由谁 →
    市政务服务数据管理部门 before 组织和个人), then by how much of the question the passage holds (the
    extractive answer's measure, answer/verify.support).
    """
    words = required_words(ask, cut, tagger)
    out: list[tuple[Source, str]] = []
    context: dict[tuple[str, str], str] = {}  # what a passage says with its heading, for ranking
    for s in sources:
        # A unit's short heading (推动智慧城市融合发展) names the topic of all its sentences,
        # e.g. the plan's "（责任单位：…）" line; a document named in 《》 may be the cited one itself.
        heading = s.passages[0] if s.passages and len(s.passages[0]) <= _HEADING_CHARS else ""
        for p in s.passages:
            text = heading + p if p != heading else p
            named = all(t in s.citation + text for t in ask.titles)
            holds = holds_all(text, words)
            if named and holds and holds_value(ask, p, cut=cut, tagger=tagger, question=question):
                out.append((s, p))
                context[(s.chunk_id, p)] = text
    if question and terms is not None:
        relevance = terms  # bound for the closure below (mypy narrows locals only)

        def rank(pair: tuple[Source, str]) -> tuple[bool, float]:
            named = ask.kind != "body" or bool(org_mentions(pair[1], cut) or people(pair[1], tagger))
            return named, support(question, context[(pair[0].chunk_id, pair[1])], relevance, check_negation=False)

        out.sort(key=rank, reverse=True)
    return out


def related_passages(
    asked: AskedDetail,
    sources: Sequence[Source],
    *,
    cut: Callable[[str], list[str]],
    terms: Callable[[str], list[str]],
    limit: int = 2,
) -> list[tuple[Source, str]]:
    """At most ``limit`` passages on the question's topic, best first, one per source.

    A passage is on topic when it shares at least ``RELATED_SHARE`` of the question's content words (jieba
    terms, generic words left out); the best passage of each source is the one sharing most.
    """
    generic = set(terms(" ".join(GENERIC | SLOT_NOUNS)))  # and their parts: 人工智能 → 人工, 智能
    q_terms = set(terms(asked.question)) - generic
    if not q_terms:
        return []
    scored: list[tuple[float, int, Source, str]] = []
    for rank, source in enumerate(sources):
        best = max(
            ((len(q_terms & set(terms(p))) / len(q_terms), p) for p in source.passages),
            key=lambda x: x[0],
            default=(0.0, ""),
        )
        if best[0] >= RELATED_SHARE:
            scored.append((best[0], -rank, source, best[1]))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return [(s, p) for _, _, s, p in scored[:limit]]


def partial_answer(
    asked: AskedDetail,
    sources: Sequence[Source],
    *,
    missing: str,
    cut: Callable[[str], list[str]],
    terms: Callable[[str], list[str]],
) -> Partial | None:
    """The partial answer for a question the sources do not answer, or None when nothing is on topic.

    ``missing``: the detail left open (a slot's focus); the question's focus when empty.
    """
    related = related_passages(asked, sources, cut=cut, terms=terms)
    if not related:
        return None
    detail = missing or asked.detail
    citations = tuple(
        Citation(n=i, citation=s.citation, doc_title=s.doc_title, article=s.article, quote=p, chunk_id=s.chunk_id)
        for i, (s, p) in enumerate(related, start=1)
    )
    return Partial(missing=detail, related=citations)


def partial_text(partial: Partial) -> str:
    """The human answer: ``现有资料未规定该事项。相关规定：《…》第六十二条规定：“…”。但未规定发布网站。``."""
    quotes = "；".join(f"{c.citation}规定：“{c.quote.rstrip('。；;')}”" for c in partial.related)
    return f"现有资料未规定该事项。相关规定：{quotes}。但未规定{partial.missing}。"
