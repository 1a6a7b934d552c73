"""Back-pressure a client notices: beyond the search slots and the short queue a search is
refused at once with 503 and Retry-After; the health and readiness checks answer at once
however busy the worker is; a half-sent body gets 408 instead of holding the connection."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import hashing_settings
from service_process import ThreadedServer
from starlette.exceptions import HTTPException

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from retrieval.searcher import Searcher
from service.backpressure import SearchGate

SEARCH_SECONDS = 0.6


class SlowSearcher:
    """The real searcher, each search taking SEARCH_SECONDS longer (a stand-in for a heavy load)."""

    def __init__(self, searcher: Searcher) -> None:
        self._searcher = searcher
        self.started = threading.Semaphore(0)

    def search(self, *args, **kwargs):
        self.started.release()
        time.sleep(SEARCH_SECONDS)
        return self._searcher.search(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._searcher, name)


@pytest.fixture
def slow_server(isolated_data: Path):
    settings = hashing_settings(isolated_data, max_searches=1, search_queue=1, search_wait_seconds=5.0,
                                request_read_timeout=0.5)
    encoder = HashingEncoder(256)
    build_index(settings.corpus_dir, settings.index_dir, settings, encoder, progress=False)
    slow = SlowSearcher(Searcher.open(settings, encoder=encoder))
    from web.app import create_app

    with ThreadedServer(create_app(settings, searcher_loader=lambda path: slow)) as server:
        yield server, slow


def test_searches_beyond_the_slot_and_the_queue_are_refused_at_once(slow_server):
    server, slow = slow_server
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(httpx.get, f"{server.url}/api/search", params={"q": "Hvad er peerstøtte?"}, timeout=30)
        assert slow.started.acquire(timeout=10)  # one search runs...
        queued = pool.submit(httpx.get, f"{server.url}/api/search", params={"q": "Hvad er WRAP?"}, timeout=30)
        time.sleep(0.2)  # ...one waits in the queue of one...
        started = time.monotonic()
        refused = [httpx.get(f"{server.url}/api/search", params={"q": f"spørgsmål {n}"}, timeout=30) for n in range(3)]
        refused_in = time.monotonic() - started
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        alive = httpx.get(f"{server.url}/healthz", timeout=5)
        health_in = time.monotonic() - started - refused_in
        page = httpx.get(f"{server.url}/", params={"q": "Hvad er peerstøtte?"}, headers={"Accept": "text/html"})
        plain_chat = httpx.get(f"{server.url}/", headers={"Accept": "text/html"})
        assert first.result().status_code == 200 and queued.result().status_code == 200

    assert [r.status_code for r in refused] == [503, 503, 503]
    assert all(r.headers["Retry-After"] == "1" and "busy" in r.json()["detail"] for r in refused)
    assert refused_in < SEARCH_SECONDS  # at once, not after waiting for a slot
    assert ready.status_code == 503 and ready.json()["searches_running"] == 1 and ready.json()["searches_waiting"] == 1
    assert alive.status_code == 200 and health_in < SEARCH_SECONDS
    assert page.status_code == 503 and "Travlt lige nu" in page.text  # the chat says so in Danish
    assert plain_chat.status_code == 200  # the chat without a question is never refused
    assert httpx.get(f"{server.url}/readyz").json()["ready"] is True  # and once the load is gone, ready again


def test_a_half_sent_body_gets_408_and_the_connection_back(slow_server):
    server, _ = slow_server
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100\r\n\r\n{\"q\": \"Hvad")
        started = time.monotonic()
        answer = connection.recv(4096).decode("utf-8", "replace")
        waited = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 408") and "did not arrive within 0.5 s" in answer
    assert waited < 3


def test_the_gate_lets_a_queued_search_in_or_refuses_it_after_the_wait():
    async def scenario() -> list[str]:
        gate = SearchGate(slots=1, queue=1, wait=0.1)
        await gate.enter()  # the slot is taken and never given back in time
        outcomes = []
        for _ in range(2):
            try:
                await gate.enter()
                outcomes.append("entered")
            except HTTPException as refused:
                outcomes.append(f"{refused.status_code} {refused.detail.split('(')[1].split(')')[0]}")
        gate.leave()
        await gate.enter()  # a slot given back is taken straight away
        outcomes.append("entered")
        return outcomes

    outcome: list[list[str]] = []
    # a thread of its own: a test before this one (the browser tests) may leave an event loop running here
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario())))
    runner.start()
    runner.join(timeout=10)
    assert outcome[0] == [
        "503 no search slot became free in time", "503 no search slot became free in time", "entered"]
