"""A new index build is loaded in the background and swapped in between requests: a running service
answers every request while it loads, no request waits for the load, and then it serves the new build.

The service is the real app under uvicorn in a thread on 127.0.0.1 (so the test can watch its
loader: which thread loads, and when), on the repository corpus copied to ``tmp_path`` and indexed
with the hashing encoder; the second build is published the way ``python -m indexer build`` does
it, into the same ``--out``. Each reload carries a pause standing in for a real model's load time,
so a request that waited for the load would be unmistakable, not a matter of milliseconds.
"""

from __future__ import annotations

import gc
import logging
import re
import shutil
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from conftest import CORPUS, hashing_settings, write_doc
from service_process import ThreadedServer
from test_service_reload import add_new_document, small_corpus, wait_until

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from indexer.store import load_index
from retrieval.searcher import Searcher
from service.app import create_api
from service.state import SearcherHolder

RELOAD_PAUSE = 1.5  # seconds added to every load after the first (a real model takes seconds to load)
SWITCH_TIMEOUT = 15.0  # seconds for a published build to be served (the interval is 0.1 s)
LOOP_LIMIT = 20.0  # seconds the request loop runs at most, whatever happens
WORD = "snurrebassefestivalen"  # made up: in no corpus document until the new one is added
NEW_DOC = "snurrebassefestival"


# --- a loader the test can watch -----------------------------------------------------------------

@dataclass
class Load:
    thread: threading.Thread
    started: float
    ended: float = 0.0


@dataclass
class WatchedLoader:
    """The service's own loader (``Searcher.open``), recording which thread loads and when."""

    settings: Settings
    loads: list[Load] = field(default_factory=list)

    def __call__(self, path: Path) -> Searcher:
        load = Load(threading.current_thread(), time.monotonic())
        self.loads.append(load)
        try:
            if len(self.loads) > 1:
                time.sleep(RELOAD_PAUSE)
            return Searcher.open(self.settings, path, HashingEncoder(256))
        finally:
            load.ended = time.monotonic()


# --- the service and a client asking it over and over -----------------------------------------------

@dataclass
class Answer:
    started: float
    ended: float
    status: int
    version: str


@dataclass
class SearchLoop:
    """Searches over and over from a background thread (at most ``LOOP_LIMIT`` s), recording every answer."""

    url: str
    answers: list[Answer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + LOOP_LIMIT
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    response = client.get("/api/search", params={"q": "Hvad er peerstøtte?", "k": 3})
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                version = response.json().get("index_version", "") if response.status_code == 200 else ""
                self.answers.append(Answer(started, time.monotonic(), response.status_code, version))
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text[:300]}")

    def during(self, load: Load) -> list[Answer]:
        """The answers to requests that were open at some moment of ``load``."""
        return [a for a in self.answers if a.started < load.ended and a.ended > load.started]


@pytest.fixture
def settings(tmp_path: Path, isolated_data: Path) -> Settings:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return hashing_settings(isolated_data, corpus, reload_interval=0.1)


def add_festival_document(corpus: Path) -> None:
    write_doc(corpus, NEW_DOC, "Snurrebassefestivalen",
              "## Om festivalen\n\nSnurrebassefestivalen er et årligt træf, hvor peerstøttegivere fra hele landet "
              "mødes og udveksler erfaringer med recovery.\n", source_file="test.txt")


def top_document(url: str, question: str) -> str | None:
    response = httpx.get(f"{url}/api/search", params={"q": question, "k": 1}, timeout=10)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return results[0]["doc"]["id"] if results else None


def served_version(url: str) -> str:
    response = httpx.get(f"{url}/healthz", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["index_version"]


@pytest.fixture
def running(settings: Settings) -> Iterator[tuple[str, WatchedLoader]]:
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    loader = WatchedLoader(settings)
    with ThreadedServer(create_api(settings, searcher_loader=loader)) as server:
        yield server.url, loader
    watchers = [load.thread for load in loader.loads if load.thread.name == "index-watcher"]
    assert not any(thread.is_alive() for thread in watchers), "the watcher outlived the service"


def test_a_running_service_answers_throughout_a_swap_and_then_serves_the_new_build(
        running: tuple[str, WatchedLoader], settings: Settings, caplog: pytest.LogCaptureFixture):
    url, loader = running
    caplog.set_level(logging.INFO, logger="service.state")
    old = served_version(url)
    assert top_document(url, WORD) != NEW_DOC

    loop = SearchLoop(url)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(loop.answers) >= 5, SWITCH_TIMEOUT, "the search loop did not get going")
        add_festival_document(settings.corpus_dir)
        new = build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
        wait_until(lambda: served_version(url) == new["build_id"], SWITCH_TIMEOUT,
                   "the service did not switch to the new build")
        after_switch = len(loop.answers)
        wait_until(lambda: len(loop.answers) >= after_switch + 5, SWITCH_TIMEOUT, "the search loop stalled")
    finally:
        loop.stop.set()
        thread.join(timeout=15)

    assert loop.failures == [] and all(a.status == 200 for a in loop.answers)
    versions = [a.version for a in loop.answers]  # the old build, then the new one: a switch, never back
    switch = versions.index(new["build_id"])
    assert set(versions[:switch]) == {old} and set(versions[switch:]) == {new["build_id"]}
    assert top_document(url, WORD) == NEW_DOC

    # the request path never loads: the one reload ran on the watcher, and the requests open
    # meanwhile were answered (from the old build) in far less time than the load took
    reload, = loader.loads[1:]
    assert reload.thread.name == "index-watcher"
    load_seconds = reload.ended - reload.started
    during = loop.during(reload)
    assert len(during) >= 3, "too few requests overlapped the load to tell"
    slowest = max(a.ended - a.started for a in during)
    assert slowest < load_seconds / 2, f"a request took {slowest:.2f} s during a {load_seconds:.2f} s load"
    assert {a.version for a in during if a.ended <= reload.ended} <= {old}

    swaps = [r.getMessage() for r in caplog.records if r.name == "service.state"]
    assert len(swaps) == 1 and re.fullmatch(rf"switched to index build {new['build_id']} \(loaded in \d+\.\d\d s\)",
                                            swaps[0]), swaps


