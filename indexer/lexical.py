"""The lexical index: BM25 fields over Danish analysis (questions become terms in ``retrieval.query``).

Fields: ``stems`` (stemmed words of the passage), ``grams`` (character n-grams of folded words,
for compounds and misspellings), ``headings`` (stems of the document title and the headings
the passage sits under) and ``sentences`` (the passage's best sentence or pair of neighbouring
sentences, scored as BM25 units: ``indexer.sentence_field``). Field scores are scaled by their
spread over the passages and added with the weights from the settings.

Every field is stored as word counts and scored through the words' stems or n-grams
(``indexer.bm25``); the arrays load memory-mapped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np
from scipy import sparse
from tqdm import tqdm

from indexer.analysis import skeleton
from indexer.bm25 import BM25Field, TermMap, WordBags, gather, load_matrix, save_matrix
from indexer.lexical_build import AnalysedCorpus, CorpusAnalyser
from indexer.sentence_field import SentenceField

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
    def __init__(self, stems: TermMap, grams: TermMap, fields: dict[str, BM25Field], sentences: SentenceField,
                 params: LexicalParams) -> None:
        self.stems = stems
        self.grams = grams
        self.fields = fields
        self.sentences = sentences
        self.params = params
        self._stem_of_word = _stem_of_word(stems)
        self._stem_names = np.array(stems.terms, dtype=object)
        self._gram_names = np.array(grams.terms, dtype=object)
        self._grams_by_word = grams.words_terms.tocsr()
        body = fields["stems"].bags
        assert isinstance(body, WordBags)
        self._passage_words = body.by_row if body.by_row is not None else body.by_word.tocsr()
        self._variants: dict[str, list[str]] = defaultdict(list)
        for column in np.flatnonzero(fields["stems"].df > 0):
            term = stems.terms[column]
            self._variants[skeleton(term)].append(term)

    @classmethod
    def build(cls, bodies: Sequence[str], heading_texts: Sequence[str], params: LexicalParams,
              answer_texts: Sequence[str] | None = None, progress: bool = False) -> "LexicalIndex":
        """Index passage ``bodies`` under their ``heading_texts``; the sentence units come from
        ``answer_texts`` (default: the bodies; an empty text has none, e.g. a reference list)."""
        answer_texts = bodies if answer_texts is None else answer_texts
        analyser = CorpusAnalyser()
        rows = tqdm(range(len(bodies)), desc="analysing passages", unit="passage", disable=not progress,
                    mininterval=0.5)
        for row in rows:
            analyser.add(bodies[row], heading_texts[row], answer_texts[row])
        return cls.from_analysed(analyser.finish(), params)

    @classmethod
    def from_analysed(cls, corpus: AnalysedCorpus, params: LexicalParams) -> "LexicalIndex":
        stems, grams = corpus.stem_map(), corpus.gram_map(params.ngram_min, params.ngram_max)
        body, headings = WordBags(corpus.body.tocsc(), corpus.body), WordBags(corpus.headings.tocsc())
        token_counts = np.asarray(corpus.body.sum(axis=1)).ravel()
        fields = {
            "stems": BM25Field.build(body, stems, token_counts, params.k1, params.b),
            "grams": BM25Field.build(body, grams, corpus.body @ grams.term_lengths(), params.k1, params.b),
            "headings": BM25Field.build(headings, stems, np.asarray(corpus.headings.sum(axis=1)).ravel(),
                                        params.k1, params.b),
        }
        sentences = SentenceField.build(corpus.pieces, corpus.unit_pieces, corpus.unit_owners, corpus.body.shape[0],
                                        stems, grams, params.k1, params.b)
        return cls(stems, grams, fields, sentences, params)

    @property
    def size(self) -> int:
        return self.fields["stems"].size

    def spelling_variants(self, term: str) -> list[str]:
        """Stems of the index spelled like ``term`` up to æ/ae, ø/oe, å/aa (``peerstotte``)."""
        return list(self._variants.get(skeleton(term), ()))

    def has_stem(self, term: str) -> bool:
        """Whether some passage's text has the stem (heading text aside)."""
        return self.fields["stems"].has(term)

    def stem_idf(self, term: str) -> float | None:
        """The idf of a stem over the passages (None when no passage has it)."""
        return self.fields["stems"].idf_of(term)

    def max_stem_idf(self) -> float:
        return self.fields["stems"].max_idf()

    def field_scores(self, terms: QueryTerms, weights: dict[str, float]) -> dict[str, np.ndarray]:
        """The raw score of every passage in each field (the sentence units mix their stems and
        n-grams with the passage fields' weights)."""
        per_field = {name: f.scores(terms.grams if name == "grams" else terms.stems) for name, f in self.fields.items()}
        per_field["sentences"] = self.sentences.scores(terms.stems, terms.grams, weights.get("stems", 0.0),
                                                       weights.get("grams", 0.0))
        return per_field

    def scores(self, terms: QueryTerms, weights: dict[str, float], pool: int | None = None,
               also: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Combined lexical score of every passage, and the raw score of each field.

        With a ``pool`` smaller than the index, only the stems and headings fields are scored for
        every passage; the n-gram and sentence fields (most of the work, growing with the index)
        are scored for the ``pool`` best passages by those two and the rows ``also`` given (the
        dense side's), and scaled by their spread over that pool. Other passages score 0 there."""
        if pool is None or pool >= self.size:
            per_field = self.field_scores(terms, weights)
            return self._combined(per_field, weights, None), per_field
        per_field = {name: self.fields[name].scores(terms.stems) for name in ("stems", "headings")}
        partial = self._combined(per_field, weights, None)
        rows = np.argpartition(-partial, pool)[:pool]
        rows = rows[partial[rows] > 0]
        if also is not None and len(also):
            rows = np.union1d(rows, np.asarray(also, dtype=np.int64))
        rows = np.sort(rows).astype(np.int64)
        grams, sentences = np.zeros(self.size), np.zeros(self.size)
        grams[rows] = self.fields["grams"].scores_of(terms.grams, rows)
        sentences[rows] = self.sentences.scores_of(rows, terms.stems, terms.grams, weights.get("stems", 0.0),
                                                   weights.get("grams", 0.0))
        per_field |= {"grams": grams, "sentences": sentences}
        return self._combined(per_field, weights, rows), per_field

    def _combined(self, per_field: dict[str, np.ndarray], weights: dict[str, float],
                  pooled: np.ndarray | None) -> np.ndarray:
        """Σ weight × score / spread; a pooled field's spread is over the pool's ``rows``."""
        total = np.zeros(self.size, dtype=np.float64)
        for name, values in per_field.items():
            weight = weights.get(name, 0.0)
            scored = values if pooled is None or name not in ("grams", "sentences") else values[pooled]
            spread = scored.std() if scored.size else 0.0
            if weight > 0 and spread > 0:
                total += weight * values / spread
        return total

    def matched_terms(self, row: int, stem_terms: Iterable[str]) -> list[str]:
        """The question stems that occur in passage ``row``."""
        body = self.fields["stems"].bags
        assert isinstance(body, WordBags)
        out = []
        for term in stem_terms:
            column = self.stems.vocabulary.get(term)
            if column is None:
                continue
            words = self.stems.words_terms[:, [column]].indices
            if body.by_word[row, words].sum() > 0:
                out.append(term)
        return out

    def passage_words(self, rows: np.ndarray) -> sparse.csr_matrix:
        """``len(rows) × words``: the word counts of the given passages."""
        return self._passage_words[rows]

    def passage_terms(self, row: int) -> tuple[frozenset[str], frozenset[str]]:
        """The stems and the n-grams of passage ``row``'s words."""
        matrix = self._passage_words
        return self._terms_of(matrix, row, row + 1)[0]

    def piece_terms(self, row: int) -> list[tuple[frozenset[str], frozenset[str]]]:
        """The stems and n-grams of each answer piece of passage ``row``: its first answer sentence,
        the text up to the next, the next, …, the last (empty for a passage without any)."""
        return self._terms_of(self.sentences.bags.pieces_by_row, *self.sentences.pieces_of(row))

    def _terms_of(self, matrix, first: int, end: int) -> list[tuple[frozenset[str], frozenset[str]]]:
        """For rows ``first``…``end`` − 1 of a rows × words matrix, the stems and n-grams of their words
        (all rows at once: a few array operations, then one set per row)."""
        if end <= first:
            return []
        bounds = np.asarray(matrix.indptr[first:end + 1], dtype=np.int64)
        words = np.asarray(matrix.indices[bounds[0]:bounds[-1]], dtype=np.int64)
        stems = self._stem_names[self._stem_of_word[words]].tolist()
        word_cuts = (bounds - bounds[0]).tolist()
        grams, _, per_word = gather(self._grams_by_word, words, np.ones(len(words)))
        gram_cuts = np.concatenate([[0], np.cumsum(per_word)])[word_cuts].tolist()
        names = self._gram_names[grams].tolist()
        return [(frozenset(stems[a:b]), frozenset(names[c:d]))
                for a, b, c, d in zip(word_cuts, word_cuts[1:], gram_cuts, gram_cuts[1:])]

    def save(self, folder: Path) -> None:
        self.stems.save(folder, "stem_map")
        self.grams.save(folder, "gram_map")
        save_matrix(folder, "passage_words", self.fields["stems"].bags.by_word)  # the n-gram field's too
        save_matrix(folder, "passage_words_by_row", self._passage_words)  # for the pooled fields
        save_matrix(folder, "heading_words", self.fields["headings"].bags.by_word)
        for name, field in self.fields.items():
            field.save(folder, name)
        self.sentences.save(folder)
        shape = {"passages": self.size, "words": self.stems.words_terms.shape[0],
                 "pieces": self.sentences.bags.pieces.rows}
        (folder / "lexical.json").write_text(json.dumps({**self.params.to_json(), **shape}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        recorded = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
        passages, words, pieces = recorded.pop("passages"), recorded.pop("words"), recorded.pop("pieces")
        params = LexicalParams(**recorded)
        stems, grams = TermMap.load(folder, "stem_map", words), TermMap.load(folder, "gram_map", words)
        body = WordBags(load_matrix(folder, "passage_words", "csc", (passages, words)),
                        load_matrix(folder, "passage_words_by_row", "csr", (passages, words)))
        headings = WordBags(load_matrix(folder, "heading_words", "csc", (passages, words)))
        k1, b = params.k1, params.b
        fields = {"stems": BM25Field.load(folder, "stems", body, stems, k1, b),
                  "grams": BM25Field.load(folder, "grams", body, grams, k1, b),
                  "headings": BM25Field.load(folder, "headings", headings, stems, k1, b)}
        sentences = SentenceField.load(folder, passages, pieces, words, stems, grams, k1, b)
        return cls(stems, grams, fields, sentences, params)


def _stem_of_word(stems: TermMap) -> np.ndarray:
    """Each word's stem column (every word has exactly one)."""
    matrix = stems.words_terms
    out = np.zeros(matrix.shape[0], dtype=np.int64)
    out[np.asarray(matrix.indices)] = np.repeat(np.arange(matrix.shape[1]), np.diff(matrix.indptr))
    return out
