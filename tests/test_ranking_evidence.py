"""Ranking by where the question's words meet: the passage with the answering sentence comes first."""

from pathlib import Path

import pytest
from conftest import hashing_settings, write_doc

from indexer.analysis import tokenize
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.lexical import LexicalIndex
from indexer.passages import Passage
from indexer.store import load_index
from retrieval.evidence import coverage, discriminative_words, question_words, text_terms
from retrieval.query import analyse_question
from retrieval.searcher import Searcher

SCATTERED = (
    "Kommunen har mange tilbud. Frivillige hjælper i weekenden med aktiviteter. "
    "Organisationer mødes hvert kvartal. Borgerne deltager i caféer om hverdagen. "
    "Fællesskaber opstår mellem naboer i området."
)
ANSWERING = (
    "Projektet kørte i tre år i fem byer. "
    "Frivillige organisationer og kommuner samarbejder om fællesskaber for borgerne. "
    "Evalueringen kom i 2019."
)


@pytest.fixture
def searcher(tmp_path: Path, isolated_data: Path) -> Searcher:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "spredt", "Tilbud i kommunen", SCATTERED + "\n")
    write_doc(corpus, "svar", "Projektet", ANSWERING + "\n")
    write_doc(corpus, "kilder", "Rapport",
              "## Resultater\n\n" + "Fællesskaber virker, viser rapporten om indsatsen. " * 8 + "\n\n## Kilder\n\n"
              "- Socialstyrelsen (2016). Frivillige organisationer og kommuner samarbejder om fællesskaber "
              "for borgerne. Lokaliseret på: https://socialstyrelsen.dk/fællesskaber\n"
              "- KORA (2017). Evaluering af peer-to-peer fællesskaber for udsatte borgere i fem kommuner.\n"
              "- Rambøll (2018). Kortlægning af frivillige indsatser i Danmark.\n")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    return Searcher.open(settings, encoder=HashingEncoder(256))


QUESTION = "Hvem samarbejder om fællesskaber for borgerne?"


@pytest.mark.parametrize("retriever", ["lexical", "hybrid"])
def test_the_passage_whose_sentence_answers_comes_first(searcher, retriever):
    result = searcher.search(QUESTION, 3, retriever=retriever)
    assert result.hits[0].document.id == "svar"
    first = result.hits[0]
    assert [first.passage.text[s:e] for s, e in first.highlights] == [
        "Frivillige organisationer og kommuner samarbejder om fællesskaber for borgerne."]


def lexical_index(searcher: Searcher) -> LexicalIndex:
    return load_index(searcher.index_path).lexical


def test_a_reference_list_entry_is_not_an_answer(searcher):
    ids = [h.passage.id for h in searcher.search(QUESTION, 5, retriever="lexical").hits]
    passages = searcher.passages()
    reference = next(p for p in passages if p.is_reference_list)
    assert ids.index("svar#1") < ids.index(reference.id)
    lexical = lexical_index(searcher)
    per_field = lexical.field_scores(analyse_question(QUESTION, lexical, [], 0.8), {"stems": 1.0, "grams": 1.5})
    assert per_field["sentences"][passages.index(reference)] == 0


def test_reference_sections_are_recognised():
    def passage(section: str) -> Passage:
        return Passage(id="d#1", doc_id="d", start=0, end=1, text="x", section=section)
    assert passage("Rapport › Kilder").is_reference_list
    assert passage("Litteraturliste").is_reference_list
    assert not passage("Rapport › Resultater").is_reference_list


def test_explain_shows_the_sentence_score(searcher):
    hit = searcher.search(QUESTION, 1, explain=True).hits[0]
    assert hit.explanation.field_scores["sentences"] > 0


def _coverage_of(searcher: Searcher, question: str, text: str) -> float:
    lexical = lexical_index(searcher)
    query = analyse_question(question, lexical, [], 0.8)
    return coverage(question_words(lexical, query, question), query, text_terms(text, lexical))


def test_compounds_and_near_forms_count_in_part(searcher):
    # the whole stem inside a compound counts nearly in full
    assert _coverage_of(searcher, "litteraturen", "Få den samlede litteraturliste.") >= 0.9
    # a word sharing only a stretch of letters counts a little, not nothing and not fully
    partial = _coverage_of(searcher, "landbrugsjorden", "Landbruget dyrker hvede.")
    assert 0 < partial < 0.6
    assert _coverage_of(searcher, "svømning", "Svømmehallen lukker.") == 0
    assert _coverage_of(searcher, "borgerne", "Borgerne deltager.") == 1.0


def test_words_every_candidate_shares_weigh_less(searcher):
    lexical = lexical_index(searcher)
    query = analyse_question(QUESTION, lexical, [], 0.8)
    words = question_words(lexical, query, QUESTION)
    candidates = [text_terms(t, lexical) for t in ("borgerne og kommuner", "borgerne samarbejder", "borgerne")]
    reweighted = {w.word: w.idf / original.idf
                  for w, original in zip(discriminative_words(words, query, candidates, 0.8), words)}
    assert reweighted["borgerne"] == pytest.approx(0.2)
    assert reweighted["samarbejder"] == pytest.approx(1 - 0.8 / 3)
    assert reweighted["fællesskaber"] == pytest.approx(1.0)


def test_genitive_ending_is_not_a_word():
    assert [t.word for t in tokenize("BBC's program")] == ["bbc", "program"]
