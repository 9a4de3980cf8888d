"""Helpers shared by the CLI's commands: errors, settings from flags, loading the searcher, input checks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from pydantic import ValidationError

from policyrag.settings import ConfigError, Settings, load_settings
from server.schemas import MAX_QUESTION_CHARS, is_blank

# The API's limit everywhere: query embedding time grows with length (20k characters: 93 s).
MAX_QUERY_CHARS = MAX_QUESTION_CHARS


class CLIError(Exception):
    """An error reported as one line on stderr."""


def settings_from_args(args: argparse.Namespace, **extra: object) -> Settings:
    try:
        backend = {name: getattr(args, name, None) for name in ("backend", "uri", "milvus_token", "collection")}
        return load_settings(args.config, index_dir=args.index_dir, **backend, **extra)
    except (ConfigError, ValidationError) as exc:
        raise CLIError(str(exc).splitlines()[0] if isinstance(exc, ConfigError) else _first_error(exc)) from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"invalid setting {'.'.join(str(x) for x in err['loc'])}: {err['msg']}"


def open_searcher(settings: Settings):  # type: ignore[no-untyped-def]
    """Load the index (from its backend: the local folder or a Milvus collection) and the embedder it was built
    with."""
    from models.embedders import create_embedder
    from retriever.adapter import configured_adapter
    from retriever.backend import open_index
    from retriever.fusion import FusionConfig
    from retriever.search import Searcher

    index, backend = open_index(settings.index_location())
    embedder = create_embedder(index.manifest.embedder, models_dir=settings.models_dir, device=settings.device)
    fusion = FusionConfig(settings.fusion, settings.dense_weight, settings.bm25_weight, settings.rrf_k)
    return Searcher(
        index,
        embedder,
        fusion=fusion,
        authority_boost=settings.authority_boost,
        backend=backend,
        adapter=configured_adapter(settings.query_adapter, embedder=index.manifest.embedder),
    )



def text_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot be searched (empty, too long), or None."""
    if is_blank(text):
        return f"the {what} is empty"
    if len(text) > MAX_QUERY_CHARS:
        return f"the {what} is too long ({len(text):,} characters; at most {MAX_QUERY_CHARS})"
    return None


def check_input(text: str | None, jsonl: bool, *, what: str, k: int | None, max_k: int) -> None:
    """The checks shared by search and ask: one text or --jsonl, non-empty, not too long, k in range."""
    if jsonl and text:
        raise CLIError(f"give a {what.upper()} or --jsonl ({what}s on stdin), not both")
    if not jsonl:
        problem = text_problem(text or "", what)
        if problem:
            raise CLIError(problem)
    if k is not None and not 1 <= k <= max_k:
        raise CLIError(f"-k must be between 1 and {max_k}, got {k}")


def input_lines(stdin: TextIO) -> Iterator[tuple[str, str | None]]:
    """``(line, problem)`` per stdin line; a line that is not UTF-8 is reported, and later lines are kept.

    Reads the binary stream underneath when there is one, so one bad byte cannot end the loop.
    """
    raw = getattr(stdin, "buffer", None)
    if raw is None:
        for line in stdin:
            yield line.rstrip("\r\n"), None
        return
    for number, data in enumerate(raw, 1):
        data = data.rstrip(b"\r\n")
        try:
            yield data.decode("utf-8-sig" if number == 1 else "utf-8"), None
        except UnicodeDecodeError as exc:
            text = data.decode("utf-8", errors="replace")
            yield text, f"line {number} is not valid UTF-8 (byte {exc.start}); re-save the input as UTF-8"


def jsonl_loop(stdin: TextIO, out: TextIO, key: str, run: Callable[[str], dict[str, Any]]) -> int:
    """One JSON object per input line, in order; a bad line yields ``{key: line, "error": …}``."""
    from retriever.search import QueryError

    for text, problem in input_lines(stdin):
        problem = problem or text_problem(text, key)
        if problem:
            payload: dict[str, Any] = {key: text, "error": problem}
        else:
            try:
                payload = run(text)
            except QueryError as exc:
                payload = {key: text, "error": str(exc)}
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        out.flush()
    return 0
