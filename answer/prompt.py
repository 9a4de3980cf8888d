"""The instruction and message layout sent to the local model.

Two styles, measured on the default Qwen2.5-Coder-0.5B GGUF:

* ``plain`` — "answer from the sources in Chinese". The 0.5B model answers correctly
  and fluently; it adds no ``[n]`` markers, so citations are attached by verification
  (each sentence gets the source that supports it).
* ``cite`` — also asks for ``[n]`` after each claim and for a fixed abstention
  sentence. Larger models follow it; the 0.5B model, given it, mostly answers a bare
  ``[1]`` or abstains on answerable questions, so it is not the default for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from answer.sources import Source
from models.chat import ChatMessage

ABSTAIN_SENTENCE = "根据现有资料无法回答该问题。"
# Leads an answer made of quotes because no generated sentence survived verification: the reader
# should know these are the most relevant passages, not a verified statement that answers the question.
QUOTED_PREFIX = "（模型的回答未通过核验，以下为资料中最相关的原文。）"
PROMPT_STYLES = ("plain", "cite")

SYSTEMS = {
    "plain": "根据资料，用中文简洁、完整地回答问题。",
    "cite": (
        "你是政策文件助理。只根据用户给出的编号资料回答问题，不要使用资料以外的知识。"
        "用简洁的中文回答，不超过三句话；每句话末尾用方括号标注所依据资料的编号，例如[1]。"
        f"如果资料不能回答问题，只回答：{ABSTAIN_SENTENCE}"
    ),
}


def format_sources(sources: Sequence[Source]) -> str:
    """Sources as the model sees them: ``[n] 《title》第六条：text``."""
    return "\n".join(f"[{s.n}] {s.citation}：{s.text}" for s in sources)


def build_messages(question: str, sources: Sequence[Source], *, style: str = "plain") -> list[ChatMessage]:
    """System instruction + one user turn holding the numbered sources and the question."""
    if style not in SYSTEMS:
        raise ValueError(f"unknown prompt style {style!r}; valid: {', '.join(PROMPT_STYLES)}")
    user = f"资料：\n{format_sources(sources)}\n\n问题：{question}"
    return [ChatMessage("system", SYSTEMS[style]), ChatMessage("user", user)]
