"""How much of a question a piece of text covers: the basis of highlighting and of abstention.

Each content word of the question counts with its idf (a word the corpus never uses counts
with the highest idf, since a question about it is likely not answered here). A word is covered
by a text when its stem, a spelling variant or synonym of it, or most of its character n-grams
(compounds: ``indlæggelser`` in ``indlæggelsesgrad``, or all n-grams of its stem:
``litteraturen`` in ``litteraturliste``) occur in the text; a word of which only some n-grams
occur (``landbrugsjorden`` in ``landbruget``) is covered in part.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from indexer.analysis import char_ngrams, grams, stem, tokenize
from indexer.lexical import LexicalIndex
from indexer.sentences import answer_sentence_spans
from indexer.settings import Settings
from retrieval.answer_type import AnswerType, has_answer_shape
from retrieval.query import LexicalQuery


@dataclass(frozen=True)
class EvidenceRules:
    """The tuning of coverage and highlighting (each value documented in ``Settings``)."""

    gram_cover: float
    gram_credit: float
    gram_partial: float
    window_credit: float
    stem_credit: float
    stem_min_length: int
    absent_weight: float
    highlight_ratio: float
    highlight_sentences: int
    highlight_common_discount: float
    answer_shape_credit: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "EvidenceRules":
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


DEFAULT_RULES = EvidenceRules.from_settings(Settings.model_construct())


@dataclass(frozen=True)
class QuestionWord:
    word: str
    stem: str
    idf: float
    grams: frozenset[str]
    stem_grams: frozenset[str] = frozenset()
    known: bool = True  # the corpus uses the word (or a variant or synonym of it)
    variants: frozenset[str] = frozenset()  # its stem and the stems it is expanded to


def question_words(index: LexicalIndex, query: LexicalQuery, question: str,
                   rules: EvidenceRules = DEFAULT_RULES) -> list[QuestionWord]:
    """The question's content words with their weights: idf for words the corpus uses,
    ``rules.absent_weight`` × the highest idf for words it never uses (nor any variant or synonym)."""
    max_idf = index.max_stem_idf()
    seen: set[str] = set()
    out: list[QuestionWord] = []
    for token in tokenize(question, question=True):
        term = stem(token.word)
        if term in seen:
            continue
        seen.add(term)
        known = [t for t in (term, *sorted(query.expansions.get(term, ()))) if index.has_stem(t)]
        # A long word the corpus never uses (a compound noun: "kontanthjælpen") is strong evidence
        # that the corpus does not answer the question; a short one less so.
        idf = (max(index.stem_idf(t) or 0.0 for t in known) if known
               else rules.absent_weight * max_idf * min(1.0, len(token.word) / 10))
        grams_of = frozenset(char_ngrams(token.word, index.params.ngram_min, index.params.ngram_max))
        stem_grams = (frozenset(char_ngrams(term, index.params.ngram_min, index.params.ngram_max))
                      if len(term) >= rules.stem_min_length else frozenset())
        out.append(QuestionWord(token.word, term, idf, grams_of, stem_grams, bool(known),
                                frozenset({term, *query.expansions.get(term, ())})))
    return out


@dataclass(frozen=True)
class TextTerms:
    stems: frozenset[str]
    grams: frozenset[str]


def text_terms(text: str, index: LexicalIndex) -> TextTerms:
    return TextTerms(frozenset(stem(t.word) for t in tokenize(text)),
                     frozenset(grams(text, index.params.ngram_min, index.params.ngram_max)))


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    terms: TextTerms
    text: str
    gap: TextTerms | None = None  # words between it and the next sentence (a heading), if any


NO_TERMS = TextTerms(frozenset(), frozenset())  # a sentence whose terms were not looked up


class PassageTerms:
    """Analysed passages and their sentences, read from the index's word counts (a passage the
    index has no sentence pieces for, e.g. a reference list, is analysed from its text), and kept
    for the ``limit`` passages used most recently."""

    def __init__(self, index: LexicalIndex, texts: Sequence[str], limit: int = 4096) -> None:
        self._index = index
        self._texts = texts
        self._limit = limit
        self._passages: OrderedDict[int, TextTerms] = OrderedDict()
        self._sentences: OrderedDict[int, list[Sentence]] = OrderedDict()
        self._lock = threading.Lock()

    def passage(self, row: int) -> TextTerms:
        return self._cached(self._passages, row, lambda: TextTerms(*self._index.passage_terms(row)))

    def sentences(self, row: int) -> list[Sentence]:
        """The answer-bearing sentences of a passage (headings are context, not answers)."""
        return self._cached(self._sentences, row, lambda: self._analyse_sentences(row))

    def sentence_spans(self, row: int) -> list[Sentence]:
        """The answer-bearing sentences of a passage with their offsets and text but without their
        terms (``NO_TERMS``): for a caller that has the sentences' word credits from the index
        (``unit_evidence``) and so never reads the terms."""
        text = self._texts[row]
        return [Sentence(s, e, NO_TERMS, text[s:e]) for s, e in answer_sentence_spans(text)]

    def _analyse_sentences(self, row: int) -> list[Sentence]:
        text = self._texts[row]
        spans = answer_sentence_spans(text)
        pieces = [TextTerms(*terms) for terms in self._index.piece_terms(row)]
        if len(pieces) == 2 * len(spans) - 1:  # sentence, gap, sentence, …, sentence
            gaps: list[TextTerms | None] = [gap if gap.stems else None for gap in pieces[1::2]] + [None]
            return [Sentence(s, e, terms, text[s:e], gap) for (s, e), terms, gap in zip(spans, pieces[::2], gaps)]
        texts = [text[end:start] for (_, end), (start, _) in zip(spans, spans[1:])] + [""]
        return [Sentence(s, e, text_terms(text[s:e], self._index), text[s:e],
                         text_terms(gap, self._index) if tokenize(gap) else None)
                for (s, e), gap in zip(spans, texts)]

    def _cached(self, cache: OrderedDict, row: int, compute):
        with self._lock:
            if row in cache:
                cache.move_to_end(row)
                return cache[row]
        value = compute()
        with self._lock:
            cache[row] = value
            while len(cache) > self._limit:
                cache.popitem(last=False)
        return value


def coverage(words: list[QuestionWord], query: LexicalQuery, terms: TextTerms | Sequence[TextTerms],
             strict: bool = False, rules: EvidenceRules = DEFAULT_RULES) -> float:
    """Share of the question's weighted words that a text (given by its terms, or by the terms
    of its parts, e.g. two neighbouring sentences) covers, 0–1.

    ``strict`` (for confidence): a word the corpus never uses counts only when found whole, so
    a compound that merely shares pieces with the text ("sundhedskort": "sundhed", "kort") does
    not pass for an answer."""
    total = sum(w.idf for w in words)
    if total <= 0:
        return 0.0
    parts = (terms,) if isinstance(terms, TextTerms) else tuple(terms)
    return sum(w.idf * word_credit(w, query, parts, strict, rules) for w in words) / total


def word_credit(w: QuestionWord, query: LexicalQuery, parts: Sequence[TextTerms], strict: bool = False,
                rules: EvidenceRules = DEFAULT_RULES) -> float:
    """How fully (0–1) the text made of ``parts`` has one question word: 1 for its stem, a variant
    or a synonym; ``stem_credit`` when a compound holds its whole stem; ``gram_credit`` (× the
    share, for a partial match) when its character n-grams occur."""
    variants = w.variants or frozenset({w.stem, *query.expansions.get(w.stem, ())})
    if any(not variants.isdisjoint(part.stems) for part in parts):
        return 1.0
    if w.stem_grams and (w.stem_grams <= parts[0].grams if len(parts) == 1
                         else all(any(g in part.grams for part in parts) for g in w.stem_grams)):
        return rules.stem_credit
    if w.grams and not (strict and not w.known):
        shared = (w.grams & parts[0].grams if len(parts) == 1
                  else frozenset().union(*(w.grams & part.grams for part in parts)))
        share = len(shared) / len(w.grams)
        if share >= rules.gram_cover:
            return rules.gram_credit
        if share >= rules.gram_partial:
            return rules.gram_credit * share
    return 0.0


def discriminative_words(words: list[QuestionWord], query: LexicalQuery, candidates: list[TextTerms],
                         discount: float, rules: EvidenceRules = DEFAULT_RULES) -> list[QuestionWord]:
    """The question's words reweighted for ranking ``candidates`` against each other: a word
    that a share of them all contain tells them apart less, so its weight falls by
    ``discount`` × that share (the article's topic word in every candidate counts little;
    the word only the answering passage has counts in full)."""
    if discount <= 0 or len(candidates) < 2:
        return words
    shares = [sum(word_credit(word, query, (terms,), rules=rules) > 0 for terms in candidates) / len(candidates)
              for word in words]
    return reweighted_words(words, shares, discount)


def reweighted_words(words: list[QuestionWord], shares: Sequence[float], discount: float) -> list[QuestionWord]:
    """Each word's weight less ``discount`` × the share of the candidates that have it."""
    return [replace(word, idf=word.idf * (1 - discount * share)) for word, share in zip(words, shares)]


