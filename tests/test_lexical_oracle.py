"""The whole lexical score of every passage recomputed by brute force, in plain Python.

The oracle shares only the analysis (tokenizer, stemmer, n-grams) and the sentence splitter
with ``indexer``; BM25, the idf, the spread scaling of the fields and the best-sentence-unit
maximum are written out again here from their definitions:

    bm25(q, d) = Σ_t qw(t) · idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len(d)/avglen))
    idf(t)     = ln(1 + (N − df + 0.5)/(df + 0.5))
    lexical(d) = Σ_field w_field · raw_field(d) / std_field          (std over passages)
    raw_sentences(d) = max over d's units u of  w_stems · bm25_stems(u) / std_stems
                                              + w_grams · bm25_grams(u) / std_grams   (std over units)

with units = each answer sentence and each pair of neighbouring answer sentences.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pytest

from indexer.analysis import grams, stems
from indexer.lexical import LexicalIndex, LexicalParams
from indexer.sentences import answer_units
from retrieval.query import analyse_question
from retrieval.synonyms import parse_synonyms

PARAMS = LexicalParams(k1=1.2, b=0.75, ngram_min=3, ngram_max=5)
WEIGHTS = {"stems": 1.0, "grams": 1.5, "headings": 0.6, "sentences": 1.5}

# (body, heading text, answer text); the answer text is "" for a reference list (no sentence units).
PASSAGES: list[tuple[str, str, str | None]] = [
    (("Peerstøtte er støtte til forandring mellem mennesker med levede erfaringer. "
      "Peer-støtte bygger på ligeværd. Den tilbydes i kommunerne."),
     "Peerstøtte Definition", None),
    (("Evalueringen af peerstøtte blev færdiggjort i juni 2018. Den viser gode resultater for "
      "borgerne, bl.a. færre indlæggelser."),
     "Peerstøtte Evaluering", None),
    (("## Om WRAP\nWRAP er et gruppeforløb med fokus på recovery og trivsel. Forløbet ledes af to "
      "peerstøttemedarbejdere."),
     "WRAP Om WRAP", None),
    (("Projektet i Odense fik 10,5 mio. kr. fra puljen. Midlerne går til løn, uddannelse og supervision "
      "af frivillige. Frivillige mødes hver uge."),
     "Peer to Peer Odense Økonomi", None),
    ("Socialstyrelsen (2019). Peerstøtte i kommunerne. Rapport. Socialstyrelsen (2020). Evaluering.",
     "Peerstøtte Litteratur", ""),
    (("Recovery handler om at leve et meningsfuldt liv. Recovery er en personlig proces! "
      "Hvad betyder recovery for dig?"),
     "Recovery", None),
]

QUESTIONS = [
    "Hvad er peerstøtte?",
    "Hvornår blev evalueringen af peerstøtte færdiggjort?",
    "Hvad fokuserer WRAP på?",
    "Hvor mange millioner kroner fik projektet i Odense?",
    "peer-støtte recovery frivillige",
    "peerstotte",  # typed without ø: found through spelling variants
    "What is peer support?",  # English, reaches Danish terms through a one-way synonym
    "Socialstyrelsen evaluering",  # words only the reference list has in its body
    "zebra",  # no passage has it, nor any of its n-grams: every score is 0
]

SYNONYMS = parse_synonyms("peer support => peerstøtte, peer-støtte\n")


# --- the oracle ---------------------------------------------------------------------------------

def bm25_all(documents: Sequence[Sequence[str]], query: dict[str, float], k1: float, b: float) -> list[float]:
    """BM25 of every document for weighted ``query`` terms, straight from the definition."""
    n = len(documents)
    lengths = [len(doc) for doc in documents]
    avglen = sum(lengths) / n if n and sum(lengths) > 0 else 1.0
    df = Counter(term for doc in documents for term in set(doc))
    scores = []
    for doc, length in zip(documents, lengths):
        tf = Counter(doc)
        total = 0.0
        for term, weight in query.items():
            if tf[term] == 0:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            total += weight * idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * length / avglen))
        scores.append(total)
    return scores


def scaled(values: list[float], weight: float) -> list[float]:
    """``weight × value / std`` (population std); nothing when the weight or the spread is zero."""
    spread = statistics.pstdev(values) if values else 0.0
    if weight <= 0 or spread == 0:
        return [0.0] * len(values)
    return [weight * v / spread for v in values]


@dataclass
class Terms:
    stems: dict[str, float] = field(default_factory=dict)
    grams: dict[str, float] = field(default_factory=dict)


@dataclass
class OracleScores:
    total: list[float]
    fields: dict[str, list[float]]


def oracle(passages: Sequence[tuple[str, str, str | None]], terms: Terms, weights: dict[str, float],
           params: LexicalParams = PARAMS) -> OracleScores:
    def ngrams(text: str) -> list[str]:
        return grams(text, params.ngram_min, params.ngram_max)

    bodies = [body for body, _, _ in passages]
    raw = {
        "stems": bm25_all([stems(t) for t in bodies], terms.stems, params.k1, params.b),
        "grams": bm25_all([ngrams(t) for t in bodies], terms.grams, params.k1, params.b),
        "headings": bm25_all([stems(h) for _, h, _ in passages], terms.stems, params.k1, params.b),
    }
    owners: list[int] = []
    unit_texts: list[str] = []
    for row, (body, _, answer) in enumerate(passages):
        text = body if answer is None else answer
        for start, end in answer_units(text):
            owners.append(row)
            unit_texts.append(text[start:end])
    unit_parts: list[tuple[Callable[[str], list[str]], dict[str, float], float]] = [
        (stems, terms.stems, weights.get("stems", 0.0)), (ngrams, terms.grams, weights.get("grams", 0.0))]
    unit_scores = [0.0] * len(unit_texts)
    for analyse, query, weight in unit_parts:
        part = scaled(bm25_all([analyse(t) for t in unit_texts], query, params.k1, params.b), weight)
        unit_scores = [a + b for a, b in zip(unit_scores, part)]
    raw["sentences"] = [max((s for owner, s in zip(owners, unit_scores) if owner == row), default=0.0)
                        for row in range(len(passages))]
    total = [0.0] * len(passages)
    for name, values in raw.items():
        total = [a + b for a, b in zip(total, scaled(values, weights.get(name, 0.0)))]
    return OracleScores(total, raw)


# --- the comparison ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    bodies = [body for body, _, _ in PASSAGES]
    answers = [body if answer is None else answer for body, _, answer in PASSAGES]
    return LexicalIndex.build(bodies, [h for _, h, _ in PASSAGES], PARAMS, answers)


def assert_same(index: LexicalIndex, terms: Terms, weights: dict[str, float]) -> OracleScores:
    expected = oracle(PASSAGES, terms, weights)
    total, per_field = index.scores(terms, weights)
    assert set(per_field) == set(expected.fields)
    for name, values in expected.fields.items():
        assert list(per_field[name]) == pytest.approx(values, abs=1e-9), name
    assert list(total) == pytest.approx(expected.total, abs=1e-9)
    return expected


@pytest.mark.parametrize("question", QUESTIONS)
def test_lexical_score_of_every_passage_equals_the_brute_force_formula(index: LexicalIndex, question: str):
    query = analyse_question(question, index, SYNONYMS, synonym_weight=0.8)
    expected = assert_same(index, Terms(query.stems, query.grams), WEIGHTS)
    if question == "zebra":
        assert expected.total == [0.0] * len(PASSAGES)
    else:
        assert max(expected.total) > 0  # the question does reach the toy corpus


def test_weighted_terms_and_other_field_weights_match_too(index: LexicalIndex):
    query = analyse_question("Hvornår blev evalueringen af peerstøtte færdiggjort?", index, [], 0.8)
    terms = Terms({t: w * (0.5 + i / 10) for i, (t, w) in enumerate(query.stems.items())},
                  {t: 0.7 for t in query.grams})
    for weights in ({"stems": 2.0, "grams": 0.0, "headings": 1.0, "sentences": 0.5},
                    {"stems": 0.0, "grams": 0.0, "headings": 0.0, "sentences": 1.0},
                    {"sentences": 2.0, "grams": 3.0}):
        assert_same(index, terms, weights)


def test_the_oracle_itself_on_a_case_worked_by_hand():
    """Two one-sentence passages, the query "a": df = 1 of N = 2, equal lengths (avglen = len)."""
    docs = [["a", "b"], ["b", "c"]]
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))  # ln 2
    assert bm25_all(docs, {"a": 1.0}, 1.2, 0.75) == pytest.approx([idf * 1 * 2.2 / (1 + 1.2), 0.0])
    # scaled by the population std of [x, 0], which is x / 2
    assert scaled([3.0, 0.0], 1.5) == pytest.approx([1.5 * 3.0 / 1.5, 0.0])


def test_a_reference_list_has_no_sentence_units_but_keeps_its_body_fields(index: LexicalIndex):
    query = analyse_question("Socialstyrelsen evaluering", index, [], 0.8)
    _, per_field = index.scores(query, WEIGHTS)
    reference_list = 4
    assert per_field["stems"][reference_list] > 0
    assert per_field["sentences"][reference_list] == 0.0


def test_fields_scored_for_some_rows_give_those_rows_the_same_scores(index: LexicalIndex):
    """A large index scores its n-gram and sentence fields for a pool of passages only, from the
    pool's own words: each pooled passage gets the value the whole-index scoring gives it."""
    import numpy as np

    query = analyse_question("Hvornår blev evalueringen af peerstøtte færdiggjort?", index, [], 0.8)
    every = np.arange(index.size)
    some = np.array([1, 3, 4])
    for name, terms in (("stems", query.stems), ("grams", query.grams), ("headings", query.stems)):
        field = index.fields[name]
        assert list(field.scores_of(terms, some)) == pytest.approx(list(field.scores(terms)[some]), abs=1e-9)
    whole = index.sentences.scores(query.stems, query.grams, 1.0, 1.5)
    assert list(index.sentences.scores_of(every, query.stems, query.grams, 1.0, 1.5)) == pytest.approx(
        list(whole), abs=1e-9)


def test_a_pooled_search_scores_the_pool_and_brings_the_rows_asked_for(index: LexicalIndex):
    import numpy as np

    query = analyse_question("Hvornår blev evalueringen af peerstøtte færdiggjort?", index, [], 0.8)
    exhaustive, fields = index.scores(query, WEIGHTS)
    pooled, pooled_fields = index.scores(query, WEIGHTS, pool=2, also=np.array([5]))
    scored = np.flatnonzero(pooled_fields["grams"])
    assert 5 in np.flatnonzero(pooled_fields["sentences"] + pooled_fields["grams"]) or fields["grams"][5] == 0
    assert set(scored) <= set(np.argsort(-(fields["stems"] + fields["headings"]))[:2]) | {5}
    assert int(np.argmax(pooled)) == int(np.argmax(exhaustive))  # the best passage is in the pool
