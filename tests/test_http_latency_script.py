"""benchmarks/http_latency.py end to end on a tiny hashing-encoder index: it starts the service,
asks a few questions, times the encoder, prints both and exits 0 (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, write_doc

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import load_settings

SCRIPT = ROOT / "benchmarks" / "http_latency.py"
QUESTIONS = ["Hvad er peerstøtte?", "Hvem kan blive peer-medarbejder?", "Hvor lang er uddannelsen?"]


@pytest.fixture
def tiny_index(tmp_path: Path, isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")
    monkeypatch.setenv("PEERQA_SYNONYMS_FILE", str(CORPUS / "synonyms.txt"))
    monkeypatch.setenv("PEERQA_RELOAD_INTERVAL", "0")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "peer", "Om peerstøtte",
              "# Om peerstøtte\n\nPeerstøtte er støtte fra en person med egne erfaringer med psykisk sårbarhed. "
              "En peer-medarbejder bruger sine erfaringer til at give håb.\n\n## Uddannelse\n\n"
              "Uddannelsen til peer-medarbejder varer otte uger og kan tages af alle med egne erfaringer.\n")
    write_doc(corpus, "netvaerk", "Netværk",
              "# Netværk\n\nEt netværk af frivillige mødes hver uge i kommunen og taler om hverdagen.\n")
    index = tmp_path / "index"
    settings = load_settings(corpus_dir=corpus, index_dir=index)
    build_index(corpus, index, settings, HashingEncoder(256), progress=False)
    return index


def question_file(folder: Path) -> Path:
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": q}, ensure_ascii=False) + "\n"
                            for i, q in enumerate(QUESTIONS)), encoding="utf-8")
    return path


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=180, cwd=ROOT,
                          check=False)


def test_the_script_prints_the_http_and_the_encoder_latency(tiny_index: Path, tmp_path: Path):
    done = run_script("--index", str(tiny_index), "--questions", str(question_file(tmp_path)), "--rounds", "1",
                      "--warmup", "1", "--start-timeout", "120")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "hashing:256" in out
    assert "3 distinct questions × 1 round(s) = 3 uncached requests" in out
    for row in ("HTTP round trip", "in-service took_ms", "HTTP − took_ms", "encoder, 1 question"):
        assert row in out
    assert "p50 HTTP " in out and "p50 encoder " in out and "ratio " in out


def test_the_json_output_holds_both_numbers(tiny_index: Path, tmp_path: Path):
    done = run_script("--index", str(tiny_index), "--questions", str(question_file(tmp_path)), "--rounds", "2",
                      "--warmup", "0", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["model"] == "hashing:256"
    assert result["http_ms"]["n"] == result["encoder_ms"]["n"] == 6  # 3 questions × 2 rounds, each string new
    assert result["http_ms"]["p50"] > 0 and result["encoder_ms"]["p50"] > 0
    assert isinstance(result["meets_target"], bool)


def test_without_an_index_it_says_how_to_build_one_and_exits_2(tmp_path: Path):
    done = run_script("--index", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "indexer build" in done.stderr
