"""``python -m retrieval search "Hvad er peerstøtte?"``: ask the index from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from indexer.encoder import EncoderError
from indexer.settings import MAX_RESULTS, RETRIEVERS, Settings, settings_for_command
from indexer.store import IndexNotFound
from retrieval.searcher import Searcher
from retrieval.synonyms import SynonymError


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m retrieval", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="ask a question; prints the best passages, answers highlighted")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=5, help=f"how many passages (1–{MAX_RESULTS}, default 5)")
    search.add_argument("--index", type=Path, default=settings.index_dir)
    search.add_argument("--retriever", default=settings.retriever, choices=RETRIEVERS)
    search.add_argument("--json", action="store_true", help="print the result as JSON (the API's fields)")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = settings_for_command()
    args = _parser(settings).parse_args(argv)
    if not 1 <= args.k <= MAX_RESULTS:
        print(f"error: -k must be between 1 and {MAX_RESULTS}", file=sys.stderr)
        return 2
    if not args.question.strip():
        print("error: the question is empty", file=sys.stderr)
        return 2
    try:
        searcher = Searcher.open(settings, args.index)
    except (EncoderError, IndexNotFound, SynonymError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = searcher.search(args.question.strip(), args.k, retriever=args.retriever)
    if args.json:
        print(json.dumps(result.to_json(searcher.version), indent=2, ensure_ascii=False))
        return 0
    if result.abstain:
        print("(no certain answer: the closest passages follow)")
    for hit in result.hits:
        print(f"{hit.rank}. [{hit.score:.3f}] {hit.document.title} › {hit.passage.section or '—'}  ({hit.passage.id})")
        for start, end in hit.highlights:
            print(f"   » {hit.passage.text[start:end]}")
    return 0

