"""``/metrics`` and the structured logs.

- In-process: a known set of requests (API searches GET and POST, a 422, page searches, 404s, a
  HEAD, feedback by the API and by the form), then ``/metrics`` parsed by prometheus-client's own
  text-format parser: every counter moved by exactly what was sent, per route and status.
- Multiprocess: two processes recording into one ``PROMETHEUS_MULTIPROC_DIR`` and a third
  collecting their sum; and a real ``python -m service --workers 2`` whose ``/metrics`` counts the
  searches both workers answered, and whose output is JSON lines without the questions.
- Logs: start-up, searches, an index swap and a rejected build as JSON lines, never a question.

The metrics are global to the process (other tests' apps count too), so the in-process checks
compare two scrapes.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from conftest import CORPUS, hashing_settings
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from service_process import ROOT, service_process
from test_service_reload import add_new_document, broken_build, publish_link, small_corpus, wait_until

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from retrieval.searcher import Searcher
from service import metrics
from service.logs import JsonFormatter, log_event
from web.app import create_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

QUESTIONS = ("Hvad er peerstøtte?", "Hvad er WRAP?", "Hvem er målgruppen for initiativet?")
SECRET = "hemmeligt spørgsmål om Solsikken"  # asked where no route answers: must show nowhere


def parse(text: str) -> Samples:
    """Every sample of a scrape, by name and labels (prometheus-client's own parser)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(client: TestClient) -> tuple[str, Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text, parse(response.text)


def moved(before: Samples, after: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """How much each labelled sample called ``name`` moved between two scrapes (only those that did)."""
    return {labels: value - before.get((sample, labels), 0.0)
            for (sample, labels), value in after.items()
            if sample == name and value != before.get((sample, labels), 0.0)}


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


def value(samples: Samples, name: str, **values: str) -> float | None:
    return samples.get((name, labels(**values)))


# --- counters match the requests sent -------------------------------------------------------------

def send_known_requests(client: TestClient) -> None:
    """The requests whose counts the test checks (each asserted, so a count never hides a failure)."""
    wrap, peer, target = QUESTIONS[1], QUESTIONS[0], QUESTIONS[2]
    assert client.get("/api/search", params={"q": peer, "k": 3}).status_code == 200
    assert client.get("/api/search", params={"q": wrap, "retriever": "lexical"}).status_code == 200
    found = client.post("/api/search", json={"q": target, "k": 2})
    assert found.status_code == 200
    assert client.get("/api/search", params={"k": 3}).status_code == 422  # no question: no search
    assert client.get("/", params={"q": wrap}).status_code == 200
    turn = client.get("/fragments/turn", params={"q": peer, "i": 0})
    assert turn.status_code == 200
    assert client.get("/documents/findes-ikke").status_code == 404
    assert client.get("/api/documents/findes-ikke").status_code == 404
    assert client.get("/ingen/side", params={"q": SECRET}).status_code == 404
    assert client.head("/healthz").status_code == 200
    assert client.get("/static/app.js").status_code == 200  # a mount: its template is its prefix
    passage = found.json()["results"][0]["passage_id"]
    assert client.post("/api/feedback", json={"question": target, "passage_id": passage,
                                              "helpful": True}).status_code == 201
    form = form_fields(turn.text)
    assert client.post("/feedback", data={**form, "helpful": "0"}).status_code == 200


def form_fields(fragment: str) -> dict[str, str]:
    """The hidden fields of the first card's feedback form in a turn fragment."""
    form = re.search(r'<form class="feedback".*?</form>', fragment, flags=re.DOTALL)
    assert form is not None
    return {name: html.unescape(v) for name, v in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"',
                                                             form.group(0))}


EXPECTED_REQUESTS = {
    labels(route="/api/search", method="GET", status="200"): 2,
    labels(route="/api/search", method="POST", status="200"): 1,
    labels(route="/api/search", method="GET", status="422"): 1,
    labels(route="/", method="GET", status="200"): 1,
    labels(route="/fragments/turn", method="GET", status="200"): 1,
    labels(route="/documents/{doc_id}", method="GET", status="404"): 1,
    labels(route="/api/documents/{doc_id}", method="GET", status="404"): 1,
    labels(route="other", method="GET", status="404"): 1,
    labels(route="/healthz", method="HEAD", status="200"): 1,
    labels(route="/static", method="GET", status="200"): 1,
    labels(route="/api/feedback", method="POST", status="201"): 1,
    labels(route="/feedback", method="POST", status="200"): 1,
    labels(route="/metrics", method="GET", status="200"): 1,  # the first scrape, counted once it was answered
}
STAGES = ("analysis", "encoding", "dense", "lexical", "fusion", "rerank", "highlights")


def test_the_counters_match_the_requests_sent(client: TestClient, corpus_searcher: Searcher):
    _, before = scrape(client)
    send_known_requests(client)
    text, after = scrape(client)

    assert moved(before, after, "peerqa_http_requests_total") == EXPECTED_REQUESTS
    durations = moved(before, after, "peerqa_http_request_duration_seconds_count")
    per_route = Counter[str]()
    for key, count in EXPECTED_REQUESTS.items():
        per_route[dict(key)["route"]] += count
    assert {dict(key)["route"]: count for key, count in durations.items()} == per_route

    # 5 searches: 3 by the API (one lexical, without a question embedding), 2 by the pages
    searches = moved(before, after, "peerqa_searches_total")
    by_retriever = Counter[str]()
    for key, count in searches.items():
        by_retriever[dict(key)["retriever"]] += count
    assert by_retriever == {"hybrid": 4, "lexical": 1}
    assert {dict(key)["abstained"] for key in searches} <= {"true", "false"}
    stages = {dict(key)["stage"]: count for key, count in
              moved(before, after, "peerqa_search_stage_seconds_count").items()}
    assert stages == {**{stage: 5 for stage in STAGES}, "encoding": 4}

    assert moved(before, after, "peerqa_feedback_total") == {labels(helpful="true"): 1, labels(helpful="false"): 1}
    assert value(after, "peerqa_index_info", version=corpus_searcher.version) == 1
    built = metrics.built_timestamp(corpus_searcher.health().built_at)
    assert built is not None and value(after, "peerqa_index_built_timestamp_seconds") == built
    assert 0 <= time.time() - built < 3600
    assert value(after, "peerqa_rejected_requests_total", reason="busy") is not None  # shown before any refusal

    assert not any(question in text for question in (*QUESTIONS, SECRET, "findes-ikke", "ingen/side"))


def test_metrics_are_not_in_the_api_schema_and_answer_head(client: TestClient):
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    head = client.head("/metrics")
    assert head.status_code == 200 and head.content == b""


def test_a_refused_search_is_counted_and_logged():
    before = value(parse(metrics.exposition().decode()), "peerqa_rejected_requests_total", reason="timeout") or 0
    with json_lines("service") as lines:
        metrics.search_rejected("timeout", 2, 16)
    after = value(parse(metrics.exposition().decode()), "peerqa_rejected_requests_total", reason="timeout")
    assert after == before + 1
    [line] = [json.loads(line) for line in lines()]
    assert {k: line[k] for k in ("level", "logger", "event", "reason", "in_flight", "waiting")} == {
        "level": "WARNING", "logger": "service.metrics", "event": "search_rejected", "reason": "timeout",
        "in_flight": 2, "waiting": 16}


# --- several processes ----------------------------------------------------------------------------

RECORDER = textwrap.dedent("""
    import json, os, sys
    from service import metrics
    feedback, version, built = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    for _ in range(feedback):
        metrics.record_feedback(True)
    metrics.record_rejected("busy")
    previous = sys.argv[4] if len(sys.argv) > 4 else None
    if previous:
        metrics.INDEX_INFO.labels(version=previous).set(0)
    metrics.INDEX_INFO.labels(version=version).set(1)
    metrics.INDEX_BUILT.set(built)
    print(json.dumps({"pid": os.getpid(), "multiprocess": metrics.multiprocess_enabled()}))
""")
COLLECTOR = "from service import metrics; import sys; sys.stdout.write(metrics.exposition().decode())"


def run_python(code: str, *args: str, multiproc_dir: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_recording_into_one_folder_are_summed(tmp_path: Path):
    folder = tmp_path / "prometheus"
    metrics.prepare_multiprocess_dir(folder)
    first = json.loads(run_python(RECORDER, "2", "build-1", "100", multiproc_dir=folder))
    second = json.loads(run_python(RECORDER, "3", "build-2", "200", "build-1", multiproc_dir=folder))
    assert first["multiprocess"] and second["multiprocess"]

    summed = parse(run_python(COLLECTOR, multiproc_dir=folder))
    assert value(summed, "peerqa_feedback_total", helpful="true") == 5
    assert value(summed, "peerqa_rejected_requests_total", reason="busy") == 2
    # the most recent write wins: the second process swapped build-1 out
    assert value(summed, "peerqa_index_info", version="build-1") == 0
    assert value(summed, "peerqa_index_info", version="build-2") == 1
    assert value(summed, "peerqa_index_built_timestamp_seconds") == 200

    metrics.mark_worker_dead(second["pid"], folder)  # its gauges go, its counts stay
    summed = parse(run_python(COLLECTOR, multiproc_dir=folder))
    assert value(summed, "peerqa_feedback_total", helpful="true") == 5
    assert value(summed, "peerqa_index_info", version="build-1") == 1
    assert value(summed, "peerqa_index_info", version="build-2") is None
    assert value(summed, "peerqa_index_built_timestamp_seconds") == 100

    metrics.prepare_multiprocess_dir(folder)  # emptied for the next run
    assert list(folder.glob("*.db")) == []


@contextmanager
def service_with_workers(settings: Settings, workers: int, multiproc_dir: Path, log: Path) -> Iterator[str]:
    """``python -m service --workers N`` on ``settings``' index with JSON logs; yields its URL once
    every worker has started."""
    env = {**os.environ, "PEERQA_MODEL": "hashing:256", "HF_HUB_OFFLINE": "1", "PEERQA_LOG_FORMAT": "json",
           "PEERQA_DATA_DIR": str(settings.data_dir), "PEERQA_SYNONYMS_FILE": str(CORPUS / "synonyms.txt"),
           "PEERQA_METRICS_DIR": str(multiproc_dir)}
    with service_process(settings.index_dir, env, log, 90, args=("--workers", str(workers), "--api-only")) as (
            url, process):
        def started() -> bool:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            return log.read_text(errors="replace").count('"event": "startup"') >= workers
        wait_until(started, 90, "the workers did not start", interval=0.2)
        yield url


def test_a_service_with_two_workers_counts_every_workers_searches(tmp_path: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)
    folder = tmp_path / "prometheus"
    metrics.prepare_multiprocess_dir(folder)
    log = tmp_path / "service.log"
    searches = 8
    with service_with_workers(settings, 2, folder, log) as url:
        for i in range(searches):  # a connection each, so either worker may answer
            response = httpx.get(f"{url}/api/search", params={"q": f"{QUESTIONS[i % 2]} {i}"}, timeout=10)
            assert response.status_code == 200, response.text
        scraped = httpx.get(f"{url}/metrics", timeout=10)
    assert scraped.status_code == 200
    samples = parse(scraped.text)
    assert value(samples, "peerqa_http_requests_total", route="/api/search", method="GET", status="200") == searches
    assert sum(v for (name, _), v in samples.items() if name == "peerqa_searches_total") == searches
    assert value(samples, "peerqa_search_stage_seconds_count", stage="rerank") == searches
    assert value(samples, "peerqa_index_info", version=load_build_id(settings)) == 1
    workers = {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}
    assert len(workers) == 2  # both workers wrote into the folder

    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "event"} <= set(line) for line in lines)
    startups = [line for line in lines if line["event"] == "startup"]
    assert len({line["pid"] for line in startups}) == 2 and {line["workers"] for line in startups} == {2}
    assert not any(question in log.read_text(encoding="utf-8") for question in QUESTIONS)


