"""How much of a question a piece of text covers: the basis of highlighting and of abstention.

Each content word of the question counts with its idf (a word the corpus never uses counts
with the highest idf, since a question about it is likely not answered here). A word is covered
by a text when its stem, a spelling variant or synonym of it, or most of its character n-grams
(compounds: ``indlæggelser`` in ``indlæggelsesgrad``) occur in the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.analysis import char_ngrams, grams, skeleton, stem, tokenize
from indexer.lexical import LexicalIndex, LexicalQuery
from indexer.sentences import sentence_spans

GRAM_COVER = 0.6


@dataclass(frozen=True)
class QuestionWord:
    word: str
    stem: str
    idf: float
    grams: frozenset[str]


def question_words(index: LexicalIndex, query_text: str) -> list[QuestionWord]:
    stems_field = index.fields["stems"]
    max_idf = float(stems_field.idf.max()) if stems_field.idf.size else 1.0
    seen: set[str] = set()
    out: list[QuestionWord] = []
    for token in tokenize(query_text, question=True):
        term = stem(token.word)
        if term in seen:
            continue
        seen.add(term)
        idf = stems_field.idf_of(term)
        if idf is None:
            variants = index._variants.get(skeleton(term), [])
            idf = max((stems_field.idf_of(v) or 0.0 for v in variants), default=max_idf) if variants else max_idf
        grams_of = frozenset(char_ngrams(token.word, index.params.ngram_min, index.params.ngram_max))
        out.append(QuestionWord(token.word, term, idf, grams_of))
    return out


def coverage(words: list[QuestionWord], query: LexicalQuery, text: str, index: LexicalIndex) -> float:
    """Share of the question's idf mass that ``text`` covers (0–1)."""
    if not words:
        return 0.0
    text_stems = {stem(t.word) for t in tokenize(text)}
    text_grams = set(grams(text, index.params.ngram_min, index.params.ngram_max))
    total = sum(w.idf for w in words)
    covered = 0.0
    for w in words:
        if w.stem in text_stems or query.expansions.get(w.stem, set()) & text_stems:
            covered += w.idf
        elif w.grams and len(w.grams & text_grams) / len(w.grams) >= GRAM_COVER:
            covered += 0.8 * w.idf
    return covered / total if total > 0 else 0.0


def best_sentences(words: list[QuestionWord], query: LexicalQuery, text: str, index: LexicalIndex,
                   max_sentences: int = 2) -> list[tuple[int, int]]:
    """Offsets (in ``text``) of the sentence(s) that answer best; empty when none matches."""
    scored = []
    for start, end in sentence_spans(text):
        if text[start] == "#":  # headings are context, not answers
            continue
        score = coverage(words, query, text[start:end], index)
        if score > 0:
            scored.append((score, start, end))
    if not scored:
        return []
    best = max(s for s, _, _ in scored)
    chosen = sorted(sorted(scored, key=lambda item: -item[0])[:max_sentences], key=lambda item: item[1])
    return [(start, end) for score, start, end in chosen if score >= 0.8 * best]
