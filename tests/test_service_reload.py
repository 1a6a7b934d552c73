"""A running service picks up a newly published build by itself, without failing a request, and
keeps answering from the old build when the new one cannot be loaded.

The service is a real ``python -m service`` process (the hashing encoder, ``PEERQA_RELOAD_INTERVAL``
= 0.2 s); builds are published the way ``python -m indexer build`` publishes them, by
``indexer.build.build_index`` switching the index link.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from conftest import CORPUS, hashing_settings, write_doc
from service_process import running_service

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from indexer.store import load_index
from retrieval.searcher import Searcher
from service.state import SearcherHolder

START_TIMEOUT = 60.0  # seconds for the process to import, load the index and listen
SWITCH_TIMEOUT = 10.0  # seconds for a published build to be served (the interval is 0.2 s)
NEW_QUESTION = "Hvor ligger kattepensionen Solsikken?"


def small_corpus(folder: Path) -> Path:
    folder.mkdir()
    write_doc(folder, "wrap", "WRAP", "## Om WRAP\n\nWRAP er et gruppeforløb med fokus på recovery og trivsel.\n")
    write_doc(folder, "odense", "Peer to Peer Odense", "Peer to Peer Odense er båret af frivillige peerstøttegivere.\n")
    return folder


def add_new_document(corpus: Path) -> None:
    write_doc(corpus, "solsikken", "Kattepensionen Solsikken",
              "Kattepensionen Solsikken ligger i Gudhjem på Bornholm og passer katte i ferierne.\n")


def publish_link(index: Path, target: Path) -> None:
    """Point the index link at ``target`` in one atomic rename, as a build publishes."""
    link = index.parent / f".{index.name}.test-link-{uuid.uuid4().hex[:8]}"
    os.symlink(target, link)
    os.replace(link, index)


def broken_build(index: Path) -> Path:
    """A build folder beside the real ones whose manifest is not JSON."""
    folder = index.parent / f".{index.name}.builds" / "broken"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"format_version": 3, "build_id": ', encoding="utf-8")
    return folder


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(interval)




@dataclass
class RunningService:
    url: str
    settings: Settings
    log: Path

    def health(self) -> dict:
        response = httpx.get(f"{self.url}/healthz", timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def search(self, question: str, k: int = 3) -> dict:
        response = httpx.get(f"{self.url}/api/search", params={"q": question, "k": k}, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def publish(self) -> dict:
        """Build the corpus again and switch the index link to the new build."""
        return build_index(self.settings.corpus_dir, self.settings.index_dir, self.settings, HashingEncoder(256),
                           progress=False)

    def serves(self, version: str) -> bool:
        return self.health()["index_version"] == version


@pytest.fixture
def service(tmp_path: Path, isolated_data: Path) -> Iterator[RunningService]:
    settings = hashing_settings(isolated_data, small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    env = {**os.environ, "PEERQA_MODEL": "hashing:256", "PEERQA_RELOAD_INTERVAL": "0.2", "HF_HUB_OFFLINE": "1",
           "PEERQA_DATA_DIR": str(isolated_data), "PEERQA_SYNONYMS_FILE": str(CORPUS / "synonyms.txt")}
    log = tmp_path / "service.log"
    with running_service(settings.index_dir, env, log, START_TIMEOUT) as url:
        yield RunningService(url, settings, log)

@dataclass
class RequestLoop:
    """Asks the service over and over from a background thread, recording every answer."""

    service: RunningService
    versions: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.service.url, timeout=5) as client:
            while not self.stop.is_set():
                for path, params in (("/api/search", {"q": "Hvad er WRAP?", "k": 2}), ("/healthz", None)):
                    try:
                        response = client.get(path, params=params)
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{path}: {exc!r}")
                        continue
                    if response.status_code != 200:
                        self.failures.append(f"{path}: {response.status_code} {response.text[:300]}")
                    else:
                        self.versions.append(response.json()["index_version"])


def test_a_published_build_is_served_without_failing_a_request(service: RunningService):
    before = service.health()
    assert before["documents"] == 2
    assert all(hit["doc"]["id"] != "solsikken" for hit in service.search(NEW_QUESTION)["results"])

    loop = RequestLoop(service)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(loop.versions) >= 10, SWITCH_TIMEOUT, "the request loop did not get going")
        add_new_document(service.settings.corpus_dir)
        manifest = service.publish()
        wait_until(lambda: service.serves(manifest["build_id"]), SWITCH_TIMEOUT,
                   "the service did not switch to the new build")
        answered_after_switch = len(loop.versions)
        wait_until(lambda: len(loop.versions) >= answered_after_switch + 10, SWITCH_TIMEOUT,
                   "the request loop stalled after the switch")
    finally:
        loop.stop.set()
        thread.join(timeout=10)

    assert loop.failures == []
    # every answer came from the old build, then from the new one: a switch, never back
    assert loop.versions[0] == before["index_version"] and loop.versions[-1] == manifest["build_id"]
    switch = loop.versions.index(manifest["build_id"])
    assert set(loop.versions[:switch]) == {before["index_version"]}
    assert set(loop.versions[switch:]) == {manifest["build_id"]}

    after = service.health()
    assert (after["documents"], after["passages"]) == (3, manifest["passages"])
    result = service.search(NEW_QUESTION)
    first = result["results"][0]
    assert first["doc"]["id"] == "solsikken" and not result["abstain"]
    assert [first["text"][h["start"]:h["end"]] for h in first["highlights"]] == [
        "Kattepensionen Solsikken ligger i Gudhjem på Bornholm og passer katte i ferierne."]


def test_a_broken_build_keeps_the_old_index_serving(service: RunningService):
    before = {k: v for k, v in service.health().items() if k != "degraded"}
    publish_link(service.settings.index_dir, broken_build(service.settings.index_dir))
    # several reload intervals, each with a request that makes the service look at the link again
    for _ in range(8):
        health = service.health()
        assert {k: v for k, v in health.items() if k != "degraded"} == before
        assert service.search("Hvem bærer Peer to Peer Odense?")["results"][0]["doc"]["id"] == "odense"
        time.sleep(0.1)
    assert "damaged" in service.health()["degraded"]
    log = service.log.read_text(errors="replace")
    assert log.count("could not load index build broken") == 1 and "Traceback" not in log  # one line, once

    add_new_document(service.settings.corpus_dir)  # a good build after the broken one is picked up
    manifest = service.publish()
    wait_until(lambda: service.serves(manifest["build_id"]), SWITCH_TIMEOUT,
               "the service did not recover with the next good build")
    assert service.health()["documents"] == 3


# --- the holder in-process -----------------------------------------------------------------------

def test_searcher_holder_switches_on_a_new_link_and_keeps_the_old_on_a_broken_one(tmp_path: Path,
                                                                                  isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus(tmp_path / "corpus"))
    first = build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    loaded: list[str] = []

    def loader(path: Path) -> Searcher:
        searcher = Searcher(load_index(path), HashingEncoder(256), settings)
        loaded.append(searcher.version)
        return searcher

    holder = SearcherHolder(settings.index_dir, loader, interval=0)
    assert holder.get().version == first["build_id"]
    assert holder.get() is holder.get() and loaded == [first["build_id"]]  # no reload while the link stays

    add_new_document(settings.corpus_dir)
    second = build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    current = holder.get()
    assert current.version == second["build_id"] and current.document("solsikken") is not None

    publish_link(settings.index_dir, broken_build(settings.index_dir))
    assert holder.get() is current
    assert holder.get() is current  # tried again on every check, still the old one
    assert loaded == [first["build_id"], second["build_id"]]


def test_searcher_holder_checks_at_most_once_per_interval(tmp_path: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    loads: list[Path] = []

    def loader(path: Path) -> Searcher:
        loads.append(path)
        return Searcher(load_index(path), HashingEncoder(256), settings)

    holder = SearcherHolder(settings.index_dir, loader, interval=3600)
    old = holder.get()
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    assert holder.get() is old and len(loads) == 1  # the next check is an hour away
