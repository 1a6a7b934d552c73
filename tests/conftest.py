"""Shared fixtures: a temporary data folder for every test, small indexes built with a
deterministic hashing encoder (fast), and the real model only for tests marked ``slow``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from retrieval.searcher import Searcher

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every test at its own writable data folder, so nothing touches ``var/``."""
    data = tmp_path / "var"
    data.mkdir()
    monkeypatch.setenv("PEERQA_DATA_DIR", str(data))
    monkeypatch.setenv("PEERQA_INDEX_DIR", str(data / "index"))
    monkeypatch.setenv("PEERQA_WATCH_INBOX", "false")  # a service a test starts never imports on its own
    return data


def write_doc(folder: Path, doc_id: str, title: str, body: str, **meta: str) -> Path:
    extra = "".join(f"{k}: {v}\n" for k, v in meta.items())
    path = folder / f"{doc_id}.md"
    path.write_text(f"---\nid: {doc_id}\ntitle: {title}\npublisher: Testforlaget\nlanguage: da\n{extra}---\n\n{body}",
                    encoding="utf-8")
    return path


def hashing_settings(data: Path, corpus: Path = CORPUS, **overrides) -> Settings:
    """Settings for the hashing encoder: a bag of words, so its dense side gets the small weight
    suited to a weak model (the default weight is tuned for multilingual-e5-small)."""
    overrides = {"weight_dense": 0.25, "allowed_hosts": ["127.0.0.1", "localhost", "::1", "testserver"],
                 **overrides}
    return Settings(corpus_dir=corpus, index_dir=data / "index", data_dir=data, model="hashing:256",
                    synonyms_file=corpus / "synonyms.txt", **overrides)


@pytest.fixture
def corpus_settings(isolated_data: Path) -> Settings:
    """Settings for the real corpus with the fast hashing encoder."""
    return hashing_settings(isolated_data)


@pytest.fixture
def corpus_searcher(corpus_settings: Settings) -> Searcher:
    """The real corpus indexed with the hashing encoder (about a second)."""
    encoder = HashingEncoder(256)
    build_index(corpus_settings.corpus_dir, corpus_settings.index_dir, corpus_settings, encoder, progress=False)
    return Searcher.open(corpus_settings, encoder=encoder)


@pytest.fixture
def client(corpus_settings: Settings, corpus_searcher: Searcher):
    """A TestClient for the whole app (API and pages) on the real corpus, hashing encoder."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    app = create_app(corpus_settings, searcher_loader=lambda path: corpus_searcher)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def real_encoder():
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from indexer.encoder import load_encoder
    from indexer.settings import BUNDLED_MODEL

    return load_encoder(BUNDLED_MODEL)
