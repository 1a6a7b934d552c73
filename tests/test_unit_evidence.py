"""The rerank's evidence looked up in the index's answer units gives exactly what the word-by-word
rules give on the same sentences, for every passage of the real corpus."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.evidence import sentence_coverage, sentence_credits
from retrieval.query import analyse_question
from retrieval.unit_evidence import UnitEvidence

QUESTIONS = [
    "Hvad er formålet med MB-forløbet?",
    "Hvor kan jeg finde litteraturen om peerstøtte?",
    "Hvilke indsatser er der for udsatte grønlændere?",
    "How many people were interviewed about paid and volunteer peer support?",
    "Hvad koster det at deltage i et WRAP-forløb?",
    "landbrugsjorden indlæggelser recoveryorienteret",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_unit_credits_equal_the_word_by_word_credits(corpus_searcher, question):
    searcher = corpus_searcher
    index = searcher._index
    query = analyse_question(question, index.lexical, searcher.synonyms, searcher.settings.synonym_weight)
    from retrieval.evidence import question_words

    words = question_words(index.lexical, query, question, searcher.rules)
    units = UnitEvidence(index.lexical)
    rows = [row for row in range(len(index.passages)) if units.has_units(row)]
    assert len(rows) >= len(index.passages) - 3  # only reference lists have none
    looked_up = units.credits(words, rows, searcher.rules)
    coverage = units.coverage(words, rows, searcher.rules)
    for row in rows:
        sentences = searcher._terms.sentences(row)
        expected = sentence_credits(words, query, sentences, searcher.rules)
        np.testing.assert_allclose(looked_up[row].singles, expected.singles, atol=1e-12)
        np.testing.assert_allclose(looked_up[row].pairs, expected.pairs, atol=1e-12)
        assert coverage[row] == pytest.approx(sentence_coverage(words, query, sentences, searcher.rules))


def test_a_question_without_content_words_has_no_evidence(corpus_searcher):
    units = UnitEvidence(corpus_searcher._index.lexical)
    assert units.coverage([], [0, 1], corpus_searcher.rules) == {0: 0.0, 1: 0.0}


def test_passage_and_sentence_terms_read_from_the_index_equal_the_text_analysed_again(corpus_searcher):
    """Highlights and confidence read each passage's words from the index; analysing the text
    itself gives the same stems and n-grams, for the passage and for every sentence and gap."""
    from indexer.sentences import answer_sentence_spans
    from retrieval.evidence import PassageTerms, text_terms

    index = corpus_searcher._index
    terms = PassageTerms(index.lexical, [p.text for p in index.passages], limit=8)
    for row, passage in enumerate(index.passages):
        assert terms.passage(row) == text_terms(passage.text, index.lexical)
        spans = answer_sentence_spans(passage.text)
        sentences = terms.sentences(row)
        assert [(s.start, s.end) for s in sentences] == spans
        for sentence, following in zip(sentences, spans[1:] + [None]):
            assert sentence.terms == text_terms(sentence.text, index.lexical)
            gap = passage.text[sentence.end:following[0]] if following else ""
            expected = text_terms(gap, index.lexical)
            assert sentence.gap == (expected if expected.stems else None)


@pytest.mark.parametrize("question", QUESTIONS)
def test_passage_credits_from_the_index_equal_the_word_by_word_credits(corpus_searcher, question):
    from retrieval.evidence import question_words, text_terms, word_credit

    index = corpus_searcher._index
    query = analyse_question(question, index.lexical, corpus_searcher.synonyms, corpus_searcher.settings.synonym_weight)
    words = question_words(index.lexical, query, question, corpus_searcher.rules)
    rows = list(range(len(index.passages)))
    table = UnitEvidence(index.lexical).passage_credits(words, rows, corpus_searcher.rules)
    for row in rows:
        terms = text_terms(index.passages[row].text, index.lexical)
        expected = [word_credit(w, query, (terms,), rules=corpus_searcher.rules) for w in words]
        np.testing.assert_allclose(table[row], expected, atol=1e-12)