@dataclass(frozen=True)
class SentenceCredits:
    """How fully each sentence of a passage, and each pair of neighbouring sentences, has each
    question word (``word_credit``): ``singles`` is sentences × words, ``pairs`` (sentences − 1) × words."""

    singles: np.ndarray
    pairs: np.ndarray


def sentence_credits(words: list[QuestionWord], query: LexicalQuery, sentences: list[Sentence],
                     rules: EvidenceRules = DEFAULT_RULES) -> SentenceCredits:
    """The credits worked out word by word (``unit_evidence`` looks the same up in the index)."""
    singles = np.array([[word_credit(w, query, (s.terms,), rules=rules) for w in words] for s in sentences],
                       dtype=np.float64).reshape(len(sentences), len(words))
    pairs = np.zeros((max(len(sentences) - 1, 0), len(words)))
    for i in range(len(sentences) - 1):
        between = sentences[i].gap  # the pair is the text from one to the next, a heading between included
        pair = (sentences[i].terms, sentences[i + 1].terms) + ((between,) if between is not None else ())
        for j, w in enumerate(words):
            a, b = singles[i, j], singles[i + 1, j]
            pairs[i, j] = 1.0 if max(a, b) == 1.0 else word_credit(w, query, pair, rules=rules)
    return SentenceCredits(singles, pairs)


