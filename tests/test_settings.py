"""One settings model: wrong values stop the program with the allowed values; every setting that
changes an index makes an index built without it stale; the settings page is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, hashing_settings, write_doc

from indexer.build import build_index, stale_reason
from indexer.encoder import HashingEncoder
from indexer.settings import Settings, SettingsError, index_setting_names, load_settings, settings_markdown

#: A different, allowed value for every setting that changes an index.
CHANGED = {"model": "hashing:128", "model_backend": "onnx", "passage_prefix": "passage: ",
           "passage_min_words": 30, "passage_max_words": 150, "bm25_k1": 0.9, "bm25_b": 0.5,
           "ngram_min": 4, "ngram_max": 6, "dense_exact_max": 10, "hnsw_m": 16, "hnsw_ef_construction": 40}


def test_a_typo_in_a_choice_is_refused_with_the_allowed_values(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PEERQA_FUSION", "zscroe")
    with pytest.raises(SettingsError, match=r"PEERQA_FUSION: Input should be 'zscore' or 'rrf' \(got 'zscroe'\)"):
        load_settings()
    monkeypatch.setenv("PEERQA_FUSION", "rrf")
    monkeypatch.setenv("PEERQA_RETRIEVER", "semantic")
    with pytest.raises(SettingsError, match="'hybrid', 'lexical' or 'dense'"):
        load_settings()


def test_inconsistent_settings_are_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PEERQA_NGRAM_MIN", "6")
    with pytest.raises(SettingsError, match=r"PEERQA_NGRAM_MIN \(6\) must not exceed PEERQA_NGRAM_MAX \(5\)"):
        load_settings()


def test_the_command_line_says_what_is_wrong_without_a_traceback(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "indexer", "status"], cwd=ROOT, capture_output=True, text=True,
                            env={"PEERQA_FUSION": "zscroe", "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 2
    assert "PEERQA_FUSION" in result.stderr and "Traceback" not in result.stderr


def test_every_index_setting_is_known_and_recorded(tmp_path: Path, isolated_data: Path):
    assert sorted(index_setting_names()) == sorted(CHANGED)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "a", "Peerstøtte", "Peerstøtte er støtte fra en ligestillet med egen erfaring.\n")
    settings = hashing_settings(isolated_data, corpus)
    manifest = build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    assert set(manifest["settings"]) == set(CHANGED)
    assert stale_reason(corpus, settings.index_dir, settings) is None
    for name, value in CHANGED.items():
        changed = settings.model_copy(update={name: value})
        reason = stale_reason(corpus, settings.index_dir, changed)
        assert reason is not None and name in reason, name


def test_query_time_settings_do_not_make_an_index_stale(tmp_path: Path, isolated_data: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "a", "Peerstøtte", "Peerstøtte er støtte fra en ligestillet med egen erfaring.\n")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    query_time = settings.model_copy(update={"fusion": "rrf", "weight_dense": 1.0, "rerank_depth": 10,
                                             "abstain_threshold": 0.3, "gram_cover": 0.5})
    assert stale_reason(corpus, settings.index_dir, query_time) is None


def test_the_settings_page_is_current():
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_markdown()
    for name in Settings.model_fields:
        assert f"`PEERQA_{name.upper()}`" in settings_markdown()
