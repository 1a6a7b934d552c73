"""``python -m eval run DATASET``: compare retrievers on a BEIR folder or an evidence-span question file.

``python -m eval index DATASET --out DIR`` indexes a BEIR corpus once, for ``run --index DIR`` or
for a service started with ``python -m service --index DIR`` (then ``run --api URL``).
Exit status: 0 all good, 1 a ``--min`` threshold not met (or a cross-check failed), 2 an error.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from eval.backends import BackendError
from eval.beir import load_beir
from eval.beir_index import build_beir_index
from eval.compare import TESTS
from eval.harness import Evaluation, Options, cutoff, evaluate, metric_names
from eval.metrics import MetricError, parse_metric
from eval.questions import DatasetError
from eval.report import build_report, highlight_summary, now, write_outputs
from indexer.encoder import EncoderError
from indexer.settings import MAX_RESULTS, RETRIEVERS, Settings, settings_for_command
from indexer.store import IndexNotFound

EXTRA_MINIMUMS = ("unanswerable_flagged", "highlight_accuracy")
SPAN_ONLY_MINIMUMS = ("highlight_accuracy",)  # BEIR folders have no evidence spans to judge highlights by
DEFAULT_DEPTH = 100


class UsageError(ValueError):
    pass


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="evaluate retrievers on a dataset and write a report")
    run.add_argument("dataset", type=Path,
                     help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) or an evidence-span .jsonl")
    run.add_argument("--retrievers", default="hybrid", help=f"comma-separated, from {','.join(RETRIEVERS)}")
    run.add_argument("--k", type=int, default=10, help="cut-off for Recall@k and MAP@k (default 10)")
    run.add_argument("--depth", type=int, default=None,
                     help=f"results per search, written with the retrievers' scores to the TREC runs (default "
                          f"{DEFAULT_DEPTH}, at most {MAX_RESULTS} with --api; from max(k, 10) up to the "
                          f"searcher's candidates, {settings.candidates}); the metrics do not depend on it")
    run.add_argument("--out", type=Path, default=None, help="report folder (default: var/eval/<dataset name>)")
    run.add_argument("--min", dest="minimums", action="extend", nargs="+", default=[],
                     metavar="[RETRIEVER:]METRIC=VALUE",
                     help="fail (exit 1) when a metric is below VALUE, for every retriever or the one named, "
                          "e.g. --min ndcg@10=0.8 hybrid:success@1=0.7 (span files also: "
                          "hybrid:highlight_accuracy=0.9)")
    run.add_argument("--runs-dir", type=Path, default=None,
                     help="write the TREC runs and qrels.trec here instead of --out (they can be large)")
    run.add_argument("--api", metavar="URL", help="measure a running service over HTTP instead of in-process")
    run.add_argument("--index", type=Path, default=None,
                     help=f"index to search: spans default {settings.index_dir}; BEIR default a temporary build")
    run.add_argument("--unanswerable", type=Path, default=None,
                     help="questions the corpus does not answer (default: unanswerable-dev.jsonl beside DATASET)")
    run.add_argument("--split", default="test", help="BEIR qrels split: qrels/SPLIT.tsv (default test)")
    run.add_argument("--limit", type=int, default=None, help="evaluate only the first N queries (a quick look)")
    run.add_argument("--sample", type=int, default=None,
                     help="evaluate a random sample of N queries, the same for the same --seed (quick comparisons)")
    run.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    run.add_argument("--stat-test", choices=TESTS, default="student",
                     help="paired significance test: student (t-test, default) or fisher (randomisation)")
    run.add_argument("--max-p", type=float, default=0.05, help="significance level (default 0.05)")
    run.add_argument("--threads", type=int, default=1,
                     help="torch/faiss threads while searching in-process (default 1, stable on a shared "
                          "machine; 0 = the libraries' defaults); indexing always uses the defaults")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    index = commands.add_parser("index", help="index a BEIR corpus with the project's indexer")
    index.add_argument("dataset", type=Path, help="a BEIR folder")
    index.add_argument("--out", type=Path, required=True, help="index path (a link to the build)")
    index.add_argument("--quiet", action="store_true")
    return parser


def parse_minimums(specs: list[str], retrievers: list[str], k: int,
                   spans: bool = True) -> list[tuple[str | None, str, float]]:
    """``[RETRIEVER:]METRIC=VALUE`` → ``(retriever or None, metric, value)``; UsageError when invalid.

    ``spans``: the dataset is an evidence-span file (False for a BEIR folder, which has no highlight figure).
    """
    allowed = [*metric_names(k), *EXTRA_MINIMUMS]
    out = []
    for spec in specs:
        target, _, value = spec.partition("=")
        retriever, _, metric = target.rpartition(":")
        metric = metric.strip().lower()
        try:
            minimum = float(value)
        except ValueError:
            raise UsageError(f"--min {spec!r}: write METRIC=VALUE, e.g. ndcg@10=0.8") from None
        if metric not in allowed:
            try:
                parse_metric(metric)
                reason = f"is not reported at --k {k}"
            except MetricError:
                reason = "is not a metric"
            raise UsageError(f"--min {spec!r}: {metric!r} {reason}; use one of {', '.join(allowed)}")
        if metric in SPAN_ONLY_MINIMUMS and not spans:
            raise UsageError(f"--min {spec!r}: {metric} is measured on evidence-span question files only; "
                             f"a BEIR folder has no evidence spans to judge the highlights by")
        if retriever and retriever not in retrievers:
            raise UsageError(f"--min {spec!r}: retriever {retriever!r} is not in --retrievers {','.join(retrievers)}")
        out.append((retriever or None, metric, minimum))
    return out


def check_minimums(evaluation: Evaluation, minimums) -> list[dict]:
    """One check per threshold and retriever. A metric the run does not report is skipped; one it reports
    without a value (``highlight_accuracy`` when no question has a hit at rank 1) fails."""
    checks = []
    for retriever, metric, minimum in minimums:
        for name in [retriever] if retriever else list(evaluation.results):
            if metric not in evaluation.results[name]:
                continue
            value = evaluation.results[name][metric]
            checks.append({"retriever": name, "metric": metric, "value": value, "minimum": minimum,
                           "passed": value is not None and value >= minimum})
    return checks


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = settings_for_command()
    args = _parser(settings).parse_args(argv)
    try:
        if args.command == "index":
            return _index(args, settings)
        return _run(args, settings, "python -m eval " + shlex.join(argv))
    except (UsageError, DatasetError, IndexNotFound, BackendError, EncoderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _index(args: argparse.Namespace, settings: Settings) -> int:
    dataset = load_beir(args.dataset)
    manifest = build_beir_index(dataset, args.out, settings, progress=not args.quiet)
    print(f"indexed {manifest['passages']} corpus entries of {dataset.path} in {manifest['build_seconds']} s "
          f"→ {args.out}; evaluate with `python -m eval run {args.dataset} --index {args.out}`")
    return 0


def resolve_depth(requested: int | None, k: int, api: bool, candidates: int) -> tuple[int, str | None]:
    """The results per search and, when ``--api`` lowered it, a note saying so; UsageError when invalid.

    At least ``cutoff(k)`` (the metrics need that many); at most the searcher's candidates per side
    (or ``cutoff(k)`` when that is more), because asking for more than ``candidates`` widens the
    candidate lists and so could change the ranking itself; over ``--api`` at most ``MAX_RESULTS``.
    """
    floor = cutoff(k)
    ceiling = max(floor, candidates)
    if requested is None:
        depth = max(floor, min(DEFAULT_DEPTH, candidates))
    elif requested < floor:
        raise UsageError(f"--depth {requested}: the metrics need the top {floor} (max(--k, 10)), "
                         f"so --depth must be at least {floor}")
    elif requested > ceiling:
        raise UsageError(f"--depth {requested}: the searcher takes {candidates} candidates per side "
                         f"(PEERQA_CANDIDATES); a deeper search widens them and could change the ranking itself, "
                         f"so --depth must be {ceiling} or less")
    else:
        depth = requested
    if api and depth > MAX_RESULTS:
        return MAX_RESULTS, (f"--api: the service returns at most {MAX_RESULTS} results a search, so the runs are "
                             f"{MAX_RESULTS} deep, not {depth}; the metrics (cut-off {floor}) are not affected.")
    return depth, None


def _run(args: argparse.Namespace, settings: Settings, command: str) -> int:
    retrievers = list(dict.fromkeys(r.strip() for r in args.retrievers.split(",") if r.strip()))
    unknown = [r for r in retrievers if r not in RETRIEVERS]
    if unknown or not retrievers:
        raise UsageError(f"unknown retriever(s) {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(RETRIEVERS)}")
    if args.k < 1:
        raise UsageError("--k must be at least 1")
    if args.api and args.k > MAX_RESULTS:
        raise UsageError(f"--api: the service returns at most {MAX_RESULTS} results, "
                         f"so --k must be {MAX_RESULTS} or less")
    depth, depth_note = resolve_depth(args.depth, args.k, bool(args.api), settings.candidates)
    if args.threads < 0:
        raise UsageError("--threads must be 0 (library defaults) or more")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.sample is not None and args.sample < 1:
        raise UsageError("--sample must be at least 1")
    minimums = parse_minimums(args.minimums, retrievers, args.k, spans=not args.dataset.is_dir())
    dataset_name = args.dataset.resolve().name if args.dataset.is_dir() else args.dataset.stem
    out = args.out or settings.data_dir / "eval" / dataset_name
    if depth_note:
        print(f"note: {depth_note}", file=sys.stderr)
    options = Options(retrievers=retrievers, k=args.k, depth=depth, api=args.api, index=args.index,
                      unanswerable=args.unanswerable, split=args.split, limit=args.limit,
                      sample=args.sample, seed=args.seed,
                      stat_test=args.stat_test, max_p=args.max_p, threads=args.threads, progress=not args.quiet)
    started = now()
    clock = time.perf_counter()
    evaluation = evaluate(args.dataset, settings, options)
    if depth_note:
        evaluation.notes.append(depth_note)
    checks = check_minimums(evaluation, minimums)
    report = build_report(evaluation, command, started, checks, args.runs_dir)
    files = write_outputs(evaluation, out, report, args.runs_dir)
    _summary(evaluation, args.dataset, out, files, time.perf_counter() - clock)
    failed = [c for c in checks if not c["passed"]]
    for c in failed:
        value = "none (no question counted)" if c["value"] is None else f"{c['value']:.4f}"
        print(f"FAIL {c['retriever']} {c['metric']} = {value} < {c['minimum']}", file=sys.stderr)
    if not evaluation.verification.get("agree", False):
        print(f"error: a cross-check failed (the rank rule, or the TREC runs read back: "
              f"{evaluation.verification}); this is a bug in the harness", file=sys.stderr)
        return 1
    return 1 if failed else 0


def _summary(evaluation: Evaluation, dataset: Path, out: Path, files: list[Path], seconds: float) -> None:
    for note in evaluation.notes:
        print(f"note: {note}")
    others = ", ".join(str(f) if f.parent != out else f.name for f in files if f.name != "report.md")
    print(f"report: {out / 'report.md'} (also {others}); {seconds:.1f} s in all")
    k = evaluation.k
    for name, r in evaluation.results.items():
        unit = "questions" if evaluation.kind == "spans" else "queries"
        print(f"\n{name}: {r['queries']} {unit} from {dataset}  "
              f"(latency p50 {r['latency_p50_ms']:.1f} ms, p95 {r['latency_p95_ms']:.1f} ms)")
        print(f"nDCG@10: {r['ndcg@10']:.3f}  Recall@{k}: {r[f'recall@{k}']:.3f}  MAP@{k}: {r[f'map@{k}']:.3f}")
        if evaluation.kind == "spans" and "unanswerable_flagged" in r:
            print(f"Unanswerable flagged: {r['unanswerable_flagged']:.3f} ({evaluation.dataset['unanswerable']} "
                  f"questions); answerable flagged: {r['abstain_rate']:.3f}")
        line = f"Success@1: {r['success@1']:.3f}  Success@5: {r['success@5']:.3f}  MRR@10: {r['mrr@10']:.3f}"
        if evaluation.kind == "spans" and "highlight_accuracy" in r:
            line += f"  Highlight accuracy: {highlight_summary(r)}"
        print(line)
