"""The real corpus with the real (bundled) model, built the way `make run` builds it."""

import pytest
from conftest import hashing_settings

from indexer.build import build_index
from indexer.settings import BUNDLED_MODEL
from retrieval.searcher import Searcher


@pytest.fixture(scope="module")
def real_searcher(tmp_path_factory, real_encoder):
    data = tmp_path_factory.mktemp("real")
    settings = hashing_settings(data).model_copy(update={"model": BUNDLED_MODEL})
    build_index(settings.corpus_dir, settings.index_dir, settings, real_encoder, progress=False)
    return Searcher.open(settings, encoder=real_encoder)


@pytest.mark.slow
def test_definition_of_peerstoette_is_the_first_answer(real_searcher):
    result = real_searcher.search("Hvad er peerstøtte?", 5)
    first = result.hits[0]
    assert first.document.id == "peerstoette-tema"
    assert first.passage.section.endswith("Definition")
    highlighted = [first.passage.text[s:e] for s, e in first.highlights]
    assert any(h.startswith("Peerstøtte er støtte til forandring") for h in highlighted)
    assert not result.abstain and result.confidence >= real_searcher.abstain_threshold()


@pytest.mark.slow
def test_a_question_the_corpus_does_not_answer_abstains_but_lists_passages(real_searcher):
    result = real_searcher.search("Hvordan bestiller jeg et nyt sundhedskort?", 3)
    assert result.abstain and result.confidence < real_searcher.abstain_threshold()
    assert len(result.hits) == 3


@pytest.mark.slow
def test_english_question_reaches_danish_passages(real_searcher):
    result = real_searcher.search("When was the national evaluation of peer support finished?", 3)
    assert "juni 2018 færdiggjort slutevalueringen" in result.hits[0].passage.text


@pytest.mark.slow
def test_dense_retriever_alone_uses_the_model(real_searcher):
    result = real_searcher.search("Wellness Recovery Action Planning group course", 5, retriever="dense")
    assert any("WRAP" in h.passage.text for h in result.hits)
