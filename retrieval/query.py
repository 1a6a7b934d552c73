"""A question as weighted lexical terms: its own stems, spelling variants, joined compounds,
synonyms, and the character n-grams of all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from indexer.analysis import char_ngrams, stem, tokenize
from indexer.lexical import LexicalIndex
from retrieval.synonyms import SynonymRule, expand


@dataclass
class LexicalQuery:
    """A question as weighted terms per field, plus what the caller can show about it."""

    stems: dict[str, float] = field(default_factory=dict)
    grams: dict[str, float] = field(default_factory=dict)
    question_stems: list[str] = field(default_factory=list)  # the question's own stems, in order
    #: question stem → stems that count as it (spelling variants, joined compounds, synonyms)
    expansions: dict[str, set[str]] = field(default_factory=dict)

    @property
    def added(self) -> list[str]:
        own = set(self.question_stems)
        return sorted({t for terms in self.expansions.values() for t in terms} - own)

    def add(self, term: str, weight: float, source: Sequence[str] = ()) -> None:
        """Search ``term`` with ``weight`` (the highest weight wins); it stands in for ``source``."""
        if weight > self.stems.get(term, 0.0):
            self.stems[term] = weight
        for own in source:
            if own != term:
                self.expansions.setdefault(own, set()).add(term)


def analyse_question(question: str, index: LexicalIndex, synonyms: Sequence[SynonymRule],
                     synonym_weight: float) -> LexicalQuery:
    """The terms to search for ``question`` in ``index``."""
    query = LexicalQuery()
    tokens = tokenize(question, question=True)
    words = [t.word for t in tokens]
    query.question_stems = [stem(w) for w in words]
    for term in query.question_stems:
        query.add(term, 1.0)
        if not index.has_stem(term):  # typed without æ/ø/å, or with ae/oe/aa
            for variant in index.spelling_variants(term):
                query.add(variant, 1.0, source=[term])
    for left, right in zip(tokens, tokens[1:]):  # "peer støtte" also means "peerstøtte"
        if right.position == left.position + 1:
            joined = stem(left.word + right.word)
            if index.has_stem(joined):
                query.add(joined, 1.0, source=[stem(left.word), stem(right.word)])
    weighted_words = [(w, 1.0) for w in words]
    for matched, phrase in expand(query.question_stems, list(synonyms)):
        # Synonyms stand in for question words the corpus does not use (English, rare variants);
        # a word the corpus already uses is searched as written.
        if all(index.has_stem(t) for t in matched):
            continue
        for term in phrase:
            query.add(term, synonym_weight, source=matched)
        weighted_words.extend((term, synonym_weight) for term in phrase)
    for word, weight in weighted_words:
        for gram in char_ngrams(word, index.params.ngram_min, index.params.ngram_max):
            if weight > query.grams.get(gram, 0.0):
                query.grams[gram] = weight
    return query
