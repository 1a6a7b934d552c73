"""The lexical side: BM25 fields over Danish analysis, and how a question is turned into terms.

Fields: ``stems`` (stemmed words of the passage), ``grams`` (character n-grams of folded words,
for compounds and misspellings), ``headings`` (stems of the document title and the headings
the passage sits under) and ``sentences`` (the passage's best sentence or pair of neighbouring
sentences, scored as BM25 units: ``indexer.sentence_field``). Field scores are scaled by their
spread over the passages and added with the weights from the settings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.analysis import char_ngrams, grams, skeleton, stem, stems, tokenize
from indexer.bm25 import BM25Field
from indexer.sentence_field import SentenceField
from indexer.synonyms import SynonymRule, expand

FIELDS = ("stems", "grams", "headings")  # passage-level BM25 fields; "sentences" is the fourth score


@dataclass(frozen=True)
class LexicalParams:
    k1: float = 1.2
    b: float = 0.75
    ngram_min: int = 4
    ngram_max: int = 5

    def to_json(self) -> dict:
        return {"k1": self.k1, "b": self.b, "ngram_min": self.ngram_min, "ngram_max": self.ngram_max}


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

    def terms_for(self, field_name: str) -> dict[str, float]:
        return self.grams if field_name == "grams" else self.stems


def passage_field_texts(text: str, headings: Sequence[str], title: str) -> tuple[str, str]:
    """The body text and the heading text the passage is indexed under."""
    heading_text = " ".join([title, *[h for h in headings if h != title]])
    return text, heading_text


class LexicalIndex:
    def __init__(self, fields: dict[str, BM25Field], sentences: SentenceField, params: LexicalParams) -> None:
        self.fields = fields
        self.sentences = sentences
        self.params = params
        self._variants: dict[str, list[str]] = defaultdict(list)
        for term in fields["stems"].vocabulary:
            self._variants[skeleton(term)].append(term)

    @classmethod
    def build(cls, bodies: Sequence[str], heading_texts: Sequence[str], params: LexicalParams,
              answer_texts: Sequence[str] | None = None) -> "LexicalIndex":
        """Index passage ``bodies`` under their ``heading_texts``; the sentence units come from
        ``answer_texts`` (default: the bodies; an empty text has none, e.g. a reference list)."""
        token_lists = [stems(text) for text in bodies]
        gram_lists = [grams(text, params.ngram_min, params.ngram_max) for text in bodies]
        heading_lists = [stems(text) for text in heading_texts]
        fields = {
            "stems": BM25Field.build(token_lists, params.k1, params.b),
            "grams": BM25Field.build(gram_lists, params.k1, params.b),
            "headings": BM25Field.build(heading_lists, params.k1, params.b),
        }
        sentences = SentenceField.build(bodies if answer_texts is None else answer_texts,
                                        params.k1, params.b, params.ngram_min, params.ngram_max)
        return cls(fields, sentences, params)

    @property
    def size(self) -> int:
        return self.fields["stems"].size

    def analyse_question(self, question: str, synonyms: list[SynonymRule], synonym_weight: float = 0.8) -> LexicalQuery:
        query = LexicalQuery()
        vocabulary = self.fields["stems"].vocabulary
        tokens = tokenize(question, question=True)
        words = [t.word for t in tokens]
        query.question_stems = [stem(w) for w in words]

        def add(term: str, weight: float, source: Sequence[str] = ()) -> None:
            if weight > query.stems.get(term, 0.0):
                query.stems[term] = weight
            for own in source:
                if own != term:
                    query.expansions.setdefault(own, set()).add(term)

        for term in query.question_stems:
            add(term, 1.0)
            if term not in vocabulary:  # typed without æ/ø/å, or with ae/oe/aa
                for variant in self._variants.get(skeleton(term), ()):
                    add(variant, 1.0, source=[term])
        for left, right in zip(tokens, tokens[1:]):  # "peer støtte" also means "peerstøtte"
            if right.position == left.position + 1:
                joined = stem(left.word + right.word)
                if joined in vocabulary:
                    add(joined, 1.0, source=[stem(left.word), stem(right.word)])
        weighted_words = [(w, 1.0) for w in words]
        for matched, phrase in expand(query.question_stems, synonyms):
            # Synonyms stand in for question words the corpus does not use (English, rare variants);
            # a word the corpus already uses is searched as written.
            if all(t in vocabulary for t in matched):
                continue
            weight = synonym_weight
            for term in phrase:
                add(term, weight, source=matched)
            weighted_words.extend((term, weight) for term in phrase)
        for word, weight in weighted_words:
            for gram in char_ngrams(word, self.params.ngram_min, self.params.ngram_max):
                if weight > query.grams.get(gram, 0.0):
                    query.grams[gram] = weight
        return query

    def field_scores(self, query: LexicalQuery, weights: dict[str, float]) -> dict[str, np.ndarray]:
        """The raw score of every passage in each field (the sentence units mix their stems and
        n-grams with the passage fields' weights)."""
        per_field = {name: f.scores(query.terms_for(name)) for name, f in self.fields.items()}
        per_field["sentences"] = self.sentences.scores(query.stems, query.grams, weights.get("stems", 0.0),
                                                       weights.get("grams", 0.0))
        return per_field

    def scores(self, query: LexicalQuery, weights: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Combined lexical score of every passage, and the raw score of each field."""
        per_field = self.field_scores(query, weights)
        total = np.zeros(self.size, dtype=np.float64)
        for name, values in per_field.items():
            weight = weights.get(name, 0.0)
            spread = values.std()
            if weight > 0 and spread > 0:
                total += weight * values / spread
        return total, per_field

    def matched_terms(self, row: int, query: LexicalQuery) -> list[str]:
        return self.fields["stems"].matched(row, query.stems)

    def save(self, folder: Path) -> None:
        for name, f in self.fields.items():
            f.save(folder, name)
        self.sentences.save(folder)
        (folder / "lexical.json").write_text(json.dumps(self.params.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        params = LexicalParams(**json.loads((folder / "lexical.json").read_text(encoding="utf-8")))
        return cls({name: BM25Field.load(folder, name) for name in FIELDS}, SentenceField.load(folder), params)
