"""``python -m eval run DATASET``: retrieval quality on evidence-span questions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.questions import DatasetError, load_questions
from eval.span_eval import run_questions, span_metrics
from indexer.searcher import RETRIEVERS, Searcher
from indexer.settings import Settings
from indexer.store import IndexNotFound


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="evaluate retrievers on a dataset")
    run.add_argument("dataset", type=Path, help="an evidence-span question file (.jsonl)")
    run.add_argument("--retrievers", default="hybrid", help=f"comma-separated, from {','.join(RETRIEVERS)}")
    run.add_argument("--index", type=Path, default=settings.index_dir)
    run.add_argument("--unanswerable", type=Path, default=None,
                     help="questions the corpus does not answer (default: unanswerable-dev.jsonl beside DATASET)")
    run.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    args = _parser(settings).parse_args(argv)
    retrievers = [r.strip() for r in args.retrievers.split(",") if r.strip()]
    unknown = [r for r in retrievers if r not in RETRIEVERS]
    if unknown:
        print(f"error: unknown retriever(s) {', '.join(unknown)}; choose from {', '.join(RETRIEVERS)}", file=sys.stderr)
        return 2
    try:
        questions = load_questions(args.dataset)
        unanswerable_path = args.unanswerable or args.dataset.with_name("unanswerable-dev.jsonl")
        unanswerable = load_questions(unanswerable_path) if unanswerable_path.is_file() else None
        searcher = Searcher.open(settings, args.index)
    except (DatasetError, IndexNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for retriever in retrievers:
        outcomes = run_questions(searcher, questions, retriever, progress=not args.quiet)
        metrics = span_metrics(outcomes)
        misses = [o for o in outcomes if o.rank != 1]
        print(f"\n{retriever}: {len(outcomes)} questions from {args.dataset}")
        for o in misses:
            print(f"  {o.id} rank={o.rank} {o.question}")
        if unanswerable is not None:
            flagged = span_metrics(run_questions(searcher, unanswerable, retriever, progress=False))["abstain_rate"]
            print(f"Unanswerable flagged: {flagged:.3f} ({len(unanswerable.questions)} questions); "
                  f"answerable flagged: {metrics['abstain_rate']:.3f}")
        print(f"Success@1: {metrics['success@1']:.3f}  Success@5: {metrics['success@5']:.3f}  "
              f"MRR@10: {metrics['mrr@10']:.3f}")
    return 0
