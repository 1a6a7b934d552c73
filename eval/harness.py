"""One benchmark run: a dataset, a backend, the named retrievers → metrics everyone can check.

Two kinds of dataset:
- a BEIR folder: its qrels are the judgments; in-process the corpus is indexed into a temporary
  folder with the project's indexer (``eval.beir_index``);
- an evidence-span question file: the hit rule makes the judgments (``eval.span_eval``), against
  the project's index (in-process) or a running service (``--api``).
Every metric is computed by ranx (``eval.metrics``) on the rankings exactly as the retrievers
returned them. Each search asks for ``depth`` results (``--depth``, at least max(k, 10)): the
metrics use their cut-offs, the TREC runs keep the whole depth with the retrievers' scores.
On span files the harness also judges the rank-1 passage's highlights against the evidence
(``eval.highlights``: ``highlight_accuracy`` over ``highlight_questions``); BEIR folders have no
evidence spans, so no highlight figure.
"""

from __future__ import annotations

import random
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from eval import compare, span_eval
from eval.backends import ApiBackend, Backend, BackendError, InProcessBackend, QueryVectorCache
from eval.beir import BeirDataset, load_beir
from eval.beir_index import stale_reason as beir_stale_reason
from eval.beir_index import temporary_index
from eval.highlights import Judgment, judge_run
from eval.highlights import accuracy as highlight_accuracy
from eval.metrics import first_relevant_rank, latency_summary, ranx_version, score_run
from eval.questions import DatasetError, QuestionSet, load_questions
from eval.runner import RetrieverRun, run_retriever, threads_limited
from indexer.build import stale_reason as project_stale_reason
from indexer.encoder import Encoder, encoder_for
from indexer.settings import Settings
from indexer.store import FORMAT_VERSION, IndexNotFound, dedup_key, read_manifest
from retrieval.searcher import Searcher

TOLERANCE = 1e-6


def metric_names(k: int) -> list[str]:
    return ["ndcg@10", f"recall@{k}", "mrr@10", f"map@{k}", "success@1", "success@5"]


def cutoff(k: int) -> int:
    """The deepest cut-off of any metric: ranks below it change no number of the report."""
    return max(k, 10)


@dataclass
class Options:
    retrievers: Sequence[str] = ("hybrid",)
    k: int = 10
    depth: int | None = None  # results per search (TREC run depth); None: cutoff(k). Never below cutoff(k).
    api: str | None = None
    index: Path | None = None  # spans: the project index; BEIR: a prebuilt index of the corpus (optional)
    unanswerable: Path | None = None
    split: str = "test"
    limit: int | None = None
    sample: int | None = None  # a seeded random sample of N queries (reproducible quick runs)
    seed: int = 0
    stat_test: str = "student"
    max_p: float = 0.05
    threads: int = 1  # torch / faiss threads while searching in-process; 0 = their defaults
    progress: bool = True


@dataclass
class Evaluation:
    kind: str  # "beir" | "spans"
    dataset: dict
    judgments: str
    k: int
    depth: int  # results asked for per search
    metrics: list[str]
    queries: dict[str, str]  # evaluated query id → text
    qrels: dict[str, dict[str, int]]
    runs: dict[str, RetrieverRun]
    rankings: dict[str, dict[str, tuple[str, ...]]]  # the ids the metrics were computed on, best first
    scores: dict[str, dict[str, tuple[float, ...]]]  # the retriever's score of each of those ids
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    per_query: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    reference: str = ""
    significance: dict = field(default_factory=dict)
    verification: dict = field(default_factory=dict)
    backend: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    questions: dict[str, str] = field(default_factory=dict)  # expected answer shown for misses (spans)
    highlights: dict[str, dict[str, Judgment]] = field(default_factory=dict)  # spans: retriever →
    # question id → the judged highlight of its rank-1 passage, for the questions with a hit at rank 1

    def first_rank(self, retriever: str, qid: str) -> int | None:
        """Rank of the first relevant result within the metrics' deepest cut-off, max(k, 10)."""
        return first_relevant_rank(self.rankings[retriever].get(qid, ()), self.qrels.get(qid, {}), cutoff(self.k))