def load_build_id(settings: Settings) -> str:
    return json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))["build_id"]


# --- structured logs ------------------------------------------------------------------------------

@contextmanager
def json_lines(*names: str) -> Iterator[Callable[[], list[str]]]:
    """The JSON lines the named loggers write at INFO and above while the block runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        for logger, level in zip(loggers, levels):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_start_up_searches_a_swap_and_a_rejected_build_are_json_lines_without_questions(
        tmp_path: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus(tmp_path / "corpus"), reload_interval=0)
    first = build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)

    def loader(path: Path) -> Searcher:
        return Searcher.open(settings, path, encoder=HashingEncoder(256))

    question = "Hvor ligger kattepensionen Solsikken?"
    with json_lines("service", "web", "uvicorn") as lines:
        with TestClient(create_app(settings, searcher_loader=loader)) as client:
            assert client.get("/api/search", params={"q": question}).status_code == 200
            add_new_document(settings.corpus_dir)
            second = build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256),
                                 progress=False)
            assert client.get("/", params={"q": question}).status_code == 200  # this request swaps
            publish_link(settings.index_dir, broken_build(settings.index_dir))
            assert client.get("/api/search", params={"q": question}).status_code == 200  # still the second
        written = lines()

    records = [json.loads(line) for line in written]
    assert all({"ts", "level", "logger", "event"} <= set(record) for record in records)
    assert all(record["ts"].endswith("Z") for record in records)
    events = {record["event"]: record for record in records}
    assert {"startup", "index_swap", "index_build_rejected"} <= set(events)
    assert events["startup"]["index_version"] == first["build_id"] and events["startup"]["pid"] == os.getpid()
    swap = events["index_swap"]
    assert (swap["old_version"], swap["new_version"]) == (first["build_id"], second["build_id"])
    assert swap["load_seconds"] >= 0
    assert events["index_build_rejected"]["build"] == "broken"
    assert not any(question in line or "Solsikken?" in line for line in written)


def test_an_exception_is_logged_without_its_message():
    """An exception's message may quote a question: its type and stack frames are logged, not it."""
    logger = logging.getLogger("service.test_metrics")
    with json_lines("service") as lines:
        try:
            raise ValueError(f"no answer for {SECRET}")
        except ValueError:
            logger.exception("search failed")
        log_event(logger, "custom", count=3, version="v1")
    failure, custom = (json.loads(line) for line in lines())
    assert failure["event"] == "log" and failure["message"] == "search failed"
    assert failure["exception"] == "ValueError" and "raise ValueError" in failure["stack"]
    assert SECRET not in json.dumps(failure, ensure_ascii=False)
    assert {k: custom[k] for k in ("event", "count", "version", "level")} == {
        "event": "custom", "count": 3, "version": "v1", "level": "INFO"}


LOGS_SCRIPT = textwrap.dedent("""
    import logging, logging.config
    from indexer.settings import Settings
    from service.logs import log_event, logging_config
    logging.config.dictConfig(logging_config(Settings(log_format=log_format)))
    log_event(logging.getLogger("service.state"), "index_swap", old_version="v1", new_version="v2")
    log_event(logging.getLogger("web.pages"), "search_rejected", message="refused", reason="busy")
""")


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_log_configuration_uvicorn_gets(log_format: str):
    """``python -m service`` hands ``logging_config(settings)`` to uvicorn: the project's loggers
    write at INFO in the chosen format."""
    code = f"log_format = {log_format!r}\n" + LOGS_SCRIPT
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    if log_format == "json":
        swap, rejected = (json.loads(line) for line in lines)
        assert (swap["event"], swap["old_version"], swap["logger"]) == ("index_swap", "v1", "service.state")
        assert (rejected["event"], rejected["message"], rejected["reason"]) == ("search_rejected", "refused", "busy")
    else:
        assert len(lines) == 2
        assert lines[0].endswith("index_swap old_version=v1 new_version=v2") and lines[1].endswith("refused")
