"""Bringing your own documents: files put in the inbox (or given to ``python -m indexer add``)
become cited, paged search results; changed and removed files are followed; bad files are
skipped with a reason and never cost the served index.

Fixtures are generated here (``pdf_fixtures``, ``office_fixtures``); builds use the hashing
encoder, so each test takes seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, hashing_settings, write_doc
from fastapi.testclient import TestClient
from office_fixtures import write_docx
from pdf_fixtures import write_corrupt_pdf, write_encrypted_pdf, write_pdf, write_scanned_pdf

from indexer.cli import main as indexer_main
from indexer.inbox import import_inbox, load_records
from indexer.settings import Settings
from indexer.store import load_manifest
from retrieval.searcher import Searcher
from web.app import create_app

FILLER = ("Peerstøtte bygger på erfaringer med egen psykisk sårbarhed, som bruges til at støtte andre i "
          "deres recovery. ")
KAFFE = "Kaffeklubben for peers i Vejle mødes hver tirsdag klokken ti i medborgerhuset."
VANDRING = "Vandregruppen i Aalborg går ture langs fjorden hver søndag med frivillige peermedarbejdere."


@pytest.fixture
def settings(tmp_path: Path, isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A corpus with one hand-written document and an empty inbox; the ``PEERQA_`` environment
    says the same, so the command line sees these settings too."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "synonyms.txt").write_text("", encoding="utf-8")
    write_doc(corpus, "haandskrevet", "Om peerstøtte", "# Om peerstøtte\n\n" + FILLER * 3)
    settings = hashing_settings(isolated_data, corpus, ocr=False)
    for name, value in {"CORPUS_DIR": corpus, "MODEL": "hashing:256", "SYNONYMS_FILE": corpus / "synonyms.txt",
                        "WEIGHT_DENSE": 0.25, "OCR": "false", "INDEX_DIR": settings.index_dir}.items():
        monkeypatch.setenv(f"PEERQA_{name}", str(value))
    return settings


def three_page_pdf(path: Path) -> Path:
    """A report whose page 2 holds the Vejle sentence."""
    write_pdf(path, [
        ("h1", "Lokale tilbud om peerstøtte"), ("p", FILLER * 4), ("pagebreak",),
        ("h2", "Kaffeklubben"), ("p", KAFFE + " " + FILLER * 2), ("pagebreak",),
        ("h2", "Andre tilbud"), ("p", FILLER * 3),
    ], title="Lokale tilbud om peerstøtte", author="Peer-netværket Danmark")
    return path


def searcher(settings: Settings) -> Searcher:
    return Searcher.open(settings)


def test_a_pdf_and_a_word_file_added_answer_with_their_page_and_their_original(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    pdf = three_page_pdf(tmp_path / "Lokale tilbud.pdf")
    docx = write_docx(tmp_path / "vandring.docx", [("h1", "Vandregrupper"), ("p", VANDRING + " " + FILLER)],
                      title="Vandregrupper i Nordjylland")

    assert indexer_main(["add", str(pdf), str(docx), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Lokale tilbud.pdf → lokale-tilbud, 3 pages" in printed and "vandring.docx → vandring" in printed

    found = searcher(settings).search("Hvornår mødes kaffeklubben i Vejle?", 3)
    top = found.hits[0]
    assert (top.document.id, top.passage.page_start, top.passage.page_end) == ("lokale-tilbud", 2, 2)
    assert top.document.title == "Lokale tilbud om peerstøtte"
    assert top.document.publisher == "Peer-netværket Danmark"

    app = create_app(settings, searcher_loader=lambda path: Searcher.open(settings, path))
    with TestClient(app) as client:
        hits = client.get("/api/search", params={"q": "Hvornår mødes kaffeklubben i Vejle?", "k": 3}).json()["results"]
        assert (hits[0]["page_start"], hits[0]["page_end"]) == (2, 2)
        walk = client.get("/api/search", params={"q": "vandregruppen fjorden søndag", "k": 1}).json()["results"][0]
        assert walk["doc"]["id"] == "vandring" and "page_start" not in walk  # no pages in a Word file

        chat = client.get("/", params={"q": "Hvornår mødes kaffeklubben i Vejle?"}).text
        assert "side 2" in chat and "/api/documents/lokale-tilbud/original#page=2" in chat

        document = client.get("/api/documents/lokale-tilbud").json()
        assert document["pages"] == 3 and document["original_url"] == "/api/documents/lokale-tilbud/original"
        original = client.get(document["original_url"])
        assert original.status_code == 200 and original.headers["content-type"] == "application/pdf"
        assert original.content == pdf.read_bytes()
        assert "Lokale%20tilbud.pdf" in original.headers["content-disposition"]  # RFC 5987

        view = client.get("/documents/lokale-tilbud", params={"passage": hits[0]["passage_id"]}).text
        assert 'id="side-2"' in view and "Citeret side" in view and "side 2" in view

        no_original = client.get("/api/documents/haandskrevet/original")
        assert no_original.status_code == 404 and "no original" in no_original.json()["detail"]
        assert "pages" not in client.get("/api/documents/haandskrevet").json()


def test_only_the_changed_file_is_read_again_and_a_removed_file_leaves_the_index(settings: Settings, tmp_path: Path):
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    three_page_pdf(inbox / "tilbud.pdf")
    write_docx(inbox / "vandring.docx", [("h1", "Vandregrupper"), ("p", VANDRING)])
    assert indexer_main(["import", "--quiet"]) == 0

    write_docx(inbox / "vandring.docx", [("h1", "Vandregrupper"), ("p", VANDRING.replace("søndag", "lørdag"))])
    report = import_inbox(settings)
    assert [r.name for r in report.read] == ["vandring.docx"] and [r.name for r in report.unchanged] == ["tilbud.pdf"]
    assert indexer_main(["import", "--quiet"]) == 0
    manifest = load_manifest(settings.index_dir)
    assert manifest["embedded_passages"] <= 2  # the changed document's passages, not the whole corpus

    (inbox / "tilbud.pdf").unlink()
    assert indexer_main(["import", "--quiet"]) == 0
    served = searcher(settings)
    assert served.document("tilbud") is None
    assert not list((settings.corpus_dir / "imported").glob("tilbud.*"))
    assert "lørdag" in served.document("vandring").body


def test_bad_files_are_skipped_with_their_reason_and_the_served_index_keeps_answering(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    three_page_pdf(inbox / "tilbud.pdf")
    assert indexer_main(["import", "--quiet"]) == 0
    before = load_manifest(settings.index_dir)["build_id"]
    capsys.readouterr()

    write_encrypted_pdf(inbox / "hemmelig.pdf")
    write_corrupt_pdf(inbox / "ødelagt.pdf")
    write_scanned_pdf(inbox / "scannet.pdf", ["Peerstøtte i fællesskab", "Scannet side uden tekstlag"])
    (inbox / "tom.txt").write_bytes(b"")
    (inbox / "kopi af tilbud.pdf").write_bytes((inbox / "tilbud.pdf").read_bytes())
    (inbox / "regneark.xlsx").write_bytes(b"PK\x03\x04 not a document")
    (inbox / "stor.txt").write_text("Peerstøtte. " * 200_000, encoding="utf-8")  # 2.4 MB
    monkeypatch.setenv("PEERQA_MAX_FILE_MB", "1")

    assert indexer_main(["import", "--quiet"]) == 0
    printed = capsys.readouterr().out
    expected = {"hemmelig.pdf": "encrypted", "ødelagt.pdf": "corrupt", "scannet.pdf": "no_text", "tom.txt": "empty",
                "kopi af tilbud.pdf": "duplicate", "regneark.xlsx": "unsupported", "stor.txt": "too_large"}
    for name, kind in expected.items():
        assert f"{name}: skipped ({kind}):" in printed
    assert "password" in printed and "tesseract" in printed and "PEERQA_MAX_FILE_MB" in printed
    assert "the same content as tilbud.pdf" in printed
    records = load_records(settings)
    assert {n: r.kind for n, r in records.items() if not r.imported} == expected

    # nothing good changed, so the served build is the same one, and it still answers
    assert load_manifest(settings.index_dir)["build_id"] == before
    assert searcher(settings).search("Hvornår mødes kaffeklubben i Vejle?", 1).hits[0].document.id == "tilbud"

    assert indexer_main(["status"]) == 0
    status = capsys.readouterr().out
    assert "1 file(s) imported, 7 skipped" in status
    for name, kind in expected.items():
        assert f"{name}: skipped ({kind}):" in status


def test_a_duplicate_is_imported_once_its_twin_is_removed(settings: Settings):
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    three_page_pdf(inbox / "a.pdf")
    (inbox / "b.pdf").write_bytes((inbox / "a.pdf").read_bytes())
    import_inbox(settings)
    (inbox / "a.pdf").unlink()
    report = import_inbox(settings)
    assert [r.doc_id for r in report.read if r.imported] == ["b"] and report.removed == ["a"]


def test_a_hand_edited_import_keeps_its_text_but_drops_the_page_map_that_no_longer_fits(settings: Settings):
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    three_page_pdf(inbox / "tilbud.pdf")
    import_inbox(settings)
    markdown = settings.corpus_dir / "imported" / "tilbud.md"
    markdown.write_text(markdown.read_text(encoding="utf-8") + "\nEt afsnit tilføjet i hånden.\n", encoding="utf-8")
    assert indexer_main(["build", "--quiet"]) == 0
    served = searcher(settings)
    assert "tilføjet i hånden" in served.document("tilbud").body
    assert served.document("tilbud").pages == 0
    assert all(p.page_start is None for p in served.passages_of("tilbud"))


def test_the_watcher_imports_a_dropped_file_and_builds(settings: Settings, tmp_path: Path):
    assert indexer_main(["build", "--quiet"]) == 0
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    watcher = subprocess.Popen([sys.executable, "-m", "indexer", "watch", "--interval", "0.2", "--quiet"],
                               cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        three_page_pdf(tmp_path / "tilbud.pdf").rename(inbox / "tilbud.pdf")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if "tilbud" in json.dumps(load_manifest(settings.index_dir).get("corpus_files", {})):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the watcher did not import the dropped file within 90 s")
    finally:
        watcher.terminate()
        output = watcher.communicate(timeout=30)[0]
    assert "tilbud.pdf → tilbud, 3 pages" in output
    assert searcher(settings).search("Hvornår mødes kaffeklubben i Vejle?", 1).hits[0].passage.page_start == 2
