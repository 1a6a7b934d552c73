"""benchmarks/scale.py end to end on a tiny stand-in for Danish SQuAD: it writes corpora of the
sizes asked for from the dataset's sentences, builds and searches each in its own process, and
writes the table, the JSON and the plot (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "scale.py"
PARAGRAPHS = [
    "Peerstøtte er støtte fra en person med egne erfaringer. Den gives ofte i grupper i kommunen. "
    "Mange steder er peers ansat på lige fod med andre medarbejdere.",
    "Super Bowl 50 blev spillet den 7. februar 2016. Kampen fandt sted i Santa Clara i Californien. "
    "Denver Broncos vandt over Carolina Panthers med 24 mod 10.",
    "Normandiet ligger i det nordlige Frankrig. Regionen er kendt for sine æbler og sin ost. "
    "Normannerne kom oprindeligt fra Skandinavien for over tusind år siden.",
]


def fake_squad(folder: Path) -> Path:
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": str(i), "title": "T", "text": text},
                                                            ensure_ascii=False) + "\n"
                                                 for i, text in enumerate(PARAGRAPHS)), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": str(i), "text": q}, ensure_ascii=False) + "\n"
                                                  for i, q in enumerate(["Hvem vandt Super Bowl 50?",
                                                                         "Hvor ligger Normandiet?",
                                                                         "Hvad er peerstøtte?"])),
                                          encoding="utf-8")
    return folder


def test_the_scale_benchmark_reports_every_size(tmp_path: Path):
    squad, out = fake_squad(tmp_path / "squad"), tmp_path / "out"
    result = subprocess.run([sys.executable, str(SCRIPT), "--sizes", "25,60", "--questions", "3",
                             "--squad", str(squad), "--work", str(tmp_path / "work"), "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((out / "scale.json").read_text(encoding="utf-8"))
    assert [row["passages"] for row in rows] == [25, 60]
    for row in rows:
        assert row["build_peak_rss_mb"] > 0 and row["index_mb"] > 0 and row["hybrid"]["p50"] > 0
    assert "| 60 |" in (out / "scale.md").read_text(encoding="utf-8")
    assert (out / "scale.png").read_bytes()[:4] == b"\x89PNG"
    documents = list((tmp_path / "work" / "corpus-60").glob("*.md"))
    assert len(documents) == 3  # 20 passages a document
    assert all(row["rebuild_one_document_seconds"] > 0 for row in rows)


def test_a_missing_dataset_is_a_clear_error(tmp_path: Path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--squad", str(tmp_path / "nowhere")],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2 and "corpus.jsonl not found" in result.stderr


def test_the_ann_comparison_reports_hnsw_and_ivf_against_exact_search(tmp_path: Path):
    import numpy as np

    from indexer.dense import DenseIndex

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    folder = tmp_path / "index"
    folder.mkdir()
    DenseIndex.build(vectors, exact_max=100, m=8, ef_construction=32).save(folder)
    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps({"questions": ["a", "b"], "vectors": (vectors[:2] + 0.01).tolist()}))
    out = tmp_path / "ann.md"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ann.py"), "--index", str(folder),
                             "--questions", str(questions), "--nlist", "16", "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    table = out.read_text(encoding="utf-8")
    assert "| HNSW (the build's, M 8) | efSearch 1024 |" in table and "| IVF-Flat, 16 lists | nprobe 16 |" in table
    assert "| IVF-Flat, 16 lists | nprobe 16 | 0 | 1.000 | 1.000 |" in table  # every list searched: exact
