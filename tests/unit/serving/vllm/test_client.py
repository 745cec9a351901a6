"""The streaming client: request and event parsing, and a load against the fake server."""

from __future__ import annotations

import json
import statistics
import time

import pytest

from loralens.serving.vllm import client
from loralens.serving.vllm.server import ServerSettings, running_server

SETTINGS = ServerSettings(model="/m", served_name="base", lora_modules={"a": "/a", "b": "/b"})


def test_body_asks_for_exact_length_streamed_token_ids():
    body = client.completion_body("a", [5, 6], 4)
    assert body["model"] == "a" and body["prompt"] == [5, 6]
    assert body["max_tokens"] == body["min_tokens"] == 4 and body["ignore_eos"]
    assert body["stream"] and body["return_token_ids"] and body["temperature"] == 0.0
    assert "seed" not in body
    assert client.completion_body("a", [1], 1, temperature=0.8, seed=3)["seed"] == 3


def test_request_bytes_is_a_json_post():
    raw = client.request_bytes("127.0.0.1", 9, "/v1/completions", {"x": 1})
    head, body = raw.split(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/completions HTTP/1.1") and json.loads(body) == {"x": 1}
    assert f"Content-Length: {len(body)}".encode() in head


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'data: {"a": 1}\n', {"a": 1}),
        (b"data: [DONE]", None),
        (b"", None),
        (b": keep-alive", None),
    ],
)
def test_parse_event(line, expected):
    assert client.parse_event(line) == expected


def test_chunk_tokens():
    assert client.chunk_tokens({"choices": [{"text": "a", "token_ids": [3, 4]}]}) == ([3, 4], True)
    assert client.chunk_tokens({"choices": [{"text": ""}]}) == ([], False)
    assert client.chunk_tokens({"choices": [], "usage": {}}) == ([], False)


def test_error_message_takes_the_openai_message():
    body = json.dumps({"error": {"message": "The model `x` does not exist."}}).encode()
    assert client.error_message(404, body) == "HTTP 404: The model `x` does not exist."
    assert client.error_message(500, b"oops") == "HTTP 500: oops"


def test_poisson_arrivals_are_seeded_with_the_rate():
    a = client.poisson_arrivals(4.0, 2000, seed=1)
    assert a == client.poisson_arrivals(4.0, 2000, seed=1) and a == sorted(a)
    gaps = [y - x for x, y in zip([0.0, *a], a, strict=False)]
    assert statistics.mean(gaps) == pytest.approx(0.25, rel=0.1)


def test_itl_is_the_gap_between_chunks():
    r = client.RequestResult(model="a", chunk_times_s=[0.1, 0.3, 0.6])
    assert r.itl_s == pytest.approx([0.2, 0.3])


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory):
    """The fake server, once for the module."""
    import sys
    from pathlib import Path

    from .conftest import FAKE

    tmp = tmp_path_factory.mktemp("fake")
    shim = tmp / "python"
    shim.write_text(f'#!/bin/sh\nshift 2\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    shim.chmod(0o755)
    with running_server(Path(shim), SETTINGS, tmp / "log") as server:
        yield server


def test_stream_returns_tokens_and_timings(fake_server):
    body = client.completion_body("a", [10, 20], 5)
    r = client.run(client.stream_completion(fake_server.host, fake_server.port, body, 0.0))
    assert r.error is None and r.token_ids == [20, 21, 22, 23, 24] and r.n_tokens == 5
    assert 0 < r.ttft_s <= r.e2e_s and len(r.itl_s) == 4


def test_unknown_model_gets_the_servers_error(fake_server):
    body = client.completion_body("nope", [1], 2)
    r = client.run(client.stream_completion(fake_server.host, fake_server.port, body, 0.0))
    assert r.error == "HTTP 404: The model `nope` does not exist." and r.token_ids == []


def test_closed_loop_returns_every_request_in_order(fake_server):
    def body(i):
        return client.completion_body(["a", "b", "base"][i % 3], [100 * i], 3)

    results, wall = client.run(client.closed_loop(fake_server.host, fake_server.port, body, 9, 4))
    assert [r.index for r in results] == list(range(9)) and wall > 0
    assert [r.model for r in results[:3]] == ["a", "b", "base"]
    assert all(r.token_ids == [100 * r.index + j for j in range(3)] for r in results)


def test_open_loop_sends_at_the_arrival_times(fake_server):
    def body(i):
        return client.completion_body("a", [i], 2)

    start = time.perf_counter()
    results, _ = client.run(
        client.open_loop(fake_server.host, fake_server.port, body, [0.0, 0.2, 0.4])
    )
    assert time.perf_counter() - start >= 0.4
    assert [round(r.start_s, 1) for r in results] == [0.0, 0.2, 0.4]


def test_refused_connection_is_an_error_not_a_crash():
    from loralens.serving.vllm.server import free_port

    body = client.completion_body("a", [1], 2)
    r = client.run(client.stream_completion("127.0.0.1", free_port(), body, 0.0))
    assert r.error is not None and "ConnectionRefused" in r.error
