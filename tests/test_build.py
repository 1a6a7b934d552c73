"""Index build, reload, staleness and the atomic switch."""

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import hashing_settings, write_doc

from indexer.build import build_index, embed_passages, stale_reason
from indexer.documents import CorpusError
from indexer.encoder import HashingEncoder
from indexer.store import load_index, read_manifest
from retrieval.searcher import Searcher


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "wrap", "WRAP", "## Om WRAP\n\nWRAP er et peer-baseret gruppeforløb med fokus på recovery.\n")
    write_doc(corpus, "odense", "Peer to Peer Odense", "Peer to Peer Odense er båret af frivillige.\n")
    return corpus


def test_build_and_reload_round_trip(small_corpus: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus)
    manifest = build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    index = load_index(settings.index_dir)
    assert manifest["passages"] == len(index.passages) == index.dense.size == index.lexical.size == 2
    assert {"format_version", "model", "dimension", "corpus_fingerprint", "settings", "built_at"} <= set(manifest)
    assert manifest["model"] == "hashing:256" and manifest["dimension"] == 256
    searcher = Searcher.open(settings, encoder=HashingEncoder(256))
    hit = searcher.search("Hvem bærer Peer to Peer Odense?", 1).hits[0]
    assert hit.document.id == "odense"
    assert hit.passage.text == index.documents["odense"].body[hit.passage.start:hit.passage.end]


def test_staleness_follows_corpus_and_settings(small_corpus: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus)
    assert stale_reason(small_corpus, settings.index_dir, settings) == f"no index at {settings.index_dir}"
    build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    assert stale_reason(small_corpus, settings.index_dir, settings) is None
    write_doc(small_corpus, "ny", "Ny", "Et nyt dokument om peerstøtte.\n")
    assert stale_reason(small_corpus, settings.index_dir, settings) == "corpus changed"
    other = settings.model_copy(update={"passage_max_words": 120})
    build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    assert stale_reason(small_corpus, settings.index_dir, other) == "index settings changed: passage_max_words (200 → 120)"


def test_failed_build_leaves_previous_index_untouched(small_corpus: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus)
    first = build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    target_before = os.path.realpath(settings.index_dir)

    (small_corpus / "broken.md").write_text("ingen front matter", encoding="utf-8")
    with pytest.raises(CorpusError):
        build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    (small_corpus / "broken.md").unlink()

    from indexer.build import build_from_passages  # a crash late in the build, after files were written
    from indexer.documents import load_corpus
    from indexer.passages import split_passages

    docs = load_corpus(small_corpus)
    passages = [p for d in docs for p in split_passages(d)]

    def crash(staging: Path) -> None:
        assert (staging / "manifest.json").exists()
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        build_from_passages(docs, passages, settings.index_dir, settings, "x", HashingEncoder(256),
                            progress=False, before_publish=crash)
    assert os.path.realpath(settings.index_dir) == target_before
    assert read_manifest(settings.index_dir)["build_id"] == first["build_id"]
    assert len(load_index(settings.index_dir).passages) == 2
    builds = Path(str(settings.index_dir.parent / f".{settings.index_dir.name}.builds"))
    assert not list(builds.glob("staging-*")), "the failed build's staging folder was not cleaned up"


def test_rebuild_switches_link_and_keeps_one_previous_build(small_corpus: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus)
    ids = [build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)["build_id"]
           for _ in range(3)]
    assert read_manifest(settings.index_dir)["build_id"] == ids[-1]
    builds = settings.index_dir.parent / f".{settings.index_dir.name}.builds"
    assert sorted(p.name for p in builds.iterdir()) == sorted(ids[-2:])


def test_missing_index_says_how_to_build(isolated_data: Path):
    from indexer.store import IndexNotFound

    with pytest.raises(IndexNotFound, match="python -m indexer build"):
        load_index(isolated_data / "nowhere")


