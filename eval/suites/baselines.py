"""Baselines side by side: a "typical RAG" setup against ours, with an ablation of what each step adds.

Every configuration runs in the same process with the same embedder, the same (normalised) questions
and the same metrics; embeddings go through one text-keyed ``EmbeddingCache``, so re-runs are cheap.

=================  =======================================================================  ============
configuration      items indexed                                                            retrieval
=================  =======================================================================  ============
typical RAG        500-character windows, 50 overlap, over each logical document's          dense
                   normalised text; copies of a document are all indexed (no de-dup)
+ structure        our article-level chunks (``chunk_units``), copies all indexed            dense
+ de-duplication   our chunks after ``merge_copies`` (the product's normal ingest)           dense
+ hybrid (ours)    the same chunks                                                          dense + BM25
windows + hybrid   the typical-RAG windows                                                  dense + BM25
=================  =======================================================================  ============

Hybrid is the product's default ``FusionConfig`` (convex: cosine + 0.05 × BM25 / best BM25); BM25
terms come from each corpus's jieba tokenizer. Queries are normalised (``normalise_query``: 繁→简 etc.)
in every configuration, so the ablation isolates chunking, de-duplication and fusion.

Metric mapping. Each retriever returns its top ``DEPTH`` = 100 items (windows or chunks; a hybrid run
fuses the two top-100 lists). The ranked items become a ranked list of distinct unit ids
``《title》label``: a chunk maps to its unit (``Chunk.unit_citation``); a window maps to every unit
whose character span it overlaps, in document order; the first occurrence of a unit is kept. Windows
are thus scored generously (one 500-character window usually covers 2–7 articles). On that list:
capped R@1/5/10/100, MRR@10, nDCG@10 (``eval.common.metrics``) and the recall curve R@k for k = 1..100.

Sets. ``dev``: ``corpus/`` and the in-corpus questions of ``eval/data/dev_questions.jsonl``.
``statutes``: embedding the whole law collection four ways is too slow on a small CPU, so this uses
the fusion study's seeded STARD subset (300 questions sampled with seed 0, the laws their gold names
point at — newest version — plus random distractor laws up to ~9,000 chunks); questions whose gold
articles are not in the subset are left out (see the ``scope`` field). Skipped, with a message, when
the datasets are absent.

Run: ``python -m eval.suites.baselines`` (writes ``eval/reports/baselines.json`` and prints Markdown tables).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.common.law_subset import LawFile, read_law_file, select_subset
from eval.common.metrics import ranked_units, recall_at_k, score_ranking
from eval.common.questions import EvalQuestion, load_dev
from eval.common.statutes import load_stard, stard_eval_questions
from eval.suites.baseline_corpora import WINDOW_CHARS, WINDOW_OVERLAP, ingest_copies, windows_for_documents
from indexer.chunking import budget_for_window
from indexer.embed_cache import EmbeddingCache
from indexer.normalise import normalise_query
from indexer.pipeline import Corpus, ingest
from indexer.tokenise import JiebaTokenizer
from models.embedders import Embedder
from retriever.dense import DenseIndex
from retriever.fusion import FusionConfig, fuse
from retriever.sparse import BM25Index

logger = logging.getLogger(__name__)

DEPTH = 100
METRICS = ("R@1", "R@5", "R@10", "R@100", "MRR@10", "nDCG@10")
DEFAULT_CACHE = Path("eval/.cache/baselines-embcache")
STARD_SAMPLE = 300
STARD_TARGET_CHUNKS = 9000
STARD_MAX_CHUNKS = 9800
STARD_SEED = 0
# Left out exactly as in the fusion study, so the subset (and its embedding cache) is the same one.
EXCLUDED_LAWS = frozenset({"导弹及相关物项和技术出口管制条例(2002-08-22).md"})


@dataclass(frozen=True)
class Configuration:
    """One row of the table: which items are indexed and whether BM25 is fused in."""

    name: str
    description: str
    items: str  # windows | copies | merged
    hybrid: bool


def configurations(fusion: FusionConfig | None = None) -> tuple[Configuration, ...]:
    """The rows, ablation ladder first (each adds one step), then windows + hybrid."""
    f = fusion or FusionConfig()
    hybrid = f"dense + BM25 ({f.method} {f.dense_weight:g} / {f.bm25_weight:g})"
    windows = f"{WINDOW_CHARS}-char windows, {WINDOW_OVERLAP} overlap"
    return (
        Configuration("typical RAG", f"{windows}, dense only, no de-duplication", "windows", False),
        Configuration("+ structure", "article-level chunks, dense only, no de-duplication", "copies", False),
        Configuration("+ de-duplication", "article-level chunks, copies merged, dense only", "merged", False),
        Configuration("+ hybrid (ours)", f"article-level chunks, copies merged, {hybrid}", "merged", True),
        Configuration("windows + hybrid", f"{windows}, {hybrid}, no de-duplication", "windows", True),
    )


@dataclass(frozen=True)
class ItemIndex:
    """The searchable items of one corpus variant: dense and BM25 indexes and the units of each row."""

    units: tuple[tuple[str, ...], ...]
    dense: DenseIndex
    bm25: BM25Index
    tokenizer: JiebaTokenizer

    def __len__(self) -> int:
        return len(self.units)


def build_item_index(
    texts: Sequence[str],
    units: Sequence[Sequence[str]],
    tokenizer: JiebaTokenizer,
    embedder: Embedder,
    cache: EmbeddingCache,
    *,
    label: str,
    progress: bool = True,
) -> ItemIndex:
    """Embed ``texts`` (through the cache), index them densely and for BM25; row ``i`` is item ``i``."""
    with tqdm(total=len(texts), desc=f"embedding {label}", unit="item", disable=not progress) as bar:
        vectors = cache.embed(texts, embedder.encode_documents, on_progress=bar.update)
    dense = DenseIndex(embedder.dim).build(vectors)
    bm25 = BM25Index().build([tokenizer.terms(t) for t in texts])
    return ItemIndex(tuple(tuple(u) for u in units), dense, bm25, tokenizer)


def evaluate_configuration(
    index: ItemIndex,
    questions: Sequence[EvalQuestion],
    query_vectors: np.ndarray,
    *,
    hybrid: bool,
    fusion: FusionConfig | None = None,
) -> tuple[dict[str, float], list[float]]:
    """Mean metrics and the mean recall curve (R@1..R@DEPTH) of one configuration."""
    fusion = fusion or FusionConfig()
    scores, rows = index.dense.search(query_vectors, DEPTH)
    per_metric: dict[str, list[float]] = {m: [] for m in METRICS}
    curve = np.zeros(DEPTH)
    for i, q in enumerate(questions):
        dense = (scores[i], rows[i])
        if hybrid:
            bm25 = index.bm25.search(index.tokenizer.terms(normalise_query(q.question)), DEPTH)
            ranked_rows = [row for row, _ in fuse(fusion, dense, bm25)]
        else:
            ranked_rows = [int(r) for r in rows[i]]
        ranked = ranked_units(ranked_rows, lambda r: index.units[r])
        for name, value in score_ranking(ranked, q.gold).items():
            per_metric[name].append(value)
        curve += [recall_at_k(ranked, q.gold, k) for k in range(1, DEPTH + 1)]
    n = max(1, len(questions))
    metrics = {m: round(float(np.mean(v)), 4) if v else 0.0 for m, v in per_metric.items()}
    return metrics, [round(float(x), 4) for x in curve / n]


def evaluate_set(
    *,
    name: str,
    description: str,
    scope: str,
    paths: Sequence[Path],
    normal: Corpus,
    questions: Sequence[EvalQuestion],
    embedder: Embedder,
    cache: EmbeddingCache,
    progress: bool = True,
) -> dict[str, Any]:
    """Index one corpus three ways (windows, per-copy chunks, merged chunks) and score every configuration."""
    budget = budget_for_window(embedder.max_tokens)
    copies = ingest_copies(paths, budget=budget)
    windows = windows_for_documents(copies.documents)
    logger.info(
        "%s: %d windows, %d per-copy chunks, %d merged chunks, %d questions",
        name,
        len(windows),
        len(copies.chunks),
        len(normal.chunks),
        len(questions),
    )
    variants: dict[str, tuple[list[str], list[tuple[str, ...]], JiebaTokenizer]] = {
        "merged": (
            [c.embed_text for c in normal.chunks],
            [(c.unit_citation,) for c in normal.chunks],
            normal.tokenizer,
        ),
        "copies": (
            [c.embed_text for c in copies.chunks],
            [(c.unit_citation,) for c in copies.chunks],
            copies.tokenizer,
        ),
        "windows": ([w.text for w in windows], [w.units for w in windows], copies.tokenizer),
    }
    indexes = {
        key: build_item_index(texts, units, tokenizer, embedder, cache, label=f"{name} {key}", progress=progress)
        for key, (texts, units, tokenizer) in variants.items()
    }
    query_vectors = embedder.encode_queries([normalise_query(q.question) for q in questions])
    rows: list[dict[str, Any]] = []
    for config in configurations():
        index = indexes[config.items]
        metrics, curve = evaluate_configuration(index, questions, query_vectors, hybrid=config.hybrid)
        rows.append(
            {
                "name": config.name,
                "description": config.description,
                "items_indexed": len(index),
                "metrics": metrics,
                "recall_curve": curve,
            }
        )
    return {
        "name": name,
        "description": description,
        "questions": len(questions),
        "scope": scope,
        "rows": rows,
    }


def dev_set(
    corpus_dir: Path, dev_questions: Path, embedder: Embedder, cache: EmbeddingCache, *, progress: bool = True
) -> dict[str, Any]:
    """The policy dev set over ``corpus_dir``."""
    normal = ingest([corpus_dir], budget=budget_for_window(embedder.max_tokens))
    questions = load_dev(dev_questions)
    s = normal.stats
    scope = (
        f"{corpus_dir.name}/: {s.files} files, {s.logical_documents} logical documents "
        f"({s.documents} after merging copies); {len(questions)} in-corpus questions"
    )
    return evaluate_set(
        name="dev",
        description="policy dev set: hand-written in-corpus questions over the default corpus "
        "(one regulation present in three copies)",
        scope=scope,
        paths=[corpus_dir],
        normal=normal,
        questions=questions,
        embedder=embedder,
        cache=cache,
        progress=progress,
    )


def statute_set(
    laws_dir: Path, stard_path: Path, embedder: Embedder, cache: EmbeddingCache, *, progress: bool = True
) -> dict[str, Any]:
    """STARD questions over the fusion study's seeded law subset (built as symlinks in a temp folder)."""
    files: list[LawFile] = [read_law_file(p) for p in sorted(laws_dir.rglob("*.md")) if p.name not in EXCLUDED_LAWS]
    sampled, gold_keys, distractors, groups = select_subset(
        load_stard(stard_path),
        files,
        sample=STARD_SAMPLE,
        target_chunks=STARD_TARGET_CHUNKS,
        max_chunks=STARD_MAX_CHUNKS,
        seed=STARD_SEED,
    )
    chosen = [f for k in [*gold_keys, *distractors] for f in groups[k]]
    with tempfile.TemporaryDirectory(prefix="baselines-stard-") as tmp:
        folder = Path(tmp) / "laws"
        folder.mkdir()
        for f in chosen:
            (folder / f.path.name).symlink_to(f.path.resolve())
        normal = ingest([folder], budget=budget_for_window(embedder.max_tokens))
        units = {c.unit_citation for c in normal.chunks}
        present, _, _ = stard_eval_questions(sampled, [d.title for d in normal.documents], units)
        scope = (
            f"seeded STARD subset (seed {STARD_SEED}): {len(sampled)} questions sampled, {len(present)} with a gold "
            f"article in the subset; {len(chosen)} law files ({len(gold_keys)} laws named by the gold + "
            f"{len(distractors)} distractor laws, newest version each; {normal.stats.chunks} chunks) "
            f"out of {len(files)} files in the collection ({len(EXCLUDED_LAWS)} more left out, as in the fusion study)"
        )
        return evaluate_set(
            name="statutes",
            description="STARD statute questions (real questions by non-lawyers) over a subset of the law collection",
            scope=scope,
            paths=[folder],
            normal=normal,
            questions=present,
            embedder=embedder,
            cache=cache,
            progress=progress,
        )


