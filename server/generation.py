"""One generation at a time per model, with a bounded first-come-first-served queue, and SSE streaming."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from answer.answerer import AnswerResult


class QueueFull(Exception):
    """More requests are waiting for the model than the queue allows."""


class GenerationGate:
    """Admits one generation at a time; up to ``max_waiting`` others wait in arrival order (asyncio locks are FIFO)."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Requests waiting for the model now."""
        return self._waiting

    async def run(self, work: Callable[[], AnswerResult]) -> AnswerResult:
        """Run blocking ``work`` in a thread once the model is free; raise ``QueueFull`` if the queue is full."""
        if self._lock.locked() and self._waiting >= self.max_waiting:
            raise QueueFull
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(work)
        finally:
            self._lock.release()


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream_answer(
    gate: GenerationGate, ask: Callable[[Callable[[str], None]], AnswerResult]
) -> AsyncIterator[str]:
    """SSE events: ``token`` for each generated piece, then one ``answer`` with the verified object.

    ``ask`` runs in a worker thread and reports pieces through its callback; they cross
    into the event loop with ``call_soon_threadsafe``.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def on_token(piece: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("token", piece))

    async def produce() -> None:
        try:
            result = await gate.run(lambda: ask(on_token))
            queue.put_nowait(("answer", result.to_dict()))
        except QueueFull:
            queue.put_nowait(("error", {"detail": "the model is busy; retry shortly"}))
        except Exception as exc:  # reported to the client as an event, never as a stack trace
            queue.put_nowait(("error", {"detail": str(exc) or type(exc).__name__}))

    task = asyncio.create_task(produce())
    try:
        while True:
            kind, payload = await queue.get()
            if kind == "token":
                yield sse("token", {"text": payload})
                continue
            yield sse(kind, payload)
            break
    finally:
        await task
