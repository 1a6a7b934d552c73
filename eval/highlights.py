"""Highlight accuracy: is the sentence a caseworker is pointed at the one that holds the answer?

Every hit carries ``highlights``, character spans ``(start, end)`` of its passage text (the sentence(s)
that best answer the question). On an evidence-span question file:

- **Counted questions** (``highlight_questions``): those whose rank-1 passage answers the question under
  the hit rule of ``shared/eval/README.md`` (``eval.hit_rule.answers``), i.e. the questions that count
  for Success@1. Questions without a hit at rank 1 say nothing about highlighting and are left out.
- **Where the evidence is** in that passage, in its own characters: for every evidence span the passage
  answers, the passage and the span are normalised as the hit rule does (``normalise_with_offsets``:
  NFKC, lower case, quotes removed, whitespace folded) and

  - when the passage contains the whole span: every place it occurs;
  - otherwise (the hit rule's 60 %-of-the-evidence or 90 %-of-the-passage case, where the evidence runs
    over the passage's edge or the passage lies inside a long span): the longest common substring of the
    two, the part of the evidence that *is* in the passage;

  then mapped back to offsets of the raw passage text. Spans the passage does not answer are ignored.
- **Correct**: at least one *word* of the passage lies wholly inside both a highlighted span and the
  located evidence (a word: a maximal run of ``\\w`` characters, so letters with æ, ø, å and digits;
  adjacent or overlapping highlights are merged first). Sharing only a space or a full stop at a sentence
  boundary is not overlap. A rank-1 passage with no highlight is wrong.
- ``highlight_accuracy`` = correct / counted questions, per retriever; ``None`` when no question counts.

One shared word is deliberately lenient: the highlight is a sentence, the evidence often a sentence or
two, and pointing the reader at the sentence with the answer in it is what counts. The number of shared
words and the located evidence are kept per question (``Judgment``) for the report's list of misses.
The metric is per retriever over different questions (each retriever's own rank-1 hits), so it is not
paired across retrievers and gets no significance test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from eval.hit_rule import Span, answers, longest_common_match, normalise, normalise_with_offsets

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Judgment:
    """The highlight of one question's rank-1 passage, judged against the question's evidence."""

    correct: bool
    highlights: tuple[Span, ...]  # the passage's highlighted spans, clipped to the text and merged
    evidence: tuple[Span, ...]  # where the evidence lies in the passage (raw offsets, merged)
    shared_words: int  # words of the passage inside both
    text: str  # the passage

    def highlighted_text(self) -> list[str]:
        return [self.text[s:e] for s, e in self.highlights]

    def evidence_text(self) -> list[str]:
        return [self.text[s:e] for s, e in self.evidence]


def merge(spans: Iterable[Sequence[int]], length: int | None = None) -> list[Span]:
    """``spans`` sorted, clipped to ``[0, length]``, empty ones dropped, overlapping or touching ones joined."""
    clipped = []
    for start, end in spans:
        start, end = max(0, int(start)), int(end)
        if length is not None:
            end = min(end, length)
        if start < end:
            clipped.append((start, end))
    out: list[Span] = []
    for start, end in sorted(clipped):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def locate(passage: str, evidence: str) -> list[Span]:
    """Where ``evidence`` lies in ``passage``, as raw offsets of ``passage``; empty when the passage does
    not answer it under the hit rule.

    The whole span wherever the normalised passage contains it; otherwise the longest common substring of
    the two normalised texts (the part of a span that runs over the passage's edge, or the part of the
    passage inside a long span)."""
    if not answers(passage, evidence):
        return []
    text, offsets = normalise_with_offsets(passage)
    span = normalise(evidence)
    found = []
    at = text.find(span)
    while at >= 0:
        found.append((at, at + len(span)))
        at = text.find(span, at + 1)
    if not found:  # answers() without containment: the common substring meets one of its thresholds
        start, _, size = longest_common_match(text, span)
        found.append((start, start + size))
    return merge((offsets[a][0], offsets[b - 1][1]) for a, b in found)


def locate_all(passage: str, evidence: Sequence[str]) -> list[Span]:
    """Where any of the ``evidence`` spans the passage answers lies in it (merged raw offsets)."""
    return merge(span for one in evidence for span in locate(passage, one))


def shared_words(text: str, first: Sequence[Span], second: Sequence[Span]) -> int:
    """How many words of ``text`` lie wholly inside a span of ``first`` and a span of ``second`` (both merged)."""
    def inside(start: int, end: int, spans: Sequence[Span]) -> bool:
        return any(s <= start and end <= e for s, e in spans)

    return sum(1 for word in _WORD.finditer(text)
               if inside(word.start(), word.end(), first) and inside(word.start(), word.end(), second))


def judge(passage: str, highlights: Iterable[Sequence[int]], evidence: Sequence[str]) -> Judgment | None:
    """The highlight of a rank-1 ``passage``, or None when the passage does not answer (not counted)."""
    located = locate_all(passage, evidence)
    if not located:
        return None
    marked = merge(highlights, len(passage))
    words = shared_words(passage, marked, located)
    return Judgment(words > 0, tuple(marked), tuple(located), words, passage)


def judge_run(questions, run) -> dict[str, Judgment]:
    """``question id → Judgment`` for every question of ``questions`` (``eval.questions.Question``) whose
    rank-1 passage in ``run`` (``eval.runner.RetrieverRun``) answers it."""
    out = {}
    for q in questions:
        result = run.queries.get(q.id)
        if result is None or not result.texts:
            continue
        judgment = judge(result.texts[0], result.highlights, q.evidence)
        if judgment is not None:
            out[q.id] = judgment
    return out


def accuracy(judgments: Mapping[str, Judgment]) -> dict[str, float | int | None]:
    """``{"highlight_accuracy": correct share or None, "highlight_questions": questions counted}``."""
    n = len(judgments)
    correct = sum(j.correct for j in judgments.values())
    return {"highlight_accuracy": correct / n if n else None, "highlight_questions": n}
