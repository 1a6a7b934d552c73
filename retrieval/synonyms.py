"""Query-time synonyms in Solr's format.

    # comment
    ligemandsstøtte, ligestillet støtte, peerstøtte      (equivalent: each finds the others)
    peer support => peerstøtte, peer-støtte              (one-way: left side also searches right side)

Phrases are matched on analysed stems, so inflections and spelling variants of a phrase match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.analysis import stems


class SynonymError(ValueError):
    """A synonyms file line cannot be parsed; the message gives file and line."""


@dataclass(frozen=True)
class SynonymRule:
    match: tuple[tuple[str, ...], ...]  # phrases (as stem sequences) that trigger the rule
    add: tuple[tuple[str, ...], ...]  # phrases whose stems are added to the question


def _phrases(text: str) -> list[tuple[str, ...]]:
    return [tuple(stems(p, question=True)) for p in text.split(",") if stems(p, question=True)]


def parse_synonyms(text: str, source: str = "<synonyms>") -> list[SynonymRule]:
    rules: list[SynonymRule] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            left, _, right = line.partition("=>")
            lhs, rhs = _phrases(left), _phrases(right)
            if not lhs or not rhs or "=>" in right:
                raise SynonymError(f"{source}:{number}: write 'a, b => c, d' with words on both sides")
            rules.append(SynonymRule(tuple(lhs), tuple(rhs)))
        else:
            group = _phrases(line)
            if len(group) < 2:
                raise SynonymError(f"{source}:{number}: an equivalence line needs two or more comma-separated terms")
            rules.append(SynonymRule(tuple(group), tuple(group)))
    return rules


def load_synonyms(path: Path | None) -> list[SynonymRule]:
    if path is None or not path.is_file():
        return []
    return parse_synonyms(path.read_text(encoding="utf-8"), str(path))


def _contains(sequence: list[str], phrase: tuple[str, ...], present: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether ``phrase`` occurs in ``sequence`` as consecutive words (``present``: the words of
    ``sequence``, to rule most phrases out without scanning)."""
    if present and not present.issuperset(phrase):
        return False
    n = len(phrase)
    return any(tuple(sequence[i:i + n]) == phrase for i in range(len(sequence) - n + 1))


def expand(question_stems: list[str], rules: list[SynonymRule]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """``(matched phrase, phrase to add)`` pairs for a question whose stems are ``question_stems``."""
    pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    present = set(question_stems)
    for rule in rules:
        matched = [phrase for phrase in rule.match if _contains(question_stems, phrase, present)]
        if not matched:
            continue
        for phrase in rule.add:
            if not _contains(question_stems, phrase, present) and all(phrase != added for _, added in pairs):
                pairs.append((matched[0], phrase))
    return pairs
