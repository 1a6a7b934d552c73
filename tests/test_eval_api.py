"""``--api URL``: the same numbers over HTTP from a running ``python -m service`` as in-process."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from service_process import free_port, running_service
from test_eval_beir import CORPUS, write_beir
from test_eval_cli import DEV_QUESTIONS

from eval.backends import ApiBackend, BackendError
from eval.cli import main
from indexer.settings import MAX_RESULTS

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ["ndcg@10", "recall@10", "mrr@10", "map@10", "success@1", "success@5"]


@contextmanager
def serving(index: Path, log: Path):
    """``python -m service`` on ``index``, with this process's environment."""
    with running_service(index, os.environ, log) as url:
        yield url


@pytest.fixture
def hashing_model(monkeypatch):
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_beir_over_the_api_equals_in_process(tmp_path, hashing_model, capsys):
    folder = write_beir(tmp_path / "mini")
    index = tmp_path / "mini-index"
    assert main(["index", str(folder), "--out", str(index), "--quiet"]) == 0
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["run", str(folder), "--index", str(index), "--retrievers", "lexical,dense,hybrid",
                 "--out", str(local), "--quiet"]) == 0
    with serving(index, tmp_path / "service.log") as url:
        assert main(["run", str(folder), "--api", url, "--retrievers", "lexical,dense,hybrid",
                     "--out", str(remote), "--quiet"]) == 0
        # a service that serves another corpus is refused with a way out
        other = write_beir(tmp_path / "other", corpus=[*CORPUS, {"_id": "ny", "title": "", "text": "Ny tekst."}])
        assert main(["run", str(other), "--api", url, "--quiet", "--out", str(tmp_path / "x")]) == 2
        assert "does not serve the corpus" in capsys.readouterr().err
    here, there = _report(local), _report(remote)
    assert there["backend"]["mode"] == "api" and there["backend"]["url"] == url
    # the API returns at most MAX_RESULTS a search: the default depth (100) is capped, and said so
    assert here["depth"] == 100 and there["depth"] == MAX_RESULTS
    assert any(f"returns at most {MAX_RESULTS} results" in note for note in there["notes"])
    # the same rankings with the same scores (the API's `score` field), whatever the transport
    for name in ("lexical", "dense", "hybrid"):
        for metric in QUALITY:
            assert there["retrievers"][name][metric] == pytest.approx(here["retrievers"][name][metric], abs=1e-12)
        assert (remote / f"{name}.trec").read_text() == (local / f"{name}.trec").read_text()


def test_span_questions_over_the_api(corpus_searcher, corpus_settings, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["run", str(DEV_QUESTIONS), "--retrievers", "lexical,hybrid", "--out", str(local), "--quiet"]) == 0
    with serving(corpus_settings.index_dir, tmp_path / "service.log") as url:
        assert main(["run", str(DEV_QUESTIONS), "--api", url, "--retrievers", "lexical,hybrid",
                     "--out", str(remote), "--quiet"]) == 0
    here, there = _report(local), _report(remote)
    assert there["judgments"].startswith("pooled")
    for name in ("lexical", "hybrid"):
        for metric in ("success@1", "success@5", "mrr@10", "unanswerable_flagged", "abstain_rate"):
            assert there["retrievers"][name][metric] == pytest.approx(here["retrievers"][name][metric], abs=1e-12)


def test_an_unreachable_service_is_a_clear_error(capsys):
    assert main(["run", str(DEV_QUESTIONS), "--api", f"http://127.0.0.1:{free_port()}", "--quiet"]) == 2
    assert "cannot reach the service" in capsys.readouterr().err


def test_the_api_backend_takes_the_scores_from_the_score_field():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["k"] == "3"
        results = [{"passage_id": f"p{i}", "score": score, "text": f"tekst {i}", "doc": {"id": f"d{i}"}}
                   for i, score in enumerate([2.5, 2.5, 0.75])]
        return httpx.Response(200, json={"results": results, "abstain": False})

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://service")
    backend = ApiBackend("http://service", ids="document", client=client)
    answer = backend.search("Hvad?", 3, "hybrid")
    assert answer.ids == ("d0", "d1", "d2") and answer.scores == (2.5, 2.5, 0.75)
    with pytest.raises(BackendError, match=f"at most {MAX_RESULTS} results"):
        backend.search("Hvad?", MAX_RESULTS + 1, "hybrid")
