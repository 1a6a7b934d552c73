"""Approximate dense search against exact search on a large index's own vectors: the HNSW graph
the build made, at several search breadths, and IVF-Flat indexes built here for comparison.

    .venv/bin/python benchmarks/ann.py --index /tmp/peerqa-scale/index-1000000 \\
        --questions /tmp/peerqa-scale/questions.json --out docs/benchmarks/scale/ann.md

Run ``benchmarks/scale.py --sizes 1000000`` first (``make bench-scale-1m``): it leaves the index and
the question vectors in its work folder. Two recalls are reported for the top 10:

- *by id*: the share of the exact ten nearest passages the approximate search returns;
- *by score*: the share of the returned passages at least as near as the exact tenth (a passage
  as near as one of the exact ten is as good an answer, and corpora with near-duplicate passages
  — these are recombined sentences — have many such ties).

Times are per question, one question at a time, as the service asks.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from indexer.dense import FILE_NAME

TOP = 10
EF_SEARCH = (64, 128, 256, 512, 1024)
NPROBE = (8, 16, 32, 64, 128)


def stored_vectors(index: faiss.Index) -> np.ndarray:
    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    return storage.reconstruct_n(0, storage.ntotal)


def exact_top(vectors: np.ndarray, questions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact ten nearest rows of every question, and each question's tenth score."""
    rows, tenth = [], []
    for question in questions:
        scores = vectors @ question
        top = np.argpartition(-scores, TOP - 1)[:TOP]
        rows.append(top)
        tenth.append(scores[top].min())
    return np.array(rows), np.array(tenth)


def measure(search, vectors: np.ndarray, questions: np.ndarray, exact: np.ndarray, tenth: np.ndarray) -> dict:
    found, started = [], time.perf_counter()
    for question in questions:
        found.append(search(question.reshape(1, -1)))
    ms = 1000 * (time.perf_counter() - started) / len(questions)
    by_id = np.mean([len(set(f) & set(e)) / TOP for f, e in zip(found, exact)])
    by_score = np.mean([np.mean((vectors[f[f >= 0]] @ q) >= t - 1e-6) if (f >= 0).any() else 0.0
                        for f, q, t in zip(found, questions, tenth)])
    return {"recall_by_id": float(by_id), "recall_by_score": float(by_score), "ms": ms}


def hnsw_rows(index: faiss.Index, ef: int):
    parameters = faiss.SearchParametersHNSW(efSearch=ef)
    return lambda q: index.search(q, TOP, params=parameters)[1][0]


def ivf_index(vectors: np.ndarray, nlist: int) -> tuple[faiss.Index, float]:
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).choice(len(vectors), min(len(vectors), nlist * 40), replace=False)]
    index.train(sample)
    index.add(vectors)
    return index, time.perf_counter() - started


def ivf_rows(index: faiss.Index, nprobe: int):
    parameters = faiss.SearchParametersIVF(nprobe=nprobe)
    return lambda q: index.search(q, TOP, params=parameters)[1][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/ann.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("/tmp/peerqa-scale/index-1000000"))
    parser.add_argument("--questions", type=Path, default=Path("/tmp/peerqa-scale/questions.json"))
    parser.add_argument("--nlist", default="1024,4096", help="IVF list counts to build and compare")
    parser.add_argument("--out", type=Path, help="write the table as Markdown here")
    args = parser.parse_args(argv)
    index = faiss.read_index(str(args.index.resolve() / FILE_NAME))
    vectors = stored_vectors(index)
    questions = np.array(json.loads(args.questions.read_text(encoding="utf-8"))["vectors"], dtype=np.float32)
    exact, tenth = exact_top(vectors, questions)
    rows = []
    if isinstance(index, faiss.IndexHNSW):
        for ef in EF_SEARCH:
            rows.append((f"HNSW (the build's, M {index.hnsw.nb_neighbors(1)})", f"efSearch {ef}", "",
                         measure(hnsw_rows(index, ef), vectors, questions, exact, tenth)))
    for nlist in (int(n) for n in args.nlist.split(",")):
        ivf, seconds = ivf_index(vectors, nlist)
        for nprobe in NPROBE:
            rows.append((f"IVF-Flat, {nlist} lists", f"nprobe {nprobe}", f"{seconds:.0f}",
                         measure(ivf_rows(ivf, nprobe), vectors, questions, exact, tenth)))
        del ivf
    lines = [f"# Approximate dense search at {len(vectors):,} passages", "",
             f"`benchmarks/ann.py` on {time.strftime('%Y-%m-%d')}, {len(questions)} Danish SQuAD questions, vectors "
             "mixed from real multilingual-e5 sentence vectors (benchmarks/scale.py). Recall of the top 10 against "
             "exact search; see the script's docstring for the two kinds.", "",
             "| index | search breadth | build s | recall@10 by id | recall@10 by score | ms per question |",
             "|---|---|---:|---:|---:|---:|"]
    for name, breadth, built, result in rows:
        lines.append(f"| {name} | {breadth} | {built} | {result['recall_by_id']:.3f} | {result['recall_by_score']:.3f} "
                     f"| {result['ms']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
