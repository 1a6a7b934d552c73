"""A new user's first own documents, in a real browser: a PDF and a Word file added with
``python -m indexer add`` while the service runs are answered seconds after the build, and the
answer from the PDF is cited with its page."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from office_fixtures import write_docx
from pdf_fixtures import write_pdf
from playwright.sync_api import expect
from service_process import ThreadedServer

from indexer.cli import main as indexer_main
from indexer.settings import Settings
from retrieval.searcher import Searcher

from .conftest import DESKTOP, SCREENSHOTS, TIMEOUT_MS

pytestmark = pytest.mark.browser

FILLER = ("Peerstøtte bygger på erfaringer med egen psykisk sårbarhed, som bruges til at støtte andre i "
          "deres recovery. ")
QUESTION = "Hvornår mødes kaffeklubben i Vejle?"


@pytest.fixture
def settings(tmp_path: Path, isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "synonyms.txt").write_text("", encoding="utf-8")
    (corpus / "om.md").write_text("---\nid: om\ntitle: Om peerstøtte\npublisher: Testforlaget\n---\n\n"
                                  f"# Om peerstøtte\n\n{FILLER * 3}\n", encoding="utf-8")
    values = {"CORPUS_DIR": corpus, "INDEX_DIR": isolated_data / "index", "MODEL": "hashing:256",
              "SYNONYMS_FILE": corpus / "synonyms.txt", "WEIGHT_DENSE": 0.25, "OCR": "false",
              "RELOAD_INTERVAL": 0.2}
    for name, value in values.items():
        monkeypatch.setenv(f"PEERQA_{name}", str(value))
    return Settings()


def test_a_pdf_added_while_the_service_runs_is_cited_with_its_page(settings: Settings, tmp_path: Path, browser):
    from web.app import create_app

    assert indexer_main(["build", "--quiet"]) == 0
    with ThreadedServer(create_app(settings, searcher_loader=lambda path: Searcher.open(settings, path))) as server:
        before = httpx.get(f"{server.url}/healthz").json()["index_version"]
        pdf = tmp_path / "Lokale tilbud 2025.pdf"
        write_pdf(pdf, [("h1", "Lokale tilbud om peerstøtte"), ("p", FILLER * 4), ("pagebreak",),
                        ("h2", "Kaffeklubben"),
                        ("p", "Kaffeklubben for peers i Vejle mødes hver tirsdag klokken ti i medborgerhuset. "
                              + FILLER)],
                  title="Lokale tilbud om peerstøtte", author="Peer-netværket Danmark")
        docx = write_docx(tmp_path / "vandring.docx", [("h1", "Vandregrupper"), ("p", FILLER)])
        assert indexer_main(["add", str(pdf), str(docx), "--quiet"]) == 0
        built = time.monotonic()
        while httpx.get(f"{server.url}/healthz").json()["index_version"] == before:
            assert time.monotonic() - built < 10, "the service did not switch to the new build within 10 s"
            time.sleep(0.1)
        switched = time.monotonic() - built

        context = browser.new_context(viewport=DESKTOP, base_url=server.url, locale="da-DK")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            page.goto("/")
            page.fill("#q", QUESTION)
            page.press("#q", "Enter")
            card = page.locator("#t0-r1")
            expect(card).to_be_visible()
            expect(card.locator(".card-title")).to_contain_text("Lokale tilbud om peerstøtte")
            expect(card.locator(".pages")).to_have_text("side 2")
            expect(card.locator(".original-link")).to_have_attribute(
                "href", "/api/documents/lokale-tilbud-2025/original#page=2")
            assert "Side 2." in card.get_attribute("data-citation")

            card.locator(".doc-link").click()
            expect(page.locator(".cited-pages")).to_have_text("side 2")
            expect(page.locator("#side-2")).to_be_visible()
            expect(page.locator("#cited mark.answer")).to_contain_text("Vejle")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "imported-pdf-document-view.png"), full_page=True)
        finally:
            context.close()
    print(f"\nthe service answered from the new build {switched:.2f} s after the build finished")

