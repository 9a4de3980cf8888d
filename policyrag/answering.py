"""The CLI's answering commands: ``ask`` and ``serve`` (they load a generator)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from policyrag.common import CLIError, check_input, jsonl_loop, open_searcher, settings_from_args
from policyrag.settings import Settings


def load_generator(settings: Settings, *, no_llm: bool):  # type: ignore[no-untyped-def]
    """The configured GGUF, loaded once; None with --no-llm, or (with a warning) when the model file is missing."""
    from models.errors import ModelNotAvailableError
    from models.generators import create_generator

    if no_llm:
        return None
    try:
        return create_generator(
            settings.generator,
            models_dir=settings.models_dir,
            n_ctx=settings.n_ctx,
            n_gpu_layers=settings.n_gpu_layers,
            n_threads=settings.n_threads,
        )
    except ModelNotAvailableError as exc:
        print(f"policyrag: warning: {exc}; answering without a model (as --no-llm)", file=sys.stderr)
        return None


def open_answerer(settings: Settings, *, no_llm: bool):  # type: ignore[no-untyped-def]
    """Searcher + generator (loaded once); without a model file, fall back to extractive answers, loudly."""
    from answer.answerer import Answerer

    searcher = open_searcher(settings)
    generator = load_generator(settings, no_llm=no_llm)
    return Answerer(searcher, generator, settings=settings.answer_settings())


def _print_answer(result, out: TextIO, *, streamed: str) -> None:  # type: ignore[no-untyped-def]
    lead = "\n\n" if streamed else ""
    if result.partial is not None:
        # Not an answer: what the sources say on the topic, and the detail they leave open.
        print(f"{lead}【资料未规定】{result.partial.missing}", file=out)
        print("\n相关规定（不回答该问题，仅供参考）：", file=out)
        for c in result.partial.related:
            print(f"[{c.n}] {c.citation}\n    “{c.quote}”", file=out)
        _print_unsupported(result, out)
        return
    if result.abstained:
        print(f"{lead}{result.answer}（未找到可靠依据，已拒答）", file=out)
        _print_unsupported(result, out)
        return
    if streamed.strip() != result.answer:
        print(("\n\n核验后的回答：" if streamed else "") + result.answer, file=out)
    else:
        print(file=out)
    print("\n引用：", file=out)
    for c in result.citations:
        print(f"[{c.n}] {c.citation}\n    “{c.quote}”", file=out)
    _print_unsupported(result, out)
    timing = f"{result.took_ms / 1000:.1f} s"
    if result.first_token_ms is not None:
        timing += f", first token {result.first_token_ms / 1000:.1f} s"
    print(f"({result.model}; {timing})", file=out)


def _print_unsupported(result, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    if result.unsupported:
        print("\n已删除（资料不支持）：" + " / ".join(result.unsupported), file=out)


def cmd_ask(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """``policyrag ask``."""
    from retriever.search import QueryError

    check_input(args.question, args.jsonl, what="question", k=args.k, max_k=20)
    if args.export and args.jsonl:
        raise CLIError("--export writes one answer: give a QUESTION, not --jsonl")
    if args.export:  # a bad file name is reported before the model runs, not after
        from memo.export import UnknownFormatError, format_for_path

        try:
            format_for_path(args.export)
        except UnknownFormatError as exc:
            raise CLIError(str(exc)) from exc
    settings = settings_from_args(args, generator=args.generator)
    answerer = open_answerer(settings, no_llm=args.no_llm)
    if args.jsonl:
        filters = {"issuer": args.issuer, "year": args.year}
        return jsonl_loop(
            stdin, out, "question", lambda q: answerer.ask(q, k=args.k, no_llm=args.no_llm, **filters).to_dict()
        )
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        streamed.append(piece)
        out.write(piece)
        out.flush()

    try:
        result = answerer.ask(
            args.question,
            k=args.k,
            no_llm=args.no_llm,
            on_token=None if args.json else on_token,
            issuer=args.issuer,
            year=args.year,
        )
    except QueryError as exc:
        raise CLIError(str(exc)) from exc
    if args.json:
        out.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        _print_answer(result, out, streamed="".join(streamed))
    if args.export:
        from policyrag.exporting import export_answer

        print(export_answer(result, answerer.searcher, settings.index_dir, args.export, out), file=sys.stderr)
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """``policyrag serve``: loopback by default; another address needs --allow-remote and an API token."""
    settings = settings_from_args(args)
    if args.host not in LOOPBACK:
        if not args.allow_remote:
            raise CLIError(f"refusing to bind to {args.host} without --allow-remote (the default is 127.0.0.1)")
        if not settings.api_token:
            raise CLIError(
                f"binding to {args.host} needs an API token: set POLICYRAG_API_TOKEN (or api_token in --config)"
            )
    if not 1 <= args.port <= 65535:
        raise CLIError(f"--port must be between 1 and 65535, got {args.port}")
    import time

    import uvicorn

    from server.app import create_app

    started = time.perf_counter()
    if args.host not in LOOPBACK and settings.allowed_hosts is None:
        # Remote clients reach the server under names it cannot know; the API token guards it.
        settings = settings.model_copy(update={"allowed_hosts": ["*"]})
    generator = load_generator(settings, no_llm=args.no_llm)
    app = create_app(settings, generator=generator)
    index = app.state.searcher.index
    print(
        f"loaded {len(index.documents)} documents / {len(index.chunks)} chunks ({index.manifest.embedder}), "
        f"model {generator.name if generator else 'none (extractive answers)'} "
        f"in {time.perf_counter() - started:.1f} s\n"
        f"policyrag on http://{args.host}:{args.port}/  (API docs: /docs)",
        file=out,
        flush=True,
    )
    # Idle keep-alive connections close after 5 s; beyond 64 open connections uvicorn answers 503.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_keep_alive=5, limit_concurrency=64)
    return 0
