"""Which sentence of the first passage a caseworker is pointed at: the one with what the question
asks about, not the one that merely names the passage's topic."""

from __future__ import annotations

import pytest

from indexer.sentences import sentence_spans
from retrieval.answer_type import answer_type, has_answer_shape


@pytest.mark.parametrize("question, kind", [
    ("Hvornår lukker den gamle hjemmeside?", "date"),
    ("When is the old knowledge portal being switched off?", "date"),
    ("Hvilken dato forsvinder siden?", "date"),
    ("Hvor mange borgere blev interviewet?", "number"),
    ("How many interviews is the report based on?", "number"),
    ("Hvor længe varer et forløb?", "duration"),
    ("How long does a programme usually last?", "duration"),
    ("Hvad er formålet med MB-forløbet?", "purpose"),
    ("Why do organisations hire peers?", "purpose"),
    ("Hvad er peerstøtte?", None),
    ("What are the three stages an organisation goes through when becoming recovery-oriented?", None),
])
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert answer_type(question) == kind


@pytest.mark.parametrize("sentence, kind, expected", [
    ("Nedlukningen er fastsat til d. 3. januar 2024.", "date", True),
    ("Siden blev nedlagt i 2023.", "date", True),
    ("Siden lukker snart.", "date", False),
    ("Rapporten baserer sig på interviews med 11 borgere.", "number", True),
    ("Rapporten baserer sig på interviews med borgere.", "number", False),
    ("Forløbet varer typisk 9-12 måneder.", "duration", True),
    ("Kurset løber over otte dage.", "duration", True),
    ("Kurset er for voksne.", "duration", False),
    ("Formålet er, at borgerne opnår kontakt.", "purpose", True),
    ("Projektet startede i 2014.", None, False),
])
def test_whether_a_sentence_holds_that_kind_of_answer(sentence, kind, expected):
    assert has_answer_shape(sentence, kind) is expected


def test_a_list_items_wrapped_lines_are_one_sentence():
    text = "- Recovery Oriented Systems\n  Indicators Measure\n  (ROSI)\n- Recovery Self Assessment (RSA)"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "- Recovery Oriented Systems\n  Indicators Measure\n  (ROSI)", "- Recovery Self Assessment (RSA)"]


def test_a_wrapped_paragraph_still_splits_at_full_stops_and_headings_stay_apart():
    text = "## Om os\nVi er en forening. Vi arbejder\nmed peerstøtte.\n\nNy linje"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "## Om os", "Vi er en forening.", "Vi arbejder\nmed peerstøtte.", "Ny linje"]


def highlighted(searcher, question: str) -> str:
    hit = searcher.search(question, 1).hits[0]
    return " … ".join(hit.passage.text[s:e] for s, e in hit.highlights)


def test_a_purpose_question_highlights_the_purpose_not_the_topic_sentence(corpus_searcher):
    text = highlighted(corpus_searcher, "Hvad er formålet med MB-forløbet?")
    assert "Formålet med forløbet er" in text


def test_a_who_question_highlights_the_sentence_with_the_asked_about_word(corpus_searcher):
    text = highlighted(corpus_searcher, "Hvem har evalueret kurset for mennesker med synstab?")
    assert "Syddansk Universitet" in text


def test_a_how_many_question_highlights_the_sentence_with_the_number(corpus_searcher):
    text = highlighted(corpus_searcher, "Hvor mange borgere blev interviewet til rapporten om peer-støttens resultater?")
    assert "interviews med 11 borgere" in text
