"""Question intent: "Hvad er X?" asks for a definition, and definitions have a shape.

A definitional question ("Hvad er peerstøtte?", "Hvad betyder WRAP?", "What is peer support?")
favours passages with a sentence that *states* what X is ("Peerstøtte er støtte til …",
"WRAP er et peer-baseret gruppeforløb …") or that sit under a heading such as *Definition*.
"""

from __future__ import annotations

import re

from indexer.analysis import normalise, skeleton, stem, stems
from indexer.passages import Passage
from indexer.sentences import sentence_spans
from retrieval.synonyms import SynonymRule, expand

_DEFINITION_QUESTION = re.compile(
    r"^\s*(?:hvad|hvem)\s+(?:er|var|betyder|dækker)\s+(?:begrebet\s+|en\s+|et\s+)?(?P<subject>.+?)"
    r"(?:\s+for\s+(?:noget|en\s+størrelse))?\s*\??\s*$"
    r"|^\s*(?:what|who)\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?P<en_subject>.+?)\s*\??\s*$"
    r"|^\s*(?:hvad\s+står)\s+(?P<abbr>\S+)\s+for\s*\??\s*$",
    re.IGNORECASE,
)
_DEFINING_VERBS = ("er", "betyder", "defineres", "dækker", "står", "is", "are", "means")
_DEFINITION_HEADINGS = ("definition", "hvad er", "begreber", "om ")
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def _key(word: str) -> str:
    return skeleton(stem(word.replace("-", "")))


def definition_subjects(question: str, synonyms: list[SynonymRule]) -> list[tuple[str, ...]]:
    """The subject X of a definitional question (as word keys) and its synonyms; empty if none."""
    match = _DEFINITION_QUESTION.match(normalise(question))
    if match is None:
        return []
    subject = match.group("subject") or match.group("en_subject") or match.group("abbr") or ""
    words = _WORD.findall(subject)
    if not 1 <= len(words) <= 3:
        return []
    subjects = [tuple(_key(w) for w in words)]
    for _, phrase in expand(stems(subject, question=True), synonyms):
        subjects.append(tuple(skeleton(term) for term in phrase))
    return subjects


def definition_strength(passage: Passage, subjects: list[tuple[str, ...]]) -> float:
    """1 under a heading such as *Definition*; 0.5 for a sentence that opens "X er …"; else 0."""
    if any(h.casefold().startswith(_DEFINITION_HEADINGS) for h in passage.headings[-1:]):
        return 1.0
    text = passage.text
    for start, end in sentence_spans(text):
        words = _WORD.findall(normalise(text[start:min(end, start + 200)]))[:5]
        keys = [_key(w) for w in words]
        for subject in subjects:
            n = len(subject)
            if tuple(keys[:n]) != subject:
                continue
            # "X er …", or "X (gloss) er …"
            if any(len(words) > i and words[i] in _DEFINING_VERBS for i in (n, n + 1)):
                return 0.5
    return 0.0