def test_the_build_shows_progress_over_passages(corpus_settings, capsys: pytest.CaptureFixture[str]):
    manifest = build_index(corpus_settings.corpus_dir, corpus_settings.index_dir, corpus_settings,
                           HashingEncoder(256), progress=True)
    shown = capsys.readouterr().err
    total = manifest["passages"]
    for stage in ("analysing passages", "embedding passages"):
        assert f"{stage}: 100%" in shown and f"{total}/{total}" in shown, stage
    assert "passage/s" in shown  # a rate, so the time left can be judged


def test_passages_embedded_in_chunks_keep_their_order():
    texts = [f"tekst nummer {i} " + "ord " * (i % 7) for i in range(150)]
    encoder = HashingEncoder(64)
    chunked, embedded = embed_passages(encoder, texts, batch_size=8, progress=False)
    assert embedded == 150
    assert chunked.shape == (150, 64)
    assert (chunked == encoder.encode_passages(texts)).all()


class CountingHashingEncoder(HashingEncoder):
    """The hashing encoder, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(256)
        self.embedded: list[str] = []

    def encode_passages(self, texts, progress: bool = False):
        self.embedded.extend(texts)
        return super().encode_passages(texts, progress)


def test_a_rebuild_embeds_only_new_or_changed_passages(small_corpus: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus)
    first = CountingHashingEncoder()
    manifest = build_index(small_corpus, settings.index_dir, settings, first, progress=False)
    assert len(first.embedded) == manifest["passages"]
    write_doc(small_corpus, "ny", "Ny", "Et helt nyt dokument om frivillige peers i kommunen.\n")
    second = CountingHashingEncoder()
    build_index(small_corpus, settings.index_dir, settings, second, progress=False)
    assert second.embedded == ["Et helt nyt dokument om frivillige peers i kommunen."]
    searcher = Searcher.open(settings, encoder=HashingEncoder(256))
    fresh = HashingEncoder(256).encode_passages([p.text for p in searcher.passages()])
    stored = load_index(settings.index_dir).dense
    assert np.allclose(stored.scores_for(fresh[0], np.arange(len(fresh))), fresh @ fresh[0])


def test_without_the_cache_every_passage_is_embedded(small_corpus: Path, isolated_data: Path):
    settings = hashing_settings(isolated_data, small_corpus, embedding_cache=False)
    build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    again = CountingHashingEncoder()
    manifest = build_index(small_corpus, settings.index_dir, settings, again, progress=False)
    assert len(again.embedded) == manifest["passages"]
    assert not (isolated_data / "embeddings.sqlite3").exists()


def test_status_says_which_files_changed_and_what_a_rebuild_would_embed(small_corpus: Path, isolated_data: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]):
    from indexer.cli import main

    settings = hashing_settings(isolated_data, small_corpus)
    manifest = build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    assert manifest["embedded_passages"] == manifest["passages"] and set(manifest["corpus_files"]) == {
        "wrap.md", "odense.md"}
    write_doc(small_corpus, "ny", "Ny", "Et helt nyt dokument om frivillige peers i kommunen.\n")
    write_doc(small_corpus, "wrap", "WRAP", "## Om WRAP\n\nWRAP er et gruppeforløb med fokus på trivsel.\n")
    (small_corpus / "odense.md").unlink()
    for name, value in (("CORPUS_DIR", small_corpus), ("MODEL", "hashing:256")):
        monkeypatch.setenv(f"PEERQA_{name}", str(value))
    assert main(["status"]) == 0
    shown = capsys.readouterr().out
    assert "stale: corpus changed" in shown
    assert "added: ny.md" in shown and "changed: wrap.md" in shown and "removed: odense.md" in shown
    assert "a rebuild would index 2 passages; 2 to embed, 0 from the embedding cache" in shown
    rebuilt = build_index(small_corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    assert rebuilt["embedded_passages"] == 2
    assert {p.doc_id for p in load_index(settings.index_dir).passages} == {"ny", "wrap"}  # odense is gone
    assert main(["status"]) == 0
    shown = capsys.readouterr().out
    assert "no corpus file added, changed or removed" in shown and "0 to embed, 2 from the embedding cache" in shown
