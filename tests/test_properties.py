"""Property-based tests (Hypothesis): any text at all goes through the analyser, the sentence
splitter, the passage splitter and the search without an exception, and every offset the
product hands out stays inside its text and points at exactly the text it claims."""

from __future__ import annotations

import pytest
from conftest import hashing_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.analysis import grams, normalise, stems, tokenize
from indexer.build import build_index
from indexer.documents import Document
from indexer.encoder import HashingEncoder
from indexer.passages import split_passages
from indexer.sentences import answer_sentence_spans, sentence_spans
from retrieval.searcher import Searcher

# Danish letters, punctuation, Markdown markers, line breaks, zero-width and odd characters.
ALPHABET = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs", "Cc", "Cf"),
                         include_characters="æøåÆØÅ#-*\n\n .!?…\u200b\u00ad")
TEXT = st.text(ALPHABET, max_size=400)
MARKDOWN_LINE = st.one_of(
    TEXT.map(lambda t: t.replace("\n", " ")),
    TEXT.map(lambda t: "## " + t.replace("\n", " ")),
    TEXT.map(lambda t: "- " + t.replace("\n", " ")),
    st.just(""),
)
MARKDOWN = st.lists(MARKDOWN_LINE, max_size=30).map("\n".join)
FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FAST
@given(TEXT)
def test_the_analyser_takes_any_text(text):
    tokens = tokenize(text)
    assert all(t.word and t.word == t.word.strip() for t in tokens)
    assert len(stems(text)) == len(tokens)
    assert all(gram for gram in grams(text, 3, 5))
    assert isinstance(normalise(text), str)


@FAST
@given(TEXT)
def test_sentences_are_ordered_non_empty_spans_inside_the_text(text):
    previous_end = 0
    for start, end in sentence_spans(text):
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        previous_end = end
    assert set(answer_sentence_spans(text)) <= set(sentence_spans(text))


@FAST
@given(MARKDOWN)
def test_every_passage_is_exactly_its_slice_of_the_document(body):
    doc = Document(id="d", title="T", publisher="P", body=body)
    previous_end = 0
    for passage in split_passages(doc, 5, 40):
        assert 0 <= passage.start < passage.end <= len(body)
        assert body[passage.start:passage.end] == passage.text
        assert passage.start >= previous_end  # in reading order, never overlapping
        previous_end = passage.end


@pytest.fixture(scope="module")
def searcher(tmp_path_factory) -> Searcher:
    data = tmp_path_factory.mktemp("properties")
    settings_ = hashing_settings(data)
    encoder = HashingEncoder(256)
    build_index(settings_.corpus_dir, settings_.index_dir, settings_, encoder, progress=False)
    return Searcher.open(settings_, encoder=encoder)


@FAST
@given(question=TEXT, retriever=st.sampled_from(["lexical", "dense", "hybrid"]))
def test_highlights_of_any_question_stay_inside_their_passage(searcher, question, retriever):
    result = searcher.search(question, 5, retriever=retriever)
    assert 0.0 <= result.confidence <= 1.0
    for hit in result.hits:
        document = searcher.document(hit.passage.doc_id)
        assert document.body[hit.passage.start:hit.passage.end] == hit.passage.text
        previous_end = 0
        for start, end in hit.highlights:
            assert previous_end <= start < end <= len(hit.passage.text)
            previous_end = end