def sentence_coverage(words: list[QuestionWord], query: LexicalQuery, sentences: list[Sentence],
                      rules: EvidenceRules = DEFAULT_RULES, credits: SentenceCredits | None = None) -> float:
    """How well the passage's best sentence, or pair of neighbouring sentences (at
    ``rules.window_credit``), covers the question (0–1)."""
    total = sum(w.idf for w in words)
    if total <= 0 or not sentences:
        return 0.0
    credits = credits if credits is not None else sentence_credits(words, query, sentences, rules)
    idf = np.array([w.idf for w in words])
    best = float((credits.singles @ idf).max()) / total if len(credits.singles) else 0.0
    if len(credits.pairs):
        best = max(best, rules.window_credit * float((credits.pairs @ idf).max()) / total)
    return best


def best_sentences(words: list[QuestionWord], query: LexicalQuery, sentences: list[Sentence],
                   rules: EvidenceRules = DEFAULT_RULES, kind: AnswerType | None = None,
                   credits: SentenceCredits | None = None) -> tuple[float, list[tuple[int, int]]]:
    """How well the passage's best sentence answers (0–1), and the offsets of the sentence(s) to
    highlight (none when nothing matches).

    The score is ``sentence_coverage`` (two neighbouring sentences together count too: an answer
    often spans a sentence and the one that names its subject); the highlight is chosen by
    ``highlight_scores``. ``credits``: the sentences' word credits when the caller has them."""
    if not sentences:
        return 0.0, []
    credits = credits if credits is not None else sentence_credits(words, query, sentences, rules)
    best = sentence_coverage(words, query, sentences, rules, credits)
    if best <= 0:
        return best, []
    return best, choose_highlights(sentences, highlight_scores(words, sentences, credits, rules, kind), rules)


_TIE_BREAK = 1e-3


def highlight_scores(words: list[QuestionWord], sentences: list[Sentence], credits: SentenceCredits,
                     rules: EvidenceRules = DEFAULT_RULES, kind: AnswerType | None = None) -> list[float]:
    """How strongly each sentence of one passage answers, to choose the highlight.

    The question's words are weighed by how well they tell the passage's sentences apart: a word
    in a share of them (the passage's topic, "MB-forløbet" in every sentence about it) falls by
    ``rules.highlight_common_discount`` × that share, so the sentence with the words the question
    *asks* about ("formålet") wins. A sentence holding the kind of answer the question wants
    (``answer_type``: a date, a number, a duration, a purpose) gains ``rules.answer_shape_credit``.
    Plain coverage breaks ties (and decides alone when every word is in every sentence)."""
    if not sentences:
        return []
    covers = credits.singles
    idf = np.array([w.idf for w in words])
    weights = idf * (1 - rules.highlight_common_discount * (covers > 0).sum(axis=0) / len(sentences))
    total, plain_total = float(weights.sum()) or 1.0, float(idf.sum()) or 1.0
    scores = covers @ weights / total + _TIE_BREAK * (covers @ idf) / plain_total
    return [float(score) + rules.answer_shape_credit * has_answer_shape(sentence.text, kind)
            for sentence, score in zip(sentences, scores)]


def choose_highlights(sentences: list[Sentence], scores: list[float], rules: EvidenceRules) -> list[tuple[int, int]]:
    """The best sentence, and up to ``rules.highlight_sentences`` in all that score at least
    ``rules.highlight_ratio`` of it, in reading order; none when no sentence scores."""
    ranked = sorted(range(len(sentences)), key=lambda i: -scores[i])
    if not ranked or scores[ranked[0]] <= 0:
        return []
    top = scores[ranked[0]]
    chosen = [i for i in ranked[:rules.highlight_sentences] if scores[i] >= rules.highlight_ratio * top]
    return [(sentences[i].start, sentences[i].end) for i in sorted(chosen)]
