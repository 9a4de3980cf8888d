"""What does a question ask for? Its answer type and its focus, by stated rules (no model).

A policy question asks either for a *slot* — a quantity (多少、几、比例), a time (何时、多久、期限),
a body (哪个部门、由谁) or a place (在哪里、哪个网站) — or for something open: a list (哪些), a yes/no
verdict (是否、能否), a definition (什么是、是指), a procedure (如何、流程) or anything else.
Slot answers are checkable: the cited passage must hold the slot's *focus* (the thing whose
slot is asked: 奖励金额, 发布网站, 主管部门) next to a value of the asked type, or the corpus does not
give it (answer/slots.py).

Cues are matched on the simplified question. A question may ask several things
(``要向哪个部门递交申请，审批要多少个工作日？``): every cue is read, in the order it appears,
as one :class:`Ask`; the question's ``kind`` is that of its first slot ask, else its first ask.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import jieba

SLOT_KINDS = ("quantity", "time", "body", "place")
KINDS = (*SLOT_KINDS, "list", "yesno", "definition", "procedure", "open")

# Each cue: (kind, pattern). The order breaks ties between cues starting at the same position:
# the more specific reading comes first (哪些部门 is a body question, not a list).
_NUM = "一二两三四五六七八九十几"
_CUES: tuple[tuple[str, str], ...] = (
    (
        "time",
        r"什么时候|何时|多久|多长时间|多少年|多少个?(?:工作日|天|月|小时)|几年|哪一?年|哪一?天|哪个月|几月|几号"
        r"|几个?(?:工作日|月|星期|小时)|几天|期限|截止(?:日期|时间)?",
    ),
    ("time", r"(?:日期|时间)(?:是|为)?(?:什么|多少|哪)"),
    (
        "place",
        rf"在哪里|在哪儿|在什么地方|什么地方|哪里|哪儿|何地|哪个(?:平台|区|市)|网址"
        rf"|哪[{_NUM}]*[个座些家]?(?:网站|网址|国家|城市|地区|区域|省份|省|园区|片区|地方|产业基地|基地|医院|区|市|县)",
    ),
    (
        "body",
        r"哪个(?:部门|机构|单位|委员会|组织|主体|政府)|哪些(?:部门|机构|单位|主体|组织|人)|哪家"
        r"|什么(?:部门|机构|单位|组织)|由谁|是谁|谁",
    ),
    (
        "quantity",
        r"多少|多大|多高|多远|多重|第几|百分之几|比例|占比|比重|额度|上限|下限"
        r"|(?<![如若前这果])(?<!^)几(?:个|项|家|所|名|位|次|倍|种|类|期|届|成|大|条|款|章|节|批|亿|万|千|百|十)",
    ),
    ("definition", r"什么是|是指什么|指的是什么|是什么意思|(?:怎么|如何|怎样)(?:界定|定义)|定义|含义|概念"),
    (
        "yesno",
        r"是否|能否|可否|能不能|可不可以|可以不|要不要|需不需要|需要不|算不算|有没有|是不是|会不会|吗[？?]?$",
    ),
    ("procedure", r"如何|怎么|怎样|流程|程序|步骤|手续|途径|办法是|什么(?:方式|办法|途径|渠道)"),
    ("list", rf"哪些|哪几|哪[{_NUM}]+[个项类种大条点方]|包括什么|包含什么|分别是|什么(?:条件|材料|资料)"),
)
_CUE_RE = [(kind, re.compile(p)) for kind, p in _CUES]

_MEASURE = re.compile(r"(?:多少|几)(家|所|名|位|件|次|倍|人|种|类|条|款|章|期|届|座|台|套|批|部|篇|份|个|项)")
_TITLE = re.compile(r"《([^《》]{2,60})》")
_CLAUSE = re.compile(r"[？?！!；;。]")
# Words that never narrow down what is asked: the corpus's own topic and the question's frame.
GENERIC = frozenset(
    """
    人工智能 ai 深圳 深圳市 本市 市 条例 规定 资料 政策 文件 具体 主要 一般 目前 现在 最高 最多 最少 大概 大约 分别
    需要 要求 可以 能够 应该 应当 是 有 要 能 会 多少 几 哪个 哪些 什么 怎么 怎样 如何 是否 谁 多大 多久 哪里 时候 何时
    情况 问题 方面 相关 有关 这个 那个 其中 一下 一共 总共 到底 究竟 正式 目前为止 已经 最终 之前 以后
    它 它们 他 他们 她 我们 你们 其 这项 该项 此项 任务 希望 打算 准备 想 想要 计划要 前面 后面 一般
    最先 最早 首先 首次 那次 这次 那个 当时 这部 该 本 ai
    """.split()
)


@dataclass(frozen=True)
class Ask:
    """One thing a question asks: its answer type, the cue that says so, and its focus."""

    kind: str
    cue: str
    focus: str  # the thing whose slot is asked, as written in the question (奖励金额, 公布的网站)
    slot_noun: str  # the noun the cue governs (网站, 部门, 工作日), "" when the cue stands alone
    missing: str = ""  # how a partial answer names this detail (攻关机制的负责部门); the focus when empty
    subject: str = ""  # the thing whose slot is asked, as written before the cue (年度报告, 公共数据开放平台)
    event: str = ""  # the act whose time/place/body is asked (公布, 施行, 牵头)
    titles: tuple[str, ...] = ()  # documents the clause names in 《》: the answer must be about them
    unit: str = ""  # the measure word a counted answer carries (多少*家* → 104家), "" when none is asked

    @property
    def detail(self) -> str:
        """The detail a partial answer says is missing (具体数额 when there is no focus)."""
        return self.missing or self.focus or OPEN_DETAIL.get(self.kind, "该事项")


@dataclass(frozen=True)
class AskedDetail:
    """What a whole question asks (see module docstring)."""

    question: str
    kind: str
    asks: tuple[Ask, ...]

    @property
    def slots(self) -> tuple[Ask, ...]:
        """The asks whose answer is a checkable value."""
        return tuple(a for a in self.asks if a.kind in SLOT_KINDS)

    @property
    def focus(self) -> str:
        """The first slot's focus, else the first ask's."""
        first = self.slots[0] if self.slots else (self.asks[0] if self.asks else None)
        return first.focus if first else ""

    @property
    def detail(self) -> str:
        """What a partial answer says the corpus leaves open: the first slot's detail, else the first ask's."""
        first = self.slots[0] if self.slots else (self.asks[0] if self.asks else None)
        return first.detail if first else "该事项"


def _cues(clause: str) -> list[tuple[int, int, str]]:
    """Non-overlapping cues of ``clause``: (start, end, kind), leftmost first, earlier rules on ties."""
    found: list[tuple[int, int, int, str]] = []
    for order, (kind, pattern) in enumerate(_CUE_RE):
        for m in pattern.finditer(clause):
            found.append((m.start(), order, m.end(), kind))
    found.sort()
    out: list[tuple[int, int, str]] = []
    taken_until = -1
    for start, _, end, kind in found:
        if start < taken_until:
            continue
        if out and out[-1][2] == kind and re.fullmatch(r"[到至和与或、]?", clause[out[-1][1] : start]):
            out[-1] = (out[-1][0], end, kind)  # 多大 + 比例, 从哪一年到哪一年: one cue
        else:
            out.append((start, end, kind))
        taken_until = end
    return out


_TRAILING = frozenset(
    """
    是 为 有 要 在 由 向 到 能 会 可以 应当 需要 达到 大概 大约 最多 最高 最低 一共 共 的 能够
    可 将 还 都 又 占 给予 对 按照 从 自 于 被 给 拿到 能拿到 获得 得到 属于 了 过 着 做到 实现
    排 排在 提出 定 来 去 共有 总共 和 与 同 跟 这 那 落 落在 位于 坐落 归 《 》 “ ” " 「 」
    """.split()
)
# Words that name the slot itself rather than the thing it belongs to: their value is the answer
# (奖励*金额* is answered by "1000万元奖励", which never says 金额).
SLOT_NOUNS = frozenset(
    """
    金额 数额 数量 数目 规模 比例 占比 比重 额度 上限 下限 标准 时间 日期 期限 时限 年份 时候
    网站 网址 平台 部门 机构 机关 单位 组织 主体 人员 人 对象 地方 地点 地区 城市 国家 区域 钱 多少
    总额 总量 人数 个数 次数 多大 工作日 省份 片区 园区 委员会 基地 产业基地 医院 目标 企业 公司
    """.split()
)
_EVENT = frozenset(
    """
    公布 发布 负责 承担 审批 申请 成立 设立 担任 出资 施行 实施 生效 举办 召开 完成 建成 提交 递交 备案 批准 组建 印发
    通过 上线 开通 启动 补贴 资助 奖励 罚款 处罚 报送 认定 评估 主管 管理 牵头 组织 发放 兑现 受理 办理 公示 举行
    检举 举报 投诉 反映 咨询 试点 承建 建设 测算 统计 认定
    """.split()
)
# Cues that name their slot, and the slot implied by a cue that names none (for the missing detail).
_OWN_NOUN = re.compile(
    r"(部门|机构|单位|委员会|组织|主体|政府|网站|网址|平台|工作日|城市|地区|区域|省份|比例|占比|比重|额度|上限|下限|期限"
    r"|医院|产业基地|基地|园区|片区)$"
)
_TOWARDS = frozenset("向 到 去 找 跟 给 在 从 往".split())  # 向*哪个部门*申请: the asker goes there
_IMPLIED = {"time": "时间", "body": "", "place": "地点", "quantity": "数额"}
# What a slot with no focus leaves open, for the partial answer's text.
OPEN_DETAIL = {"time": "具体时间", "body": "具体主体", "place": "具体地点", "quantity": "具体数额"}


def _content(token: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fffA-Za-z0-9]", token)) and not _trailing(token)


def _trailing(token: str) -> bool:
    """A function word that ends a phrase before a cue (是, 由, or jieba's glued 是从)."""
    return token in _TRAILING or all(ch in _TRAILING for ch in token)


def _phrase(tokens: list[str], *, from_end: bool, size: int = 2) -> str:
    """Up to ``size`` content tokens at one end of ``tokens``, stopping at punctuation or a generic word.

    的 is skipped while nothing but slot nouns is picked (基金群的*规模* → 基金群的规模 keeps 基金群).
    """
    seq = list(reversed(tokens)) if from_end else tokens
    while seq and (_trailing(seq[0]) or seq[0] in GENERIC):
        seq = seq[1:]
    picked: list[str] = []
    for tok in seq:
        named = [t for t in picked if t not in SLOT_NOUNS]
        if tok == "的" and (not from_end or not named):
            continue
        if not _content(tok) or tok in GENERIC or len(named) == size:
            break
        picked.append(tok)
    return "".join(reversed(picked) if from_end else picked)


def _focus(
    clause: str, start: int, end: int, kind: str, cut: Callable[[str], list[str]]
) -> tuple[str, str, str, str, str]:
    """(focus, slot noun, missing detail, subject, event) of the cue at clause[start:end] (module docstring)."""
    cue = clause[start:end]
    after = [t for t in cut(clause[end:]) if t.strip()]
    before = [t for t in cut(re.split(r"[，,、]", clause[:start])[-1]) if t.strip()]
    if kind not in SLOT_KINDS:
        quoted = re.search(r"[“\"「]([^”\"」]{2,20})[”\"」]", clause)
        if kind == "definition" and quoted:
            return quoted.group(1), "", "", "", ""
        return _phrase(after, from_end=False, size=3) or _phrase(before, from_end=True) or cue, "", "", "", ""
    own = _OWN_NOUN.search(cue)
    noun = own.group(1) if own else ""
    i = 1 if after and after[0] in "个项家所名位" else 0
    if not noun and len(after) > i and len(after[i]) > 1 and _content(after[i]) and after[i] not in GENERIC:
        # the thing counted (多少*资助*), even when it reads as a verb; other slots name a slot noun
        if kind == "quantity" or after[i] in SLOT_NOUNS:
            noun = after[i]
            i += 1
    elif not noun and kind == "quantity" and len(after) > i and after[i] in SLOT_NOUNS:
        noun = after[i]  # 多少*人*, 多少*钱*
        i += 1
    verb = next((t for t in after[i : i + 3] if t in _EVENT), "")
    subject = _phrase(before, from_end=True, size=3)
    towards = bool(before) and before[-1] in _TOWARDS
    if kind == "body" and subject and not (towards and verb):
        # 攻关机制由哪个部门负责建立: the rule that answers names the mechanism, not always "负责";
        # but 产品向哪个部门递交申请 asks where the actor goes (below)
        role = verb + noun if verb and noun else noun
        detail = subject if not role or subject.endswith(role) else f"{subject}的{role}"
        # the rule that answers names the subject; 负责/牵头 it may not say (市…部门应当建立…体系)
        return subject, noun, detail, subject, ""
    if verb and kind != "quantity":
        focus = verb + (noun or _IMPLIED[kind])
        # 民众向哪里检举: the words before 向 name who acts, not what the slot belongs to
        return focus, noun, focus, "" if towards else subject, verb
    if kind == "quantity" and after[i:]:
        # what is counted may be named after the cue: 同时帮多少人*量体温*
        subject += _phrase(after[i:], from_end=False)
    focus = subject + noun if noun and noun not in subject else (subject or noun)
    return focus, noun, focus, subject, ""


def _measure(text: str) -> str:
    """The measure word of a count cue at the start of ``text`` (多少家 → 家, 几所 → 所)."""
    m = _MEASURE.match(text)
    return m.group(1) if m else ""


def classify(question: str, cut: Callable[[str], list[str]] | None = None) -> AskedDetail:
    """Read what ``question`` (simplified Chinese) asks; see the module docstring.

    ``cut``: a jieba segmenter (the index's, with the corpus dictionary); jieba's default otherwise.
    """
    cut = cut or jieba.lcut
    asks: list[Ask] = []
    for clause in (c.strip() for c in _CLAUSE.split(question)):
        if not clause:
            continue
        cues = _cues(clause + ("？" if question.rstrip().endswith(("？", "?")) else ""))
        if not cues:  # a sub-question without a cue still asks something (为什么…？ 培育什么样的…？)
            asks.append(Ask(kind="open", cue="", focus=clause[-12:], slot_noun=""))
        for start, end, kind in cues:
            focus, noun, detail, subject, event = _focus(clause, start, min(end, len(clause)), kind, cut)
            asks.append(
                Ask(
                    kind=kind,
                    cue=clause[start:end],
                    focus=focus,
                    slot_noun=noun,
                    missing=detail,
                    subject=subject,
                    event=event,
                    titles=tuple(t.strip() for t in _TITLE.findall(clause)),
                    unit=_measure(clause[start:]) if kind == "quantity" else "",
                )
            )
    slots = [a for a in asks if a.kind in SLOT_KINDS]
    kind = slots[0].kind if slots else asks[0].kind
    return AskedDetail(question=question, kind=kind, asks=tuple(asks))
