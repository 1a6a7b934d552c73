"""Running each named retriever over a list of queries, timing every search."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from tqdm import tqdm

from eval.backends import Answer, Backend


@dataclass(frozen=True)
class QueryRun:
    """One retriever's answer to one query."""

    ids: tuple[str, ...]  # best first
    scores: tuple[float, ...]  # the retriever's score of each id
    texts: tuple[str, ...]
    abstain: bool
    latency_ms: float  # wall time of the search as the harness measured it (see QueryVectorCache)
    highlights: tuple[tuple[int, int], ...] = ()  # the top hit's highlighted spans of texts[0]


@dataclass
class RetrieverRun:
    name: str
    queries: dict[str, QueryRun] = field(default_factory=dict)
    seconds: float = 0.0

    def rankings(self) -> dict[str, tuple[str, ...]]:
        return {qid: run.ids for qid, run in self.queries.items()}

    def scores(self) -> dict[str, tuple[float, ...]]:
        return {qid: run.scores for qid, run in self.queries.items()}

    def latencies(self) -> list[float]:
        return [run.latency_ms for run in self.queries.values()]


@contextmanager
def threads_limited(threads: int) -> Iterator[None]:
    """Run torch and faiss on ``threads`` threads (0: leave their defaults), restored on exit.

    On a shared 2-core machine two intra-op threads wait on each other whenever another process
    holds a core: one question then takes 200–500 ms to encode instead of about 20 ms. One thread
    per search keeps latency stable and comparable between runs. (Batches, as in an index build,
    gain from two threads: 2.1 s against 3.6 s per 32 paragraphs on an idle machine.)
    """
    if threads <= 0:
        yield
        return
    import faiss
    import torch

    before = (torch.get_num_threads(), faiss.omp_get_max_threads())
    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)  # (OMP_NUM_THREADS is read once at start-up: setting it here would do nothing)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        faiss.omp_set_num_threads(before[1])


def run_retriever(backend: Backend, queries: Sequence[tuple[str, str]], retriever: str, depth: int,
                  progress: bool = True, label: str = "", warm_up: bool = True) -> RetrieverRun:
    """Search every ``(id, text)`` query with ``retriever``, ``depth`` results each.

    One untimed search first, so one-off costs (lazy loading, first calls into the model) do
    not land on whichever query happens to come first.
    """
    run = RetrieverRun(retriever)
    if warm_up:
        backend.warm_up(retriever, depth)
    started = time.perf_counter()
    desc = f"{label or 'queries'} ({retriever})"
    for qid, text in tqdm(queries, desc=desc, disable=not progress, unit="q", mininterval=1.0):
        answer: Answer = backend.search(text, depth, retriever)
        run.queries[qid] = QueryRun(answer.ids, answer.scores, answer.texts, answer.abstain, answer.latency_ms,
                                   answer.highlights)
    run.seconds = time.perf_counter() - started
    return run
