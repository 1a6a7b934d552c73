"""A bounded probe from outside: a real ``python -m service`` on 127.0.0.1 gets bad bodies,
forged forms, oversized and malformed requests, odd methods and hosts, and damaged index builds
published under it. What must hold, as a caseworker or a developer would see it: no response with
a 5xx status except the documented 503, no forged vote stored, and every passage served is
exactly its slice of its document."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from conftest import hashing_settings
from service_process import running_service
from test_service_reload import publish_link, wait_until

from indexer.build import build_index
from indexer.encoder import HashingEncoder

TOKEN = "probe-export-token"
QUESTIONS = ["Hvad er peerstøtte?", "Hvem kan få en sjælden-navigator?", "What is WRAP?", "recovery"]


@pytest.fixture
def probed(tmp_path: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data)
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    env = {**os.environ, "PEERQA_MODEL": "hashing:256", "PEERQA_WEIGHT_DENSE": "0.25",
           "PEERQA_INDEX_DIR": str(settings.index_dir), "PEERQA_DATA_DIR": str(isolated_data),
           "PEERQA_EXPORT_TOKEN": TOKEN, "PEERQA_RELOAD_INTERVAL": "0.1", "PEERQA_MAX_BODY_BYTES": "65536"}
    with running_service(settings.index_dir, env, tmp_path / "service.log") as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client, settings


class Probe:
    """Sends requests and keeps every status, and checks every passage a search hands out."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.statuses: list[tuple[int, str]] = []
        self.passages_checked = 0
        self._bodies: dict[str, str] = {}

    def send(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        self.statuses.append((response.status_code, f"{method} {path} {str(kwargs)[:120]}"))
        if response.status_code == 200 and path.startswith("/api/search") and method != "HEAD":
            self.check_passages(response.json())
        return response

    def check_passages(self, body: dict) -> None:
        for hit in body["results"]:
            doc = hit["doc"]["id"]
            if doc not in self._bodies:
                self._bodies[doc] = self.client.get(f"/api/documents/{doc}").json()["body"]
            assert self._bodies[doc][hit["start"]:hit["end"]] == hit["text"], hit["passage_id"]
            for span in hit["highlights"]:
                assert 0 <= span["start"] < span["end"] <= len(hit["text"])
            self.passages_checked += 1

    def server_errors(self) -> list[tuple[int, str]]:
        return [(status, what) for status, what in self.statuses if status >= 500 and status != 503]


def bad_requests(probe: Probe) -> None:
    json_header = {"content-type": "application/json"}
    bodies = [
        b'{"q": "\\ud800peer"}', b'{"q": "peer\\udfff"}', b"\xff\xfe\x00q", b"[" * 1000 + b"]" * 1000,
        b'{"q": ' * 500, b"", b"null", b"[]", b'"q"', b'{"q": 5}', b'{"q": "peer", "k": "5"}',
        b'{"q": "peer", "k": 0}', b'{"q": "peer", "k": 1e9}', b'{"q": "peer", "explain": 0}',
        b'{"q": "\\u200b\\u200b"}', b'{"q": "peer", "retriever": "bm25"}', b'{"q": "peer", "pad": "x"}',
        b'{"q": "' + b"x" * 70_000 + b'"}', "{\"q\": \"støtte\"}".encode("latin-1"),
    ]
    for body in bodies:
        probe.send("POST", "/api/search", content=body, headers=json_header)
        probe.send("POST", "/api/feedback", content=body, headers=json_header)
    probe.send("POST", "/api/search", content="{\"q\": \"støtte\"}".encode("latin-1"),
               headers={"content-type": "application/json; charset=latin-1"})
    probe.send("POST", "/api/search", content=b"q=peer", headers={"content-type": "application/x-www-form-urlencoded"})
    probe.send("GET", "/api/search?q=%ED%A0%80peer")  # a lone surrogate, as UTF-8 bytes
    for params in [{"q": ""}, {"q": "peer", "k": "-1"}, {"q": "peer", "k": "abc"},
                   {"q": "peer", "retriever": "x"}, {"q": "peer", "explain": "maybe"}, {"q": "x" * 2000},
                   {"q": "peer", "_": "123"}, {"q": "\u200b"}]:
        probe.send("GET", "/api/search", params=params)
    probe.send("GET", "/?q=peer" + "&h=peer" * 200)
    probe.send("GET", "/?q=%ED%A0%80")
    for method in ("HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"):
        for path in ("/", "/api/search?q=peer", "/healthz", "/api/documents/peerstoette-tema", "/feedback",
                     "/docs", "/openapi.json"):
            probe.send(method, path)
    probe.send("GET", "/api/search?q=peer", headers={"host": "evil.example"})
    probe.send("GET", "/api/documents/..%2F..%2Fetc%2Fpasswd")
    probe.send("GET", "/api/feedback/qrels")
    probe.send("GET", "/api/feedback/qrels", headers={"authorization": "Bearer wrong"})
    for question in QUESTIONS:
        probe.send("GET", "/api/search", params={"q": question, "k": 10})


def forged_votes(probe: Probe) -> None:
    page = probe.send("GET", "/", params={"q": "Hvad er peerstøtte?"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    passage = re.search(r'name="passage_id" value="([^"]+)"', page).group(1)
    form = {"question": "Hvad er peerstøtte?", "passage_id": passage, "helpful": "1", "back": "/"}
    forged = [
        ({}, form),  # no token
        ({}, {**form, "csrf_token": "1.2.3"}),
        ({"origin": "null"}, {**form, "csrf_token": token}),
        ({"origin": "https://evil.example"}, {**form, "csrf_token": token}),
        ({"sec-fetch-site": "cross-site"}, {**form, "csrf_token": token}),
    ]
    for headers, fields in forged:
        response = probe.send("POST", "/feedback", data=fields, headers=headers)
        assert response.status_code == 403
    body = {"question": "Hvad er peerstøtte?", "passage_id": passage, "helpful": True}
    for headers in ({"origin": "https://evil.example"}, {"origin": "null"}, {"sec-fetch-site": "cross-site"}):
        assert probe.send("POST", "/api/feedback", json=body, headers=headers).status_code == 403
    assert probe.send("POST", "/api/feedback", content=json.dumps(body), headers={"content-type": "text/plain"}
                      ).status_code == 415


def damaged_builds(probe: Probe, index: Path) -> str:
    """Publish damaged copies of the served build; returns the build id that must keep serving."""
    served = probe.send("GET", "/healthz").json()["index_version"]
    build = index.resolve()
    for number, damage in enumerate(("flip", "truncate", "manifest", "text")):
        copy = build.parent / f"damaged-{number}"
        shutil.copytree(build, copy)
        passages = next(p for p in copy.iterdir() if p.name.startswith("passages"))
        if damage == "flip":
            data = bytearray((copy / "dense.faiss").read_bytes())
            data[len(data) // 2] ^= 0xFF
            (copy / "dense.faiss").write_bytes(bytes(data))
        elif damage == "truncate":
            passages.write_bytes(passages.read_bytes()[:100])
        elif damage == "manifest":
            (copy / "manifest.json").write_text("{", encoding="utf-8")
        else:
            passages.write_text(passages.read_text(encoding="utf-8").replace("peer", "PEER", 1), encoding="utf-8")
        publish_link(index, copy)
        for question in QUESTIONS:
            response = probe.send("GET", "/api/search", params={"q": question})
            assert response.json()["index_version"] == served
        # the service looks at the link again after its reload interval: the damage is then reported
        wait_until(lambda: f"damaged-{number}" in (probe.send("GET", "/healthz").json()["degraded"] or ""), 10,
                   "the service did not report the damaged build")
        health = probe.send("GET", "/healthz").json()
        assert health["index_version"] == served and f"damaged-{number}" in health["degraded"]
        response = probe.send("GET", "/api/search", params={"q": QUESTIONS[0]})
        assert response.json()["index_version"] == served
    return served


def test_a_bounded_probe_finds_no_server_error_no_forged_vote_and_no_altered_passage(probed):
    client, settings = probed
    probe = Probe(client)
    bad_requests(probe)
    forged_votes(probe)
    damaged_builds(probe, settings.index_dir)

    assert probe.server_errors() == []
    assert len(probe.statuses) >= 100 and probe.passages_checked >= 20
    stored = client.get("/api/feedback/queries", headers={"authorization": f"Bearer {TOKEN}"})
    assert stored.status_code == 200 and stored.text.strip() == "", "a forged vote was stored"
