"""benchmarks/load.py end to end in a tiny configuration on a hashing-encoder index: it starts the
service, runs two short concurrency levels and writes the JSON, the Markdown and the plot (no
timing is asserted)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, hashing_settings, write_doc

from indexer.build import build_index
from indexer.encoder import HashingEncoder

SCRIPT = ROOT / "benchmarks" / "load.py"


@pytest.fixture
def tiny_index(tmp_path: Path, isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two documents indexed with the hashing encoder; the service started by the script inherits
    the model and the data folder through the environment."""
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")
    monkeypatch.setenv("PEERQA_RELOAD_INTERVAL", "0")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "peer", "Om peerstøtte",
              "# Om peerstøtte\n\nPeerstøtte er støtte fra en person med egne erfaringer med psykisk sårbarhed. "
              "En peer-medarbejder bruger sine erfaringer til at give håb.\n")
    write_doc(corpus, "netvaerk", "Netværk",
              "# Netværk\n\nEt netværk af frivillige mødes hver uge i kommunen og taler om hverdagen.\n")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    return settings.index_dir


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)


def test_a_tiny_run_writes_the_report_json_and_plot(tiny_index: Path, tmp_path: Path):
    out = tmp_path / "out"
    done = run_script("--index", str(tiny_index), "--concurrency", "1,4", "--duration", "1", "--workers", "1",
                      "--warmup", "0.3", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "load.json").read_text(encoding="utf-8"))
    (run,) = result["runs"]
    assert run["workers"] == 1 and run["label"] == "default" and run["model"] == "hashing:256"
    assert run["search_slots"] >= 1 and run["queue_size"] >= 0
    assert [level["concurrency"] for level in run["levels"]] == [1, 4]
    for level in run["levels"]:
        assert level["ok"] > 0 and level["throughput"] > 0
        assert level["latency_ms"]["p50"] > 0 and level["latency_ms"]["p99"] >= level["latency_ms"]["p50"]
        for name in ("refused", "refused_share", "refused_ms", "errors", "service_cores", "client_cpu_ms_per_request",
                     "tail_ratio", "took_ms_p50"):
            assert name in level
        assert level["errors"] == {}
    targets = result["targets"]
    assert targets["speedup_2_over_1"] is None  # one worker count only
    assert result["meta"]["questions"] > 0 and result["meta"]["honour_retry_after"] is True
    report = (out / "load.md").read_text(encoding="utf-8")
    assert report.startswith("# Load:") and "| default | 1 | 4 |" in report
    assert "## Targets" in report and "(load.png)" in report
    assert (out / "load.png").read_bytes()[:4] == b"\x89PNG"

    notes = tmp_path / "notes.md"
    notes.write_text("Alle tal er små.\n", encoding="utf-8")
    rendered = run_script("--render", "--out", str(out), "--notes", str(notes))
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    report = (out / "load.md").read_text(encoding="utf-8")
    assert "## Observations\n\nAlle tal er små." in report and "| default | 1 | 4 |" in report


def test_without_an_index_it_says_how_to_build_one_and_exits_2(tmp_path: Path):
    done = run_script("--index", str(tmp_path / "missing"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "indexer build" in done.stderr
    assert not (tmp_path / "out").exists()


def test_every_question_sent_is_new_and_the_sequence_is_seeded(monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("load_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "load_benchmark", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    questions = ["Hvad er peerstøtte?", "Hvem kan blive peer-medarbejder?"]
    first = list(itertools.islice(module.unique_questions(questions, 3), 500))
    assert len(set(first)) == 500
    assert first == list(itertools.islice(module.unique_questions(questions, 3), 500))
    assert all(q.rsplit(" ", 2)[0] in questions for q in first)
