"""Danish analysis: what a caseworker types finds what the documents say."""

from pathlib import Path

import pytest
from conftest import hashing_settings, write_doc

from indexer.analysis import stems, tokenize
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from retrieval.searcher import Searcher
from retrieval.synonyms import SynonymError, parse_synonyms

DOCS = {
    "indlaeggelse": "Peer-støtte gav en reduktion i indlæggelsesgrad og varighed for borgerne.",
    "medarbejder": "Kommunen ansatte en peerstøttemedarbejder i botilbuddet sidste år.",
    "budget": "Projektet fik 10,5 mio. kr. fra satspuljen til afprøvningen.",
    "lyd": "Lær at tackle er et kursus om søvn, smerter og træthed for voksne.",
    "definition": "## Definition\n\nPeerstøtte er støtte mellem ligestillede med fælles levede erfaringer.",
    "wrap": "WRAP er et gruppeforløb med fokus på recovery og trivsel.",
}


@pytest.fixture
def searcher(tmp_path: Path, isolated_data: Path) -> Searcher:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, body in DOCS.items():
        write_doc(corpus, doc_id, doc_id.capitalize(), body + "\n")
    (corpus / "synonyms.txt").write_text(
        "peerstøtte, ligemandsstøtte, ligestillet støtte\npeer support => peerstøtte\n", encoding="utf-8")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    return Searcher.open(settings, encoder=HashingEncoder(256))


def top_doc(searcher: Searcher, question: str) -> str:
    return searcher.search(question, 1, retriever="lexical").hits[0].document.id


@pytest.mark.parametrize("question, expected", [
    ("indlæggelser", "indlaeggelse"),  # compound: indlæggelser → indlæggelsesgrad
    ("støtte medarbejder", "medarbejder"),  # parts find peerstøttemedarbejder
    ("millioner kroner", "budget"),  # 10,5 mio. kr.
    ("laer at tackle", "lyd"),  # æ typed as ae
    ("lar at tackle sovn", "lyd"),  # æ/ø typed as a/o
    ("Hvad er peer støtte?", "definition"),
    ("Hvad er peerstotte?", "definition"),
    ("Hvad er ligemandsstøtte?", "definition"),  # synonym for a word the corpus does not use
    ("What is peer support?", "definition"),  # English glossary
])
def test_what_people_type_finds_what_documents_say(searcher, question, expected):
    assert top_doc(searcher, question) == expected


def test_spelling_variants_analyse_alike():
    assert stems("peer-støtte")[0] == stems("peerstøtte")[0]
    assert "peer" in stems("peer-støtte") and "støt" in stems("peer-støtte")
    assert [t.word for t in tokenize("10,5 mio. kr.")][:1] == ["10,5"]
    assert "million" in stems("10,5 mio. kr.") and "kron" in stems("10,5 mio. kr.")


def test_question_words_and_stop_words_are_dropped():
    assert stems("Hvilke indsatser findes der?", question=True) == ["indsats"]
    assert stems("What is the purpose of WRAP?", question=True) == ["purpos", "wrap"]


def test_highlight_marks_the_answering_sentence(searcher):
    hit = searcher.search("Hvad fokuserer WRAP på?", 1).hits[0]
    assert [hit.passage.text[s:e] for s, e in hit.highlights] == [
        "WRAP er et gruppeforløb med fokus på recovery og trivsel."]


def test_unanswerable_question_abstains_but_lists_passages(searcher):
    result = searcher.search("Hvordan bestiller jeg et nyt sundhedskort?", 3)
    assert result.abstain and len(result.hits) == 3
    assert not searcher.search("Hvad er peerstøtte?", 3).abstain


def test_duplicate_passages_show_once(tmp_path: Path, isolated_data: Path):
    corpus = tmp_path / "dup"
    corpus.mkdir()
    write_doc(corpus, "a", "A", "Peerstøtte virker i kommunerne, viser evalueringen.\n")
    write_doc(corpus, "b", "B", "Peerstøtte  virker i kommunerne – viser evalueringen.\n")
    write_doc(corpus, "c", "C", "Noget helt andet om peerstøtte og recovery.\n")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    result = Searcher.open(settings, encoder=HashingEncoder(256)).search("peerstøtte evaluering", 5)
    assert sorted(h.document.id for h in result.hits) in (["a", "c"], ["b", "c"])


def test_synonym_file_errors_name_the_line():
    with pytest.raises(SynonymError, match=r"syn.txt:2"):
        parse_synonyms("peerstøtte, ligemandsstøtte\n=> kursus\n", "syn.txt")