def run_baselines(
    *,
    corpus_dir: Path,
    dev_questions: Path,
    laws_dir: Path | None,
    stard_path: Path | None,
    embedder: Embedder,
    cache_dir: Path,
    out_path: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every configuration on the dev set and (when its data exist) the statute set; write the JSON report.

    ``laws_dir`` / ``stard_path`` set to None, or pointing at missing files, skip the statute set with a
    message in ``skipped``.
    """
    started = time.perf_counter()
    cache = EmbeddingCache(cache_dir, embedder.name, embedder.dim)
    sets = [dev_set(corpus_dir, dev_questions, embedder, cache, progress=progress)]
    skipped: list[str] = []
    if laws_dir is None or stard_path is None:
        skipped.append("statutes: skipped (no laws folder or STARD file given)")
    elif not laws_dir.is_dir() or not stard_path.is_file():
        missing = laws_dir if not laws_dir.is_dir() else stard_path
        skipped.append(f"statutes: skipped, {missing} not found (see ../shared/README.md)")
    else:
        sets.append(statute_set(laws_dir, stard_path, embedder, cache, progress=progress))
    for message in skipped:
        logger.warning("%s", message)
    report: dict[str, Any] = {
        "kind": "baselines",
        "embedder": embedder.name,
        "depth": DEPTH,
        "sets": sets,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return report


def format_set(result: dict[str, Any]) -> str:
    """A Markdown table of one set: one row per configuration."""
    lines = [
        f"### {result['name']} — {result['questions']} questions",
        "",
        f"{result['scope']}",
        "",
        "| configuration | items | " + " | ".join(METRICS) + " |",
        "|---|---:|" + "---:|" * len(METRICS),
    ]
    for row in result["rows"]:
        cells = " | ".join(f"{row['metrics'][m]:.3f}" for m in METRICS)
        lines.append(f"| {row['name']} | {row['items_indexed']} | {cells} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    from models.embedders import create_embedder

    p = argparse.ArgumentParser(prog="python -m eval.suites.baselines", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=Path("corpus"))
    p.add_argument("--questions", type=Path, default=Path("eval/data/dev_questions.jsonl"))
    p.add_argument("--laws", type=Path, default=Path("../shared/datasets/laws"))
    p.add_argument("--stard", type=Path, default=Path("../shared/datasets/stard/train.jsonl"))
    p.add_argument("--out", type=Path, default=Path("eval/reports/baselines.json"))
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="embedding cache folder (text-keyed)")
    p.add_argument("--skip-statutes", action="store_true", help="run the dev set only")
    p.add_argument("--embedder", default="e5-small")
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    embedder = create_embedder(args.embedder, models_dir=args.models_dir)
    report = run_baselines(
        corpus_dir=args.corpus,
        dev_questions=args.questions,
        laws_dir=None if args.skip_statutes else args.laws,
        stard_path=None if args.skip_statutes else args.stard,
        embedder=embedder,
        cache_dir=args.cache_dir,
        out_path=args.out,
    )
    for result in report["sets"]:
        print("\n" + format_set(result))
    for message in report["skipped"]:
        print(f"\n{message}")
    print(f"\n{report['seconds']} s; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
