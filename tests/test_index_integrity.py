"""A damaged index is refused with one line naming what is wrong and how to rebuild, and a running
service keeps answering from the build it has when a newly published one is damaged.

Damage is done the way it happens: bytes flipped or cut off in a file, a manifest that is no
longer JSON, and (with the manifest's checksums brought up to date, so only the content checks
can notice) an edited passage text or a scrambled embedding vector.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import hashing_settings, write_doc
from fastapi.testclient import TestClient

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from indexer.store import FORMAT_VERSION, IndexDamaged, IndexNotFound, load_index
from retrieval.searcher import Searcher
from service.app import create_api

REBUILD = "python -m indexer build"
INDEX_FILES = ("documents.json", "passages.jsonl", "lexical.json", "dense.faiss", "stem_map.terms.json",
               "gram_map.indices.npy", "passage_words.data.npy", "heading_words.indptr.npy", "stems.df.npy",
               "unit_pieces.indices.npy", "unit_owners.npy", "unit_grams.lengths.npy", "pieces_by_row.data.npy")


@pytest.fixture
def settings(tmp_path: Path, isolated_data: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "wrap", "WRAP", "## Om WRAP\n\nWRAP er et peer-baseret gruppeforløb med fokus på recovery.\n")
    write_doc(corpus, "odense", "Peer to Peer Odense", "Peer to Peer Odense er båret af frivillige.\n")
    return hashing_settings(isolated_data, corpus)


def build(settings: Settings) -> dict:
    return build_index(settings.corpus_dir, settings.index_dir, settings, HashingEncoder(256), progress=False)


def build_folder(settings: Settings) -> Path:
    return settings.index_dir.resolve()


def refusal(path: Path, kind: type[Exception] = IndexDamaged) -> str:
    """The message ``load_index`` refuses the index at ``path`` with; it is one line."""
    with pytest.raises(kind) as error:
        load_index(path)
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


def rewrite(folder: Path, name: str, data: bytes) -> None:
    """Replace a file of a build and record its new size and checksum, as a careful forger would."""
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_the_manifest_records_every_file_and_a_good_index_loads(settings: Settings):
    manifest = build(settings)
    folder = build_folder(settings)
    listed = manifest["files"]
    assert set(listed) == {p.name for p in folder.iterdir()} - {"manifest.json"}
    assert set(INDEX_FILES) <= set(listed)
    for name, entry in listed.items():
        data = (folder / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["format_version"] == FORMAT_VERSION
    assert len(load_index(settings.index_dir).passages) == manifest["passages"]


def test_the_hashing_encoder_gives_unit_vectors_so_the_real_corpus_loads(corpus_searcher: Searcher):
    index = load_index(corpus_searcher.index_path)
    vectors = index.dense.index.reconstruct_n(0, index.dense.size)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_a_flipped_byte_in_any_file_is_refused_naming_the_file(settings: Settings, name: str):
    build(settings)
    file = build_folder(settings) / name
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x01
    file.write_bytes(bytes(data))
    message = refusal(settings.index_dir)
    assert name in message and "sha256" in message and REBUILD in message


def test_a_truncated_file_is_refused_naming_the_file(settings: Settings):
    build(settings)
    file = build_folder(settings) / "dense.faiss"
    size = file.stat().st_size
    file.write_bytes(file.read_bytes()[:size // 2])
    message = refusal(settings.index_dir)
    assert "dense.faiss" in message and f"has {size // 2} bytes" in message and REBUILD in message


def test_a_missing_file_is_refused_naming_it(settings: Settings):
    build(settings)
    (build_folder(settings) / "passages.jsonl").unlink()
    message = refusal(settings.index_dir)
    assert "lacks passages.jsonl" in message and REBUILD in message


def test_an_invalid_manifest_is_reported_as_damaged_not_missing(settings: Settings):
    build(settings)
    manifest = build_folder(settings) / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8")[:40], encoding="utf-8")
    message = refusal(settings.index_dir)
    assert "manifest" in message and "damaged" in message and "no index" not in message and REBUILD in message


def test_an_index_of_the_previous_format_must_be_rebuilt(settings: Settings):
    build(settings)
    path = build_folder(settings) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 3
    del manifest["files"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    message = refusal(settings.index_dir, IndexNotFound)
    assert "built by an older version: rebuild with `python -m indexer build" in message


def test_an_edited_passage_text_is_refused_naming_the_passage(settings: Settings):
    build(settings)
    folder = build_folder(settings)
    rows = [json.loads(line) for line in (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    victim = next(row for row in rows if "frivillige" in row["text"])
    victim["text"] = victim["text"].replace("frivillige", "betalte konsulenter")
    victim["end"] = victim["start"] + len(victim["text"])  # plausible offsets; the body says otherwise
    rewrite(folder, "passages.jsonl",
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8"))
    message = refusal(settings.index_dir)
    assert f"passage {victim['id']}" in message and "does not match its document" in message and REBUILD in message


@pytest.mark.parametrize("damage", ["scaled", "scrambled", "not a number"])
def test_a_damaged_vector_is_refused(settings: Settings, damage: str, tmp_path: Path):
    build(settings)
    folder = build_folder(settings)
    index = faiss.read_index(str(folder / "dense.faiss"))
    vectors = index.reconstruct_n(0, index.ntotal)
    if damage == "scaled":
        vectors[1] *= 37.0
    elif damage == "scrambled":
        vectors[1] = np.random.default_rng(0).normal(size=vectors.shape[1]) * 10
    else:
        vectors[1, 3] = np.nan
    damaged = faiss.IndexFlatIP(index.d)
    damaged.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(damaged, str(tmp_path / "dense.faiss"))
    rewrite(folder, "dense.faiss", (tmp_path / "dense.faiss").read_bytes())
    passage = load_passage_ids(folder)[1]
    message = refusal(settings.index_dir)
    assert "dense.faiss" in message and f"passage {passage}" in message and REBUILD in message


def load_passage_ids(folder: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()]


def test_an_unreadable_file_with_a_matching_checksum_is_one_line_not_a_traceback(settings: Settings):
    build(settings)
    rewrite(build_folder(settings), "passage_words.indices.npy", b"\x93NUMPY not an array at all")
    message = refusal(settings.index_dir)
    assert "cannot be read" in message and REBUILD in message


# --- a service when a broken build is published -----------------------------------------------------

def test_the_service_keeps_the_old_build_until_a_good_one_is_published(settings: Settings,
                                                                        caplog: pytest.LogCaptureFixture):
    settings = settings.model_copy(update={"reload_interval": 0})
    first = build(settings)
    app = create_api(settings, searcher_loader=lambda path: Searcher.open(settings, path, HashingEncoder(256)))
    caplog.set_level(logging.INFO, logger="service.state")
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        assert (health["status"], health["index_version"], health["degraded"]) == ("ok", first["build_id"], None)
        assert health["index_built_at"] == first["built_at"]

        broken = build(settings)  # published, then damaged before the service looks at it
        dense = build_folder(settings) / "dense.faiss"
        dense.write_bytes(dense.read_bytes()[:100])
        for _ in range(5):
            answer = client.get("/api/search", params={"q": "Hvem bærer Peer to Peer Odense?", "k": 1})
            assert answer.status_code == 200 and answer.json()["results"][0]["doc"]["id"] == "odense"
            health = client.get("/healthz").json()
            assert health["status"] == "ok" and health["index_version"] == first["build_id"]
        holder = app.state.searchers
        assert holder.failed_target == os.path.realpath(settings.index_dir)
        assert broken["build_id"] in health["degraded"] and "dense.faiss" in health["degraded"]
        warnings = [r for r in caplog.records if r.name == "service.state" and r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and warnings[0].exc_info is None
        line = warnings[0].getMessage()
        assert "\n" not in line
        assert line.startswith(f"could not load index build {broken['build_id']}: ")
        assert line.endswith(f"; still serving {first['build_id']}")

        caplog.clear()
        good = build(settings)
        health = client.get("/healthz").json()
        assert (health["index_version"], health["degraded"]) == (good["build_id"], None)
        assert holder.failed_target is None
        swaps = [r.getMessage() for r in caplog.records if r.name == "service.state"]
        assert len(swaps) == 1 and swaps[0].startswith(f"switched to index build {good['build_id']} (loaded in ")