# --- the holder in-process -------------------------------------------------------------------------

@dataclass
class CountingLoader:
    """Loads a small index; ``gate``, when set, holds each reload until the test opens it."""

    settings: Settings
    calls: list[str] = field(default_factory=list)
    gate: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)

    def __call__(self, path: Path) -> Searcher:
        self.calls.append(threading.current_thread().name)
        if self.gate is not None and len(self.calls) > 1:
            self.entered.set()
            assert self.gate.wait(10), "the test did not open the gate"
        return Searcher(load_index(path), HashingEncoder(256), self.settings)


@pytest.fixture
def small(tmp_path: Path, isolated_data: Path) -> Settings:
    settings = hashing_settings(isolated_data, small_corpus(tmp_path / "small-corpus"))
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    return settings


def publish(settings: Settings) -> dict:
    add_new_document(settings.corpus_dir)
    return build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)


def test_get_never_loads_and_check_now_swaps_and_drops_the_old_searcher(small: Settings):
    loader = CountingLoader(small)
    holder = SearcherHolder(small.index_dir, loader, interval=3600)
    old = weakref.ref(holder.get())
    new = publish(small)
    for _ in range(3):
        assert holder.get() is old()  # a request never loads, however new the link is
    assert len(loader.calls) == 1

    assert holder.check_now() is True
    assert holder.get().version == new["build_id"] and holder.get().document("solsikken") is not None
    assert holder.check_now() is False and len(loader.calls) == 2  # the link did not move since
    gc.collect()
    assert old() is None, "the holder kept a reference to the searcher it swapped out"


def test_the_old_searcher_answers_while_a_load_runs_and_only_one_load_runs(small: Settings):
    loader = CountingLoader(small, gate=threading.Event())
    holder = SearcherHolder(small.index_dir, loader, interval=3600)
    old = holder.get()
    new = publish(small)
    loading = threading.Thread(target=holder.check_now, name="first-load")
    loading.start()
    try:
        assert loader.entered.wait(10)
        assert holder.get() is old  # answered at once, from the old build
        assert holder.check_now(wait=False) is False  # a second load does not start beside the first
        assert loader.calls == ["MainThread", "first-load"]
    finally:
        loader.gate.set()
        loading.join(timeout=10)
    assert holder.get().version == new["build_id"] and len(loader.calls) == 2


def test_the_watcher_swaps_by_itself_and_stops_with_the_holder(small: Settings):
    loader = CountingLoader(small)
    with SearcherHolder(small.index_dir, loader, interval=0.05) as holder:
        watcher = holder._watcher
        assert watcher is not None and watcher.is_alive() and watcher.daemon
        new = publish(small)
        wait_until(lambda: holder.get().version == new["build_id"], 10, "the watcher did not swap")
    assert not watcher.is_alive() and not holder.watching
    assert loader.calls == ["MainThread", "index-watcher"]


def test_a_build_that_fails_to_load_is_tried_once_and_reported(small: Settings, tmp_path: Path):
    loads: list[Path] = []

    def failing_after_the_first(path: Path) -> Searcher:
        loads.append(path)
        if len(loads) > 1:
            raise ValueError("dense.faiss is\ntruncated")
        return Searcher(load_index(path), HashingEncoder(256), small)

    holder = SearcherHolder(small.index_dir, failing_after_the_first, interval=3600)
    old = holder.get()
    publish(small)
    assert holder.check_now() is False and holder.check_now() is False
    assert holder.get() is old and len(loads) == 2  # tried once, not again until the link moves
    assert holder.failed_target is not None and holder.degraded.endswith("dense.faiss is truncated")


def test_stop_without_start_and_twice_is_harmless(small: Settings):
    holder = SearcherHolder(small.index_dir, CountingLoader(small), interval=1)
    holder.stop()
    holder.start()
    holder.start()  # once
    holder.stop()
    holder.stop()
    assert not holder.watching


def test_an_interval_of_zero_starts_no_watcher(small: Settings):
    with SearcherHolder(small.index_dir, CountingLoader(small), interval=0) as holder:
        assert not holder.watching
