"""The one retrieval core: question in, ranked and cited passages out.

The API, the web pages, the command line and the evaluation all call ``Searcher.search``.
Retrievers that can be named (for comparisons): ``lexical`` (the BM25 fields alone), ``dense``
(the embedding model alone) and ``hybrid`` (the default: both fused as configured in the
settings, then reranked by sentence evidence).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.documents import Document
from indexer.encoder import Encoder, load_encoder
from indexer.evidence import PassageTerms, best_sentences, coverage, discriminative_words, question_words
from indexer.fusion import fuse_rrf, fuse_zscore
from indexer.intent import definition_strength, definition_subjects
from indexer.passages import Passage
from indexer.settings import Settings
from indexer.store import IndexData, dedup_key, load_index
from indexer.synonyms import SynonymRule, load_synonyms

RETRIEVERS = ("hybrid", "lexical", "dense")


class UnknownRetriever(ValueError):
    pass


@dataclass(frozen=True)
class Explanation:
    lexical_rank: int | None
    lexical_score: float
    field_scores: dict[str, float]
    dense_rank: int | None
    dense_score: float | None
    matched_terms: list[str]
    coverage: float


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    passage: Passage
    document: Document
    highlights: list[tuple[int, int]]
    explanation: Explanation | None = None


@dataclass(frozen=True)
class SearchResult:
    query: str
    retriever: str
    took_ms: float
    abstain: bool
    confidence: float
    hits: list[Hit] = field(default_factory=list)
    expanded_terms: list[str] = field(default_factory=list)


class Searcher:
    def __init__(self, index: IndexData, encoder: Encoder | None, settings: Settings,
                 synonyms: list[SynonymRule] | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings
        self.synonyms = synonyms or []
        self._dedup = [dedup_key(p.text) for p in index.passages]
        self._row_of = {p.id: row for row, p in enumerate(index.passages)}
        self._vectors: dict[str, np.ndarray] = {}
        self._vectors_lock = threading.Lock()
        self._terms = PassageTerms(index.lexical, [p.text for p in index.passages])

    @classmethod
    def open(cls, settings: Settings, index_dir: Path | None = None, encoder: Encoder | None = None) -> "Searcher":
        """Load the index and the query encoder named in its manifest."""
        index = load_index(index_dir or settings.index_dir)
        if encoder is None:
            encoder = load_encoder(index.manifest["model"], settings.model_backend, settings.query_prefix,
                                   settings.passage_prefix, settings.embed_batch_size)
        if encoder.dimension != index.dense.dimension:
            raise ValueError(f"encoder {encoder.name} gives {encoder.dimension} dimensions, "
                             f"the index has {index.dense.dimension}: rebuild the index")
        return cls(index, encoder, settings, load_synonyms(settings.synonyms_file))

    @property
    def version(self) -> str:
        return str(self.index.manifest.get("build_id", ""))

    def search(self, question: str, k: int = 5, *, retriever: str = "hybrid", explain: bool = False) -> SearchResult:
        """The ``k`` best distinct passages for ``question``, with highlights and abstention."""
        started = time.perf_counter()
        if retriever not in RETRIEVERS:
            raise UnknownRetriever(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        settings = self.settings
        lexical = self.index.lexical
        query = lexical.analyse_question(question, self.synonyms, settings.synonym_weight)
        lex_total, per_field = lexical.scores(query, self._field_weights)
        n_candidates = min(max(settings.candidates, k * 4), lexical.size)
        lex_candidates = np.argsort(-lex_total, kind="stable")[:n_candidates]
        lex_candidates = lex_candidates[lex_total[lex_candidates] > 0]
        lex_total = self._definition_bonus(question, lex_total, lex_candidates)
        lex_candidates = lex_candidates[np.argsort(-lex_total[lex_candidates], kind="stable")]

        query_vector = None
        dense_ids = np.zeros(0, np.int64)
        if retriever != "lexical" and self.encoder is not None:
            query_vector = self._query_vector(question)
            dense_ids, _ = self.index.dense.top(query_vector, n_candidates)
        candidates, fused = self._fuse(retriever, lex_total, lex_candidates, query_vector, dense_ids)

        words = question_words(lexical, query, question)
        depth = min(len(candidates), max(settings.rerank_depth, k))
        top = np.argsort(-fused, kind="stable")[:depth]
        # ranking and highlighting weigh the words that tell the candidates apart
        ranking_words = discriminative_words(words, query, [self._terms.passage(int(candidates[p])) for p in top],
                                             settings.rerank_common_discount)
        evidence = {}  # row → (best sentence coverage, highlight spans)
        for position in top:
            row = int(candidates[position])
            evidence[row] = best_sentences(ranking_words, query, self._terms.sentences(row))
        if retriever == "hybrid" and settings.weight_sentence > 0 and len(top) > 1:
            # the passage whose one sentence answers the question wins
            spread = float(np.std(fused[top])) or 1.0
            fused = fused.copy()
            for position in top:
                fused[position] += settings.weight_sentence * spread * evidence[int(candidates[position])][0]
        order = np.concatenate([top[np.argsort(-fused[top], kind="stable")],
                                np.argsort(-fused, kind="stable")[depth:]])

        hits: list[Hit] = []
        seen: set[str] = set()
        for position in order:
            row = int(candidates[position])
            if self._dedup[row] in seen:
                continue
            seen.add(self._dedup[row])
            passage = self.index.passages[row]
            if row not in evidence:
                evidence[row] = best_sentences(ranking_words, query, self._terms.sentences(row))
            explanation = None
            if explain:
                explanation = self._explain(row, query, words, lex_total, per_field, lex_candidates,
                                            query_vector, dense_ids)
            hits.append(Hit(rank=len(hits) + 1, score=round(float(fused[position]), 6), passage=passage,
                            document=self.index.documents[passage.doc_id], highlights=evidence[row][1],
                            explanation=explanation))
            if len(hits) == k:
                break

        confidence = 0.0
        if hits:
            best_terms = self._terms.passage(self._row_of[hits[0].passage.id])
            confidence = coverage(words, query, best_terms, strict=True)
        return SearchResult(
            query=question,
            retriever=retriever,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            abstain=confidence < settings.abstain_threshold,
            confidence=round(confidence, 4),
            hits=hits,
            expanded_terms=query.added,
        )

    def _query_vector(self, question: str) -> np.ndarray:
        """The question's embedding; recent ones are kept, since the encoder dominates latency."""
        vector = self._vectors.get(question)
        if vector is None:
            vector = self.encoder.encode_queries([question])[0]
            with self._vectors_lock:  # requests run in a thread pool
                limit = self.settings.query_vector_cache
                while self._vectors and len(self._vectors) >= limit:
                    self._vectors.pop(next(iter(self._vectors)))
                if limit > 0:
                    self._vectors[question] = vector
        return vector

    @property
    def _field_weights(self) -> dict[str, float]:
        s = self.settings
        return {"stems": s.weight_stems, "grams": s.weight_ngrams,
                "headings": s.weight_headings, "sentences": s.weight_sentence_units}

    def _definition_bonus(self, question: str, lex_total: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """"Hvad er X?" wants the passage that defines X: add a share of the top score to it."""
        subjects = definition_subjects(question, self.synonyms)
        if not subjects or self.settings.weight_definition <= 0 or len(candidates) == 0:
            return lex_total
        boosted = lex_total.copy()
        bonus = self.settings.weight_definition * float(lex_total[candidates[0]])
        for row in candidates:
            boosted[row] += bonus * definition_strength(self.index.passages[int(row)], subjects)
        return boosted

    def _fuse(self, retriever: str, lex_total: np.ndarray, lex_candidates: np.ndarray,
              query_vector: np.ndarray | None, dense_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate rows and their fused scores for the named retriever."""
        if retriever == "lexical" or query_vector is None:
            return lex_candidates, lex_total[lex_candidates]
        if retriever == "dense":
            return dense_ids, self.index.dense.scores_for(query_vector, dense_ids).astype(np.float64)
        candidates = np.unique(np.concatenate([lex_candidates, dense_ids]))
        signals = {"lexical": lex_total[candidates],
                   "dense": self.index.dense.scores_for(query_vector, candidates).astype(np.float64)}
        weights = {"lexical": self.settings.weight_lexical, "dense": self.settings.weight_dense}
        if self.settings.fusion == "rrf":
            return candidates, fuse_rrf(signals, weights, self.settings.rrf_k)
        return candidates, fuse_zscore(signals, weights)

    def _explain(self, row: int, query, words, lex_total: np.ndarray, per_field: dict[str, np.ndarray],
                 lex_candidates: np.ndarray, query_vector: np.ndarray | None, dense_ids: np.ndarray) -> Explanation:
        dense_value = None
        if query_vector is not None:
            dense_value = round(float(self.index.dense.scores_for(query_vector, np.array([row]))[0]), 6)
        lex_rank = np.flatnonzero(lex_candidates == row)
        dense_rank = np.flatnonzero(dense_ids == row)
        return Explanation(
            lexical_rank=int(lex_rank[0]) + 1 if len(lex_rank) else None,
            lexical_score=round(float(lex_total[row]), 6),
            field_scores={name: round(float(v[row]), 6) for name, v in per_field.items()},
            dense_rank=int(dense_rank[0]) + 1 if len(dense_rank) else None,
            dense_score=dense_value,
            matched_terms=self.index.lexical.matched_terms(row, query),
            coverage=round(coverage(words, query, self._terms.passage(row)), 4),
        )


__all__ = ["Searcher", "SearchResult", "Hit", "Explanation", "RETRIEVERS", "UnknownRetriever"]
