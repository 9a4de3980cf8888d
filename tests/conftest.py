"""Shared fixtures: a deterministic fake embedder and a tiny inline Chinese corpus."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from indexer.normalise import to_simplified


class FakeEmbedder:
    """Deterministic bag-of-character-bigrams embedder: similar texts get similar vectors.

    Fast and model-free, so unit tests exercise the whole pipeline in milliseconds.
    """

    def __init__(self, name: str = "fake", dim: int = 64, max_tokens: int = 512) -> None:
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        self.calls: list[int] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        text = to_simplified(text)
        for a, b in itertools.pairwise(text):
            h = int.from_bytes(hashlib.md5((a + b).encode()).digest()[:4], "little")
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        return self.encode_queries(texts)

    def count_tokens(self, text: str) -> int:
        return len(text)


REGULATION_CLEAN = """示范人工智能促进条例

第一章 总则

第一条 为了促进人工智能产业发展，制定本条例。

第二条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责统筹协调产业发展工作。

市发展改革、科技创新等部门在各自职责范围内负责相关工作。

第二章 数据与伦理

第三条 市人民政府应当设立人工智能伦理委员会，履行下列职责：

- （一）研究制定伦理安全规范；
- （二）评估伦理风险。

第四条 针对新技术制定相应的监管规则 and 标准，实行分类分级监管。

第五条 本条例自2022年11月1日起施行。
"""

# The same regulation flattened to one line by a web scrape, followed by its 解读 and an unrelated article.
REGULATION_SCRAPE = (
    "示范人大网\n"
    "公告《示范人工智能促进条例》经常务委员会通过,现予公布。示范人工智能促进条例目 录第一章 总则第二章 数据与伦理"
    "第一章 总则第一条 为了促进人工智能产业发展,制定本条例。第二条 市工业和信息化部门是人工智能产业主管部门"
    "(以下简称市产业主管部门),负责统筹协调产业发展工作。市发展改革、科技创新等部门在各自职责范围内负责相关工作。"
    "第二章 数据与伦理第三条 市人民政府应当设立人工智能伦理委员会,履行下列职责:(一)研究制定伦理安全规范;"
    "(二)评估伦理风险。第四条 针对新技术制定相应的监管规则和标准,实行分类分级监管。"
    "第七章 附则第五条 本条例自2022年11月1日起施行。《示范人工智能促进条例》解读"
    "《条例》共五条,明确了主管部门与伦理委员会。一、立法必要性制定《条例》是推动产业发展的需要。"
    "二、主要内容(一)明确主管部门由市工业和信息化部门负责统筹。"
    "(二)设立伦理委员会负责研究制定伦理安全规范并评估风险。" + "补充说明。" * 60 + "深圳芯片产业观察\n"
    "芯片产业是人工智能的基础。\n"
    "芯片优势\n"
    "华为发布了多款人工智能芯片，算力领先。\n"
)

REGULATION_TRADITIONAL = """示範人工智能促進條例
第一章 總則
第一條為了促進(jìn)人工智能產(chǎn)業(yè)發(fā)展,制定本條例。
第二條市工業(yè)和信息化部門是人工智能產(chǎn)業(yè)主管部門(以下簡稱市產(chǎn)業(yè)主管部門),負(fù)責(zé)統籌協調產業發展工作。
市發展改革、科技創新等部門在各自職責範圍內負責相關工作。
第二章 數據與倫理
第三條市人民政府應當設立人工智能倫理委員會,履行下列職責:
。ㄒ唬┭芯恐贫ㄈ斯ぶ悄茴I(lǐng)域的倫理安全規(guī)範;
(二)評估倫理風險。
第四條針對新技術制定相應的監管規則和標準,實行分類分級監管。
第五條 本條例自2022年11月1日起施行。
"""

PLAN = """示范新一代人工智能发展行动计划（2019-2023年）
2020/1/13 11:45   示范市人民政府      关键字:人工智能      浏览量:
为抢抓人工智能发展机遇，制定本行动计划。
  一、指导思想
  坚持创新驱动，打造人工智能产业高地。
  二、主要任务
  （一）强化基础研究。
  前瞻布局人工智能基础理论。
  1.加强基础理论研究。聚焦深度学习和类脑智能计算理论。
  专栏1 基础理论研究
  深度学习理论。研究小样本学习和强化学习。
  2.突破核心关键技术。发展计算机视觉和语音识别技术。
微信扫描二维码,关注公众号。
"""


def overlap_logprob(prefix: str, text: str) -> float:
    """A fake language model's log P(text | prefix): each character bigram of ``text`` is likely (0.5)
    when it occurs in ``prefix`` and unlikely (0.01) otherwise. Deterministic; it makes a source
    that shares the question's words raise the question's likelihood, as a real model does."""
    grams = [text[i : i + 2] for i in range(len(text) - 1)] or [text]
    return float(sum(np.log(0.5) if g in prefix else np.log(0.01) for g in grams))


@pytest.fixture()
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    """A folder with three copies of one regulation (clean, scraped, traditional) and a plan."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a_scrape.txt").write_text(REGULATION_SCRAPE, encoding="utf-8")
    (folder / "b_clean.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    (folder / "c_traditional.txt").write_bytes(REGULATION_TRADITIONAL.encode("utf-8"))
    (folder / "d_plan.txt").write_text(PLAN, encoding="utf-8")
    return folder


# --- real models and the real corpus, shared by the integration tests (built once per session) -------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_e5():  # type: ignore[no-untyped-def]
    """The real default CPU embedder."""
    from models.embedders import create_embedder

    return create_embedder("e5-small", models_dir=ROOT / "models")


@pytest.fixture(scope="session")
def real_index(real_e5, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """An index of the real corpus/ built with e5-small (embedding it once saves ~25 s per test module)."""
    from indexer.build import build_index

    folder = tmp_path_factory.mktemp("real-index")
    build_index([ROOT / "corpus"], folder / "index", real_e5, cache_dir=folder / "cache", progress=False)
    return folder / "index"


@pytest.fixture(scope="session")
def real_generator():  # type: ignore[no-untyped-def]
    """The default Qwen GGUF, or a skip naming the fix when it has not been fetched."""
    from models.errors import ModelNotAvailableError
    from models.generators import create_generator

    try:
        return create_generator("auto", models_dir=ROOT / "models")
    except ModelNotAvailableError as exc:
        pytest.skip(f"default GGUF not available ({exc}); run: make models")
