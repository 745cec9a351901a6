"""A small asyncio client for /v1/completions with streaming, and the load it generates.

Standard library only (HTTP/1.1 over asyncio streams, chunked transfer, server-sent events), so
the main environment needs no HTTP package. Closed loop: `concurrency` workers each send the
next request as soon as their previous one finished. Open loop: requests arrive at Poisson times
of a given rate whatever the server's state. Every request names its adapter in `model`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loralens.serving.vllm.errors import ServerRequestError


@dataclass
class RequestResult:
    """One streamed request: arrival-relative timings (s), generated token ids, error."""

    model: str
    index: int = 0  # the request's position in the load (results come back in this order)
    start_s: float = 0.0  # when it was sent, since the load began
    ttft_s: float | None = None
    e2e_s: float | None = None
    chunk_times_s: list[float] = field(default_factory=list)  # arrival of each token chunk
    token_ids: list[int] = field(default_factory=list)
    n_tokens: int = 0
    error: str | None = None

    @property
    def itl_s(self) -> list[float]:
        """Gaps between consecutive token chunks (inter-token latency)."""
        t = self.chunk_times_s
        return [b - a for a, b in itertools.pairwise(t)]


def completion_body(
    model: str,
    prompt_ids: Sequence[int],
    max_tokens: int,
    *,
    temperature: float = 0.0,
    seed: int | None = None,
) -> dict[str, Any]:
    """A streamed /v1/completions request for exactly `max_tokens` tokens (EOS ignored)."""
    body: dict[str, Any] = {
        "model": model,
        "prompt": list(prompt_ids),  # token ids: the same prompt the in-process engines see
        "max_tokens": max_tokens,
        "min_tokens": max_tokens,
        "ignore_eos": True,
        "temperature": temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
        "return_token_ids": True,
    }
    if seed is not None:
        body["seed"] = seed
    return body


def request_bytes(host: str, port: int, path: str, body: dict[str, Any]) -> bytes:
    """An HTTP/1.1 POST of `body` as JSON."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


def parse_event(line: bytes) -> dict[str, Any] | None:
    """The JSON of one `data: ...` SSE line; None for blank lines, comments and [DONE]."""
    text = line.decode(errors="replace").strip()
    if not text.startswith("data:"):
        return None
    payload = text.removeprefix("data:").strip()
    if payload == "[DONE]":
        return None
    return json.loads(payload)


def chunk_tokens(event: dict[str, Any]) -> tuple[list[int], bool]:
    """Token ids of one streamed chunk (if the server returns them) and whether it has text."""
    choices = event.get("choices") or []
    if not choices:
        return [], False
    choice = choices[0]
    ids = choice.get("token_ids") or []
    return list(ids), bool(ids) or bool(choice.get("text"))


def error_message(status: int, body: bytes) -> str:
    """The server's error message from a non-200 answer (OpenAI error JSON or raw text)."""
    text = body.decode(errors="replace").strip()
    try:
        err = json.loads(text)
        msg = err.get("error", err)
        msg = msg.get("message", msg) if isinstance(msg, dict) else msg
        text = str(msg)
    except (json.JSONDecodeError, AttributeError):
        pass
    return f"HTTP {status}: {text[:500]}"


async def _read_headers(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of an HTTP/1.1 answer."""
    status_line = await reader.readline()
    parts = status_line.decode(errors="replace").split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ServerRequestError(f"not an HTTP answer: {status_line[:80]!r}")
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = line.decode(errors="replace").partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _body_lines(reader: asyncio.StreamReader, headers: dict[str, str]):
    """Yield the body's lines, decoding chunked transfer encoding."""
    if headers.get("transfer-encoding", "").lower() != "chunked":
        while line := await reader.readline():
            yield line
        return
    pending = b""
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        pending += await reader.readexactly(size)
        await reader.readline()  # the CRLF after each chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line
    if pending:
        yield pending


async def stream_completion(
    host: str,
    port: int,
    body: dict[str, Any],
    t0: float,
    index: int = 0,
    timeout_s: float = 300.0,
) -> RequestResult:
    """Send one streamed completion; timings relative to `t0` (perf_counter); errors recorded."""
    result = RequestResult(model=body["model"], index=index, start_s=time.perf_counter() - t0)
    sent = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(request_bytes(host, port, "/v1/completions", body))
                await writer.drain()
                status, headers = await _read_headers(reader)
                if status != 200:
                    result.error = error_message(status, await reader.read())
                    return result
                async for line in _body_lines(reader, headers):
                    _take(result, parse_event(line), sent)
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    if result.error is None and result.chunk_times_s:
        result.e2e_s = result.chunk_times_s[-1]
    return result


def _take(result: RequestResult, event: dict[str, Any] | None, sent: float) -> None:
    """Record one SSE event: tokens and their arrival, usage, or an in-stream error."""
    if event is None:
        return
    if "error" in event:
        result.error = error_message(200, json.dumps(event).encode())
        return
    ids, has_token = chunk_tokens(event)
    if has_token:
        now = time.perf_counter() - sent
        if result.ttft_s is None:
            result.ttft_s = now
        result.chunk_times_s.append(now)
        result.token_ids += ids
    usage = event.get("usage")
    if usage:
        result.n_tokens = int(usage.get("completion_tokens", 0))


BodyFactory = Callable[[int], dict[str, Any]]  # request index -> body


async def closed_loop(
    host: str, port: int, bodies: BodyFactory, n_requests: int, concurrency: int
) -> tuple[list[RequestResult], float]:
    """`concurrency` workers sending `n_requests` in all back to back; results and wall time."""
    t0 = time.perf_counter()
    queue = iter(range(n_requests))
    results: list[RequestResult] = []

    async def worker() -> None:
        for i in queue:  # shared iterator: each index taken by one worker
            results.append(await stream_completion(host, port, bodies(i), t0, i))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return sorted(results, key=lambda r: r.index), wall


def poisson_arrivals(rate: float, n: int, seed: int) -> list[float]:
    """Arrival times (s) of `n` requests at `rate` per second (exponential gaps)."""
    rng = random.Random(seed)
    t, out = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate)
        out.append(t)
    return out


async def open_loop(
    host: str, port: int, bodies: BodyFactory, arrivals: Sequence[float]
) -> tuple[list[RequestResult], float]:
    """Requests sent at the given arrival times whatever is in flight; results and wall time."""
    t0 = time.perf_counter()

    async def one(i: int, at: float) -> RequestResult:
        await asyncio.sleep(max(0.0, at - (time.perf_counter() - t0)))
        return await stream_completion(host, port, bodies(i), t0, i)

    results = await asyncio.gather(*(one(i, at) for i, at in enumerate(arrivals)))
    return list(results), time.perf_counter() - t0


def run(coro: Any) -> Any:
    """Run a coroutine to completion from synchronous code."""
    return asyncio.run(coro)
