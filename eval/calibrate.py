"""Choosing the abstention threshold from answerable and unanswerable questions.

``python -m eval.calibrate ../shared/eval/dev-questions.jsonl ../shared/eval/unanswerable-dev.jsonl``
prints each question's confidence and the threshold that flags the most unanswerable questions
while flagging at most ``--max-false`` of the answerable ones, placed in the middle of the gap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.questions import load_questions
from indexer.settings import settings_for_command
from retrieval.searcher import Searcher


def choose_threshold(answerable: list[float], unanswerable: list[float], max_false: float = 0.05) -> float:
    """The midpoint threshold with the best unanswerable recall under the false-flag budget."""
    candidates = sorted(set(answerable) | set(unanswerable))
    cuts = [(a + b) / 2 for a, b in zip(candidates, candidates[1:])] + [candidates[-1] + 1e-6] if candidates else [0.0]
    best, best_recall = 0.0, -1.0
    for cut in cuts:
        false_rate = sum(c < cut for c in answerable) / max(len(answerable), 1)
        recall = sum(c < cut for c in unanswerable) / max(len(unanswerable), 1)
        if false_rate <= max_false and recall > best_recall:
            best, best_recall = cut, recall
    return round(best, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__)
    parser.add_argument("answerable", type=Path)
    parser.add_argument("unanswerable", type=Path)
    parser.add_argument("--max-false", type=float, default=0.05, help="largest share of answerable flagged")
    args = parser.parse_args(argv)
    settings = settings_for_command()
    searcher = Searcher.open(settings)
    scores: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for kind, path in (("answerable", args.answerable), ("unanswerable", args.unanswerable)):
        for q in load_questions(path).questions:
            confidence = searcher.search(q.question, 1).confidence
            scores[kind].append(confidence)
            print(f"{kind:12} {confidence:.3f}  {q.id}  {q.question}")
    threshold = choose_threshold(scores["answerable"], scores["unanswerable"], args.max_false)
    flagged = sum(c < threshold for c in scores["unanswerable"]) / len(scores["unanswerable"])
    wrong = sum(c < threshold for c in scores["answerable"]) / len(scores["answerable"])
    print(f"\nthreshold {threshold} (PEERQA_ABSTAIN_THRESHOLD; current {settings.abstain_threshold}): "
          f"unanswerable flagged {flagged:.3f}, answerable flagged {wrong:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
