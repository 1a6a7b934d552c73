"""The lexical index: BM25 fields over Danish analysis (questions become terms in ``retrieval.query``).

Fields: ``stems`` (stemmed words of the passage), ``grams`` (character n-grams of folded words,
for compounds and misspellings), ``headings`` (stems of the document title and the headings
the passage sits under) and ``sentences`` (the passage's best sentence or pair of neighbouring
sentences, scored as BM25 units: ``indexer.sentence_field``). Field scores are scaled by their
spread over the passages and added with the weights from the settings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np
from tqdm import tqdm

from indexer.analysis import grams, skeleton, stems
from indexer.bm25 import BM25Field
from indexer.sentence_field import SentenceField, SentenceUnits

FIELDS = ("stems", "grams", "headings")  # passage-level BM25 fields; "sentences" is the fourth score


class QueryTerms(Protocol):
    """Weighted query terms per kind: stems (stems, headings and sentence fields) and n-grams."""

    stems: dict[str, float]
    grams: dict[str, float]


@dataclass(frozen=True)
class LexicalParams:
    """How the lexical index is built; the values come from the settings (``Settings.lexical_params``)."""

    k1: float
    b: float
    ngram_min: int
    ngram_max: int

    def to_json(self) -> dict:
        return {"k1": self.k1, "b": self.b, "ngram_min": self.ngram_min, "ngram_max": self.ngram_max}


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
              answer_texts: Sequence[str] | None = None, progress: bool = False) -> "LexicalIndex":
        """Index passage ``bodies`` under their ``heading_texts``; the sentence units come from
        ``answer_texts`` (default: the bodies; an empty text has none, e.g. a reference list)."""
        answer_texts = bodies if answer_texts is None else answer_texts
        token_lists: list[list[str]] = []
        gram_lists: list[list[str]] = []
        heading_lists: list[list[str]] = []
        units = SentenceUnits(params.ngram_min, params.ngram_max)
        rows = tqdm(range(len(bodies)), desc="analysing passages", unit="passage", disable=not progress,
                    mininterval=0.5)
        for row in rows:
            token_lists.append(stems(bodies[row]))
            gram_lists.append(grams(bodies[row], params.ngram_min, params.ngram_max))
            heading_lists.append(stems(heading_texts[row]))
            units.add(row, answer_texts[row])
        fields = {
            "stems": BM25Field.build(token_lists, params.k1, params.b),
            "grams": BM25Field.build(gram_lists, params.k1, params.b),
            "headings": BM25Field.build(heading_lists, params.k1, params.b),
        }
        return cls(fields, units.build(len(bodies), params.k1, params.b), params)

    @property
    def size(self) -> int:
        return self.fields["stems"].size

    def spelling_variants(self, term: str) -> list[str]:
        """Stems of the index spelled like ``term`` up to æ/ae, ø/oe, å/aa (``peerstotte``)."""
        return list(self._variants.get(skeleton(term), ()))

    def has_stem(self, term: str) -> bool:
        return term in self.fields["stems"].vocabulary

    def field_scores(self, terms: QueryTerms, weights: dict[str, float]) -> dict[str, np.ndarray]:
        """The raw score of every passage in each field (the sentence units mix their stems and
        n-grams with the passage fields' weights)."""
        per_field = {name: f.scores(terms.grams if name == "grams" else terms.stems) for name, f in self.fields.items()}
        per_field["sentences"] = self.sentences.scores(terms.stems, terms.grams, weights.get("stems", 0.0),
                                                       weights.get("grams", 0.0))
        return per_field

    def scores(self, terms: QueryTerms, weights: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Combined lexical score of every passage, and the raw score of each field."""
        per_field = self.field_scores(terms, weights)
        total = np.zeros(self.size, dtype=np.float64)
        for name, values in per_field.items():
            weight = weights.get(name, 0.0)
            spread = values.std()
            if weight > 0 and spread > 0:
                total += weight * values / spread
        return total, per_field

    def matched_terms(self, row: int, stem_terms: Iterable[str]) -> list[str]:
        return self.fields["stems"].matched(row, stem_terms)

    def save(self, folder: Path) -> None:
        for name, f in self.fields.items():
            f.save(folder, name)
        self.sentences.save(folder)
        (folder / "lexical.json").write_text(json.dumps(self.params.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        params = LexicalParams(**json.loads((folder / "lexical.json").read_text(encoding="utf-8")))
        return cls({name: BM25Field.load(folder, name) for name in FIELDS}, SentenceField.load(folder), params)