def evaluate(dataset_path: Path, settings: Settings, options: Options) -> Evaluation:
    started = time.perf_counter()
    if dataset_path.is_dir():
        evaluation = _evaluate_beir(load_beir(dataset_path, options.split), settings, options)
    elif dataset_path.is_file():
        evaluation = _evaluate_spans(dataset_path, settings, options)
    else:
        raise DatasetError(f"{dataset_path}: not found; pass a BEIR folder or an evidence-span question file")
    evaluation.backend["threads"] = "service's own" if options.api else (options.threads or "library defaults")
    _score(evaluation, options)
    evaluation.timing["total_seconds"] = round(time.perf_counter() - started, 2)
    return evaluation


def _open_searcher(settings: Settings, index_dir: Path,
                   encoder: Encoder | None = None) -> tuple[Searcher, QueryVectorCache]:
    """The searcher on ``index_dir`` with the encoder its manifest names (``encoder`` if that is it)."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexNotFound(f"no index at {index_dir}: build one with `python -m indexer build --out {index_dir}`")
    if manifest.get("format_version") != FORMAT_VERSION:  # fail before loading the model
        raise IndexNotFound(f"index at {index_dir} has format {manifest.get('format_version')}, this code reads "
                            f"{FORMAT_VERSION}: rebuild with `python -m indexer build --out {index_dir}`")
    if encoder is None or encoder.name != manifest["model"]:
        encoder = encoder_for(settings, model=manifest["model"])
    cache = QueryVectorCache(encoder)
    return Searcher.open(settings, index_dir, encoder=cache), cache


API_CACHE_NOTE = ("Over --api the latency is the HTTP round trip. The service keeps recent question vectors, so a "
                  "retriever run after another one that encodes questions finds them ready and its latency "
                  "leaves out the encoding; run one retriever at a time to measure each from cold.")


def _run_all(backend: Backend, queries: list[tuple[str, str]], options: Options, depth: int,
             label: str, timed: bool = True) -> dict[str, RetrieverRun]:
    """Every retriever over ``queries``, one search at a time, torch/faiss on ``options.threads``."""
    with threads_limited(0 if options.api else options.threads):
        return {name: run_retriever(backend, queries, name, depth, options.progress and timed, label,
                                    warm_up=timed)
                for name in options.retrievers}


def _limit(items: list, options: Options) -> list:
    """The queries to evaluate: all, the first ``limit``, or a seeded random ``sample`` of them."""
    if options.sample and options.sample < len(items):
        items = random.Random(options.seed).sample(items, options.sample)
    return items[:options.limit] if options.limit else items


def _subset_note(selected: int, total: int, options: Options) -> str | None:
    if options.sample and options.sample < total:
        return (f"--sample {options.sample} --seed {options.seed}: a random sample of {selected} of the {total} "
                f"judged queries is evaluated.")
    if options.limit and options.limit < total:
        return f"--limit {options.limit}: only the first {selected} of {total} judged queries are evaluated."
    return None


def _evaluate_beir(dataset: BeirDataset, settings: Settings, options: Options) -> Evaluation:
    judged = [qid for qid in dataset.queries if qid in dataset.qrels]  # in the order of queries.jsonl
    qrels = {qid: dataset.qrels[qid] for qid in _limit(judged, options)}
    queries = {qid: dataset.queries[qid] for qid in qrels}
    info = {"path": str(dataset.path), "name": dataset.name, "kind": "BEIR folder", "split": dataset.split,
            "corpus": len(dataset.corpus), "queries": len(queries), "unjudged_queries": len(dataset.unjudged)}
    notes = [API_CACHE_NOTE] if options.api and len(options.retrievers) > 1 else []
    if dataset.unjudged:
        notes.append(f"{len(dataset.unjudged)} queries in qrels/{dataset.split}.tsv have no judgment ≥ 1 "
                     f"and are not scored (as in BEIR).")
    subset = _subset_note(len(queries), len(dataset.qrels), options)
    if subset:
        notes.append(subset)
    duplicates = len(dataset.corpus) - len({dedup_key(e.text) for e in dataset.corpus})
    if duplicates:
        notes.append(f"{duplicates} corpus entries have the same words as another; the core returns one "
                     f"passage per text, so a relevant twin of a returned entry can never be retrieved.")
    depth = _depth(options)
    timing: dict = {}
    with ExitStack() as stack:
        if options.api:
            backend: Backend = ApiBackend(options.api, ids="document")
            stack.callback(backend.close)
            _check_service_serves(backend, dataset)
        else:
            encoder = None
            if options.index is not None:
                reason = beir_stale_reason(dataset, options.index, settings)
                if reason is not None:
                    raise IndexNotFound(f"--index {options.index} cannot be used: {reason}. Build it with "
                                        f"`python -m eval index {dataset.path} --out {options.index}`")
                index_dir = options.index
            else:
                started = time.perf_counter()
                encoder = encoder_for(settings, building=True)
                index_dir, settings, _ = stack.enter_context(
                    temporary_index(dataset, settings, encoder, options.progress))
                timing["index_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            searcher, cache = _open_searcher(settings, index_dir, encoder)
            timing["load_seconds"] = round(time.perf_counter() - started, 2)
            backend = InProcessBackend(searcher, ids="document", cache=cache)
        backend_info = backend.describe()
        runs = _run_all(backend, list(queries.items()), options, depth, "queries")
    rankings = {name: run.rankings() for name, run in runs.items()}
    scores = {name: run.scores() for name, run in runs.items()}
    return Evaluation("beir", info, "the dataset's qrels", options.k, depth, metric_names(options.k), queries,
                      qrels, runs, rankings, scores, backend=backend_info, timing=timing, notes=notes)


def _depth(options: Options) -> int:
    depth = options.depth or cutoff(options.k)
    if depth < cutoff(options.k):
        raise ValueError(f"depth {depth} is below the deepest cut-off, {cutoff(options.k)}")
    return depth


def _check_service_serves(backend: ApiBackend, dataset: BeirDataset) -> None:
    health = backend.health()
    sample = [dataset.corpus[0].id, dataset.corpus[-1].id]
    if health.get("documents") != len(dataset.corpus) or not all(backend.has_document(d) for d in sample):
        raise BackendError(
            f"the service at {backend.url} does not serve the corpus of {dataset.path} "
            f"({health.get('documents')} documents, the corpus has {len(dataset.corpus)}): build an index of it "
            f"with `python -m eval index {dataset.path} --out DIR`, start `python -m service --index DIR`, "
            f"or leave out --api to evaluate in-process")


def _evaluate_spans(path: Path, settings: Settings, options: Options) -> Evaluation:
    questions = load_questions(path)
    answerable = [q for q in questions.questions if q.evidence]
    skipped = len(questions.questions) - len(answerable)
    total = len(answerable)
    answerable = _limit(answerable, options)
    if not answerable:
        raise DatasetError(f"{path}: no question has evidence spans to judge passages by")
    unanswerable_path = options.unanswerable or path.with_name("unanswerable-dev.jsonl")
    unanswerable: QuestionSet | None = None
    if unanswerable_path.is_file() and unanswerable_path.resolve() != path.resolve():
        unanswerable = load_questions(unanswerable_path)
    info = {"path": str(path), "name": path.stem, "kind": "evidence-span questions", "queries": len(answerable),
            "unanswerable_file": str(unanswerable_path) if unanswerable else None,
            "unanswerable": len(unanswerable.questions) if unanswerable else 0}
    notes = [API_CACHE_NOTE] if options.api and len(options.retrievers) > 1 else []
    if skipped:
        notes.append(f"{skipped} questions without evidence spans are not scored.")
    subset = _subset_note(len(answerable), total, options)
    if subset:
        notes.append(subset)
    timing: dict = {}
    with ExitStack() as stack:
        if options.api:
            backend: Backend = ApiBackend(options.api, ids="passage")
            stack.callback(backend.close)
        else:
            started = time.perf_counter()
            index_dir = options.index or settings.index_dir
            searcher, _cache = _open_searcher(settings, index_dir)
            timing["load_seconds"] = round(time.perf_counter() - started, 2)
            backend = InProcessBackend(searcher, ids="passage", cache=_cache)
            stale = _project_index_stale(settings, index_dir)
            if stale:
                notes.append(f"the index at {index_dir} is out of date ({stale}): rebuild it with "
                             f"`python -m indexer build` to measure the current corpus and settings.")
        backend_info = backend.describe()
        queries = [(q.id, q.question) for q in answerable]
        depth = _depth(options)
        runs = _run_all(backend, queries, options, depth, "questions")
        flagged = {}
        if unanswerable is not None:  # only the abstain flag is used, and it does not depend on the depth
            items = [(q.id, q.question) for q in unanswerable.questions]
            extra = _run_all(backend, items, options, cutoff(options.k), "unanswerable", timed=False)
            flagged = {name: span_eval.abstain_rate(run) for name, run in extra.items()}
    if options.api:
        judgments = (f"pooled: the hit rule applied to every passage a retriever in this run returned "
                     f"in its top {cutoff(options.k)}")
        qrels, canonical = span_eval.judge_pooled(answerable, list(runs.values()), cutoff(options.k))
    else:
        judgments = "exhaustive: the hit rule applied to every passage of the index"
        qrels, canonical = span_eval.judge_exhaustive(answerable, [(p.id, p.text) for p in searcher.passages()])
    unmatched = [qid for qid, docs in qrels.items() if not docs]
    if unmatched and not options.api:
        notes.append(f"{len(unmatched)} questions have no passage in the index that answers their evidence "
                     f"({', '.join(unmatched[:10])}); they score 0.")
    rankings = {name: span_eval.canonical_rankings(run, canonical) for name, run in runs.items()}
    scores = {name: run.scores() for name, run in runs.items()}
    evaluation = Evaluation("spans", info, judgments, options.k, depth, metric_names(options.k),
                            dict(queries), qrels, runs, rankings, scores, backend=backend_info, timing=timing,
                            notes=notes, questions={q.id: " | ".join(q.evidence) for q in answerable})
    for name, run in runs.items():
        evaluation.highlights[name] = judge_run(answerable, run)
        evaluation.results[name] = {**highlight_accuracy(evaluation.highlights[name]),
                                    "abstain_rate": span_eval.abstain_rate(run)}
        if name in flagged:
            evaluation.results[name]["unanswerable_flagged"] = flagged[name]
    _check_rank_rule(evaluation, answerable)
    return evaluation


def _project_index_stale(settings: Settings, index_dir: Path) -> str | None:
    try:
        manifest = read_manifest(index_dir) or {}
        as_built = settings.model_copy(update={"model": manifest.get("model")})  # the searcher uses the index's model
        return project_stale_reason(settings.corpus_dir, index_dir, as_built)
    except Exception:  # a missing corpus folder: nothing to compare with
        return None


def _check_rank_rule(evaluation: Evaluation, answerable) -> None:
    """Success@1/5 and MRR@10 from the judgments must equal the README's rank rule on the texts."""
    worst = 0.0
    for name, run in evaluation.runs.items():
        by_rank = span_eval.rank_metrics(answerable, run)
        means = score_run(list(by_rank), evaluation.rankings[name], evaluation.qrels, evaluation.scores[name]).means
        worst = max(worst, *(abs(means[metric] - value) for metric, value in by_rank.items()))
    evaluation.verification["rank_rule_max_difference"] = worst


def _score(evaluation: Evaluation, options: Options) -> None:
    names = evaluation.metrics
    for name, run in evaluation.runs.items():
        scored = score_run(names, evaluation.rankings[name], evaluation.qrels, evaluation.scores[name])
        evaluation.per_query[name] = scored.per_query
        evaluation.results[name] = {**scored.means, **latency_summary(run.latencies()),
                                    **evaluation.results.get(name, {}), "queries": len(run.queries),
                                    "query_seconds": round(run.seconds, 2)}
    evaluation.verification.update({
        "ranx_version": ranx_version(), "tolerance": TOLERANCE,
        "agree": evaluation.verification.get("rank_rule_max_difference", 0.0) <= TOLERANCE,
    })
    primary = names[0]
    evaluation.reference = max(evaluation.runs, key=lambda n: (evaluation.results[n][primary],
                                                               -list(evaluation.runs).index(n)))
    evaluation.significance = {
        "test": options.stat_test, "max_p": options.max_p, "reference": evaluation.reference,
        "reference_metric": primary,
        "comparisons": compare.significance(evaluation.per_query, names, evaluation.reference,
                                            options.stat_test, options.max_p),
    }
