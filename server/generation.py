"""One generation at a time per model, with a bounded first-come-first-served queue, and SSE streaming."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from answer.answerer import AnswerResult
from retriever.search import QueryError

logger = logging.getLogger(__name__)

T = TypeVar("T")
ERROR_DETAIL = "the answer could not be generated; see the server log"
# While a streamed request waits (for the model, or between tokens), a keep-alive is sent this often: it keeps
# proxies from timing out, and writing it is how a client that went away is noticed while still in the queue.
KEEPALIVE_S = 2.0


class QueueFull(Exception):
    """More requests are waiting for the model than the queue allows."""


class GenerationCancelled(Exception):
    """Raised inside a generation whose client went away, to stop it at the next token."""


class GenerationGate:
    """Admits one generation at a time; up to ``max_waiting`` others wait in arrival order (asyncio locks are FIFO).

    The slot belongs to the worker thread, not to the awaiting request: a request cancelled while
    its generation runs (a client that disconnected) keeps the slot until the thread has ended.
    """

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Requests waiting for the model now."""
        return self._waiting

    @property
    def busy(self) -> bool:
        """True while a generation holds the model."""
        return self._lock.locked()

    async def run(self, work: Callable[[], T]) -> T:
        """Run blocking ``work`` in a thread once the model is free; raise ``QueueFull`` if the queue is full."""
        if self._lock.locked() and self._waiting >= self.max_waiting:
            raise QueueFull
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        thread_done = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            return await asyncio.shield(thread_done)
        finally:
            if thread_done.done():
                self._lock.release()
            else:  # cancelled while the thread runs: release when it really ends
                thread_done.add_done_callback(lambda _: self._lock.release())


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def answer_events(
    gate: GenerationGate | None, ask: Callable[[Callable[[str], None]], AnswerResult]
) -> AsyncGenerator[tuple[str, Any], None]:
    """``("token", piece)`` for each generated piece, then one ``("answer", AnswerResult)`` or an error event:
    ``("busy", detail)`` (queue full), ``("invalid", detail)`` (bad question) or ``("error", detail)``; and
    ``("ping", None)`` after ``KEEPALIVE_S`` seconds without another event.

    ``ask`` runs in a worker thread and reports pieces through its callback; they cross into the
    event loop with ``call_soon_threadsafe``. Without a ``gate`` (extractive answers) nothing
    queues. When the consumer stops early (the client disconnected), the generation is cancelled
    at its next token; the gate keeps the model's slot until the thread has actually stopped.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    cancelled = threading.Event()

    def on_token(piece: str) -> None:
        if cancelled.is_set():
            raise GenerationCancelled
        loop.call_soon_threadsafe(queue.put_nowait, ("token", piece))

    def work() -> AnswerResult:
        if cancelled.is_set():  # the client left while this request waited for the model
            raise GenerationCancelled
        return ask(on_token)

    async def produce() -> None:
        try:
            result = await (asyncio.to_thread(work) if gate is None else gate.run(work))
            queue.put_nowait(("answer", result))
        except QueueFull:
            queue.put_nowait(("busy", "the model is busy; retry shortly"))
        except QueryError as exc:  # bad input: the message is meant for the user
            queue.put_nowait(("invalid", str(exc)))
        except GenerationCancelled:
            logger.info("generation cancelled: the client went away")
        except Exception:  # reported to the client as an event; the details go to the log only
            logger.exception("streamed answer failed")
            queue.put_nowait(("error", ERROR_DETAIL))

    task = asyncio.create_task(produce())
    finished = False
    try:
        while True:
            try:
                kind, payload = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                kind, payload = "ping", None
            yield kind, payload
            if kind not in ("token", "ping"):
                finished = True
                break
    finally:
        if not finished:
            cancelled.set()
            task.cancel()  # a waiting request leaves the queue; a running one keeps its slot (GenerationGate.run)


async def stream_answer(
    gate: GenerationGate | None, ask: Callable[[Callable[[str], None]], AnswerResult]
) -> AsyncIterator[str]:
    """SSE events: ``token`` (``{"text"}``) per generated piece, then ``answer`` (the verified object) or ``error``."""
    events = answer_events(gate, ask)
    try:
        async for kind, payload in events:
            if kind == "token":
                yield sse("token", {"text": payload})
            elif kind == "ping":
                yield ": keep-alive\n\n"  # an SSE comment: clients ignore it
            elif kind == "answer":
                yield sse("answer", payload.to_dict())
            else:
                yield sse("error", {"detail": payload})
    finally:
        await events.aclose()
