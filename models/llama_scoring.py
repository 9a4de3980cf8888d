"""Log-likelihood of a text under a llama.cpp model: one batched decode, logits only where needed.

``llama_cpp.Llama`` keeps logits for every position only when built with ``logits_all=True``,
which allocates n_ctx x n_vocab floats (2.5 GB for Qwen2.5 at n_ctx 4096). Scoring needs the
logits at the few positions that predict the scored text, so the batch asks llama.cpp for
exactly those (``llama_batch.logits[i]``) and reads them with ``llama_get_logits_ith``.
Pinned to llama-cpp-python 0.3.36 (it uses ``Llama._ctx`` and ``Llama._batch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _log_softmax_at(logits: np.ndarray, token: int) -> float:
    row = logits.astype(np.float64)
    top = row.max()
    return float(row[token] - top - np.log(np.exp(row - top).sum()))


def token_logprobs(llm: Any, prefix: Sequence[int], text: Sequence[int]) -> np.ndarray:
    """log P(text[i] | prefix + text[:i]) for every token of ``text``.

    Clears ``llm``'s KV cache (its next generation evaluates its prompt from scratch).
    ``prefix`` must not be empty: the first text token is predicted from its last token.
    """
    import llama_cpp

    if not prefix:
        raise ValueError("token_logprobs needs a non-empty prefix")
    tokens = [*prefix, *text]
    if len(tokens) > llm.n_ctx():
        raise ValueError(f"{len(tokens)} tokens do not fit the context window of {llm.n_ctx()}")
    first_needed = len(prefix) - 1  # position whose logits predict text[0]
    n_vocab = llm.n_vocab()
    llm.reset()
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    out = np.empty(len(text), dtype=np.float64)
    step = llm.n_batch
    for start in range(0, len(tokens), step):
        chunk = tokens[start : start + step]
        llm._batch.set_batch(chunk, n_past=start, logits_all=False)
        wanted = [i for i in range(len(chunk)) if first_needed <= start + i < len(tokens) - 1]
        for i in range(len(chunk)):
            llm._batch.batch.logits[i] = i in wanted
        if not wanted:  # llama.cpp wants at least one output per batch
            llm._batch.batch.logits[len(chunk) - 1] = True
        llm._ctx.decode(llm._batch)
        for i in wanted:
            pos = start + i
            row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, i), shape=(n_vocab,))
            out[pos - first_needed] = _log_softmax_at(row, tokens[pos + 1])
    # Keep llama-cpp-python's view of the context empty: the scored tokens are not a prompt to reuse.
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    llm.reset()
    return out
