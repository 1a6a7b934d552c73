"""Latency, passage length and memory of the retrieval core on the project's own index.

    .venv/bin/python benchmarks/search_latency.py [--questions ../shared/eval/dev-questions.jsonl] [--rounds 3]

Prints, per retriever, search latency percentiles over every question (after one warm-up pass,
with the question-vector cache off so the encoder is measured), the mean length of the returned
passages, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from eval.questions import load_questions
from indexer.settings import RETRIEVERS, load_settings
from retrieval.searcher import Searcher


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=Path("../shared/eval/dev-questions.jsonl"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    searcher = Searcher.open(load_settings(query_vector_cache=0))
    load_seconds = time.perf_counter() - started
    questions = [q.question for q in load_questions(args.questions).questions]
    print(f"index {searcher.version}: {searcher.health().passages} passages; load {load_seconds:.1f} s; "
          f"{len(questions)} questions × {args.rounds} rounds, k={args.k}")
    print(f"{'retriever':10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean chars':>11}")
    for retriever in RETRIEVERS:
        for question in questions:  # warm-up: caches of analysed passages
            searcher.search(question, args.k, retriever=retriever)
        timings, lengths = [], []
        for _ in range(args.rounds):
            for question in questions:
                t = time.perf_counter()
                result = searcher.search(question, args.k, retriever=retriever)
                timings.append((time.perf_counter() - t) * 1000)
                lengths.extend(len(hit.passage.text) for hit in result.hits)
        p50, p95, p99 = np.percentile(timings, [50, 95, 99])
        print(f"{retriever:10} {p50:8.1f} {p95:8.1f} {p99:8.1f} {statistics.mean(lengths):11.0f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
