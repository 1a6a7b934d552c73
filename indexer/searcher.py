"""The one retrieval core: question in, ranked and cited passages out.

The API, the web pages, the command line and the evaluation all call ``Searcher.search``.
Retrievers that can be named (for comparisons): ``lexical``, ``dense`` and ``hybrid`` (the
lexical fields and the dense side fused as configured in the settings).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.documents import Document
from indexer.encoder import Encoder, load_encoder
from indexer.evidence import best_sentences, coverage, question_words
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
        started = time.perf_counter()
        if retriever not in RETRIEVERS:
            raise UnknownRetriever(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        settings = self.settings
        lexical = self.index.lexical
        query = lexical.analyse_question(question, self.synonyms, settings.synonym_weight)
        field_weights = {"stems": settings.weight_stems, "grams": settings.weight_ngrams,
                         "headings": settings.weight_headings}
        lex_total, per_field = lexical.scores(query, field_weights)
        size = lexical.size
        n_candidates = min(max(settings.candidates, k * 4), size)

        lex_candidates = np.argsort(-lex_total, kind="stable")[:n_candidates]
        lex_candidates = lex_candidates[lex_total[lex_candidates] > 0]
        subjects = definition_subjects(question, self.synonyms)
        if subjects and settings.weight_definition > 0:  # "Hvad er X?" wants the passage defining X
            lex_total = lex_total.copy()
            bonus = settings.weight_definition * float(lex_total[lex_candidates[0]]) if len(lex_candidates) else 0.0
            for row in lex_candidates:
                lex_total[row] += bonus * definition_strength(self.index.passages[int(row)], subjects)
            lex_candidates = lex_candidates[np.argsort(-lex_total[lex_candidates], kind="stable")]
        dense_scores: np.ndarray | None = None
        dense_ids = np.zeros(0, np.int64)
        query_vector = None
        if retriever != "lexical" and self.encoder is not None:
            query_vector = self.encoder.encode_queries([question])[0]
            dense_ids, _ = self.index.dense.top(query_vector, n_candidates)

        if retriever == "lexical":
            candidates = lex_candidates
            fused = lex_total[candidates]
        elif retriever == "dense":
            candidates = dense_ids
            fused = self.index.dense.scores_for(query_vector, candidates).astype(np.float64)
        else:
            candidates = np.unique(np.concatenate([lex_candidates, dense_ids]))
            dense_scores = self.index.dense.scores_for(query_vector, candidates).astype(np.float64)
            signals = {"lexical": lex_total[candidates], "dense": dense_scores}
            weights = {"lexical": settings.weight_lexical, "dense": settings.weight_dense}
            if settings.fusion == "rrf":
                fused = fuse_rrf(signals, weights, settings.rrf_k)
            else:
                fused = fuse_zscore(signals, weights)
        order = np.argsort(-fused, kind="stable")

        words = question_words(lexical, question)
        lex_rank_of = {int(r): i + 1 for i, r in enumerate(lex_candidates)}
        dense_rank_of = {int(r): i + 1 for i, r in enumerate(dense_ids)}
        hits: list[Hit] = []
        seen: set[str] = set()
        for position in order:
            row = int(candidates[position])
            if self._dedup[row] in seen:
                continue
            seen.add(self._dedup[row])
            passage = self.index.passages[row]
            explanation = None
            if explain:
                dense_value = None
                if query_vector is not None:
                    dense_value = float(self.index.dense.scores_for(query_vector, np.array([row]))[0])
                explanation = Explanation(
                    lexical_rank=lex_rank_of.get(row),
                    lexical_score=round(float(lex_total[row]), 6),
                    field_scores={name: round(float(v[row]), 6) for name, v in per_field.items()},
                    dense_rank=dense_rank_of.get(row),
                    dense_score=None if dense_value is None else round(dense_value, 6),
                    matched_terms=lexical.matched_terms(row, query),
                    coverage=round(coverage(words, query, passage.text, lexical), 4),
                )
            hits.append(Hit(
                rank=len(hits) + 1,
                score=round(float(fused[position]), 6),
                passage=passage,
                document=self.index.documents[passage.doc_id],
                highlights=best_sentences(words, query, passage.text, lexical),
                explanation=explanation,
            ))
            if len(hits) == k:
                break

        confidence = coverage(words, query, hits[0].passage.text, lexical) if hits else 0.0
        return SearchResult(
            query=question,
            retriever=retriever,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            abstain=confidence < settings.abstain_threshold,
            confidence=round(confidence, 4),
            hits=hits,
            expanded_terms=query.added,
        )


__all__ = ["Searcher", "SearchResult", "Hit", "Explanation", "RETRIEVERS", "UnknownRetriever"]
