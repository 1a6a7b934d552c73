"""The PDF reader, on small PDFs drawn for each test: what a user would notice in the imported
document (text, structure, reading order, pages, metadata) and why a file is refused."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pdf_fixtures import (
    BODY_SIZE,
    markdown_blocks,
    markdown_to_pdf,
    write_corrupt_pdf,
    write_empty_pdf,
    write_encrypted_pdf,
    write_mixed_pdf,
    write_owner_only_encrypted_pdf,
    write_pdf,
    write_scanned_pdf,
    write_two_column_pdf,
)

from indexer.markdown import read_blocks
from indexer.sources import ocr, pdf
from indexer.sources.extracted import ExtractedDocument, ExtractionError
from indexer.sources.ocr import OcrFailed, ocr_available
from indexer.sources.pdf import read_pdf

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "inspirationsguide-peer-stoette.md"
SCANNED_LINES = ["Peerstøtte giver håb og fællesskab.", "", "Mødet blev holdt i Århus med ærlige svar."]
needs_ocr = pytest.mark.skipif(not ocr_available("dan"), reason="tesseract with the Danish language is not installed")


def fold(text: str) -> str:
    return " ".join(text.split())


def headings(doc: ExtractedDocument) -> list[tuple[int, str]]:
    return [(block.level, doc.body[slice(*block.ranges[0])]) for block in read_blocks(doc.body)
            if block.kind == "heading"]


def paragraphs(doc: ExtractedDocument) -> list[str]:
    return [doc.body[slice(*block.ranges[0])] for block in read_blocks(doc.body) if block.kind == "paragraph"]


def items(doc: ExtractedDocument) -> list[str]:
    return [doc.body[start:end] for block in read_blocks(doc.body) if block.kind == "list"
            for start, end in block.ranges]


def rejected(path: Path, **options) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        read_pdf(path, **options)
    assert caught.value.reason.endswith(".") or caught.value.reason
    return caught.value


# --- text and structure --------------------------------------------------------------------------

def test_danish_characters_come_through_intact(tmp_path: Path):
    text = "Æbleøen Ærø og Østjylland: små både på åen, blå bølger og grønne ænder."
    doc = read_pdf(write_pdf(tmp_path / "da.pdf", [("h1", "Får og ænder på Ærø"), ("p", text)]))
    assert text in doc.body
    assert "Får og ænder på Ærø" in doc.body
    assert "(cid:" not in doc.body and "\ufffd" not in doc.body


def test_font_sizes_become_heading_levels(tmp_path: Path):
    blocks = [("h1", "Peerstøtte"), ("p", "Indledning til emnet."), ("h2", "Baggrund"), ("p", "Om baggrunden."),
              ("h3", "Forskning"), ("p", "Om forskningen."), ("h2", "Erfaringer"), ("p", "Om erfaringerne.")]
    for outline in (True, False):
        doc = read_pdf(write_pdf(tmp_path / f"levels-{outline}.pdf", blocks, outline=outline))
        assert headings(doc) == [(1, "Peerstøtte"), (2, "Baggrund"), (3, "Forskning"), (2, "Erfaringer")]
        assert paragraphs(doc) == ["Indledning til emnet.", "Om baggrunden.", "Om forskningen.", "Om erfaringerne."]


def test_a_heading_over_two_lines_is_one_heading(tmp_path: Path):
    long_heading = "En inspirationsguide til udvikling og implementering af peer-støtte i kommunerne"
    text = "Guiden samler erfaringer fra seks modeller for peerstøtte i regioner og kommuner."
    doc = read_pdf(write_pdf(tmp_path / "long.pdf", [("h1", long_heading), ("p", text), ("p", text)]))
    assert headings(doc) == [(1, long_heading)]


def test_two_columns_are_read_column_by_column(tmp_path: Path):
    left = [f"Venstre spalte afsnit {n}: peerstøttegivere deler erfaringer med deltagerne i gruppen, "
            f"og de ansatte lærer af det." for n in range(1, 5)]
    right = [f"Højre spalte afsnit {n}: ledelsen skal forberede organisationen og kulturen grundigt, "
             f"før de første ansættelser." for n in range(1, 5)]
    doc = read_pdf(write_two_column_pdf(tmp_path / "columns.pdf", left, right, heading="To spalter"))
    assert headings(doc) == [(1, "To spalter")]
    assert paragraphs(doc) == left + right  # every paragraph whole, all of the left before the right


def test_table_rows_become_header_value_items(tmp_path: Path):
    rows = [["Model", "Sted", "Antal peers"], ["Recovery-mentor", "Sengeafsnit", "4"],
            ["Peer-partner", "Botilbud", "6"]]
    doc = read_pdf(write_pdf(tmp_path / "table.pdf", [("p", "Modellerne i afprøvningen:"), ("table", rows),
                                                      ("p", "Efter tabellen.")]))
    assert items(doc) == ["Model: Recovery-mentor; Sted: Sengeafsnit; Antal peers: 4",
                          "Model: Peer-partner; Sted: Botilbud; Antal peers: 6"]
    assert paragraphs(doc) == ["Modellerne i afprøvningen:", "Efter tabellen."]  # no table words in the text


def test_an_outline_entry_makes_a_body_size_line_a_heading(tmp_path: Path):
    blocks = [("h1", "Rapport"), ("p", "Indledning til rapporten om peerstøtte. " * 6),
              ("h2", "Erfaringer fra forsøget"), ("p", "Peerstøttegivere deler deres erfaringer. " * 6),
              ("p", "Erfaringer fra forsøget")]  # the same words again, as a plain line: no heading
    with_outline = read_pdf(write_pdf(tmp_path / "outline.pdf", blocks, heading_sizes={"h2": BODY_SIZE}))
    assert headings(with_outline) == [(1, "Rapport"), (2, "Erfaringer fra forsøget")]
    assert paragraphs(with_outline)[-1] == "Erfaringer fra forsøget"
    without = read_pdf(write_pdf(tmp_path / "plain.pdf", blocks, heading_sizes={"h2": BODY_SIZE}, outline=False))
    assert headings(without) == [(1, "Rapport")]


def test_bullets_and_numbers_become_list_items(tmp_path: Path):
    first = ("Forbered personalet grundigt, så alle kender peerstøttegivernes rolle og ved, hvem de kan spørge "
             "til råds, når der opstår tvivl i hverdagen.")
    doc = read_pdf(write_pdf(tmp_path / "list.pdf", [
        ("p", "Gode råd:"), ("li", first), ("li", "Sørg for supervision."),
        ("p", "Trinene:"), ("p", "1. Afklar rollen."), ("p", "2. Ansæt peers."),
        ("p", "Peerstøtte gavner borgerne\n– og også de ansatte."),
    ]))
    assert items(doc) == [first, "Sørg for supervision.", "1. Afklar rollen.", "2. Ansæt peers."]
    assert paragraphs(doc) == ["Gode råd:", "Trinene:", "Peerstøtte gavner borgerne – og også de ansatte."]


def test_running_header_footer_and_page_numbers_are_removed(tmp_path: Path):
    blocks = [("h1", "Rapport"), ("p", "Første side handler om peerstøtte."), ("pagebreak",),
              ("p", "Anden side handler om recovery."), ("pagebreak",), ("p", "Tredje side handler om fællesskab."),
              ("pagebreak",), ("p", "Fjerde side handler om ansættelse.")]
    doc = read_pdf(write_pdf(tmp_path / "running.pdf", blocks, running_header="Socialstyrelsen · Peerstøtte 2016"))
    assert "Socialstyrelsen" not in doc.body
    assert not re.search(r"\bSide \d", doc.body)
    assert paragraphs(doc) == ["Første side handler om peerstøtte.", "Anden side handler om recovery.",
                               "Tredje side handler om fællesskab.", "Fjerde side handler om ansættelse."]


def test_a_paragraph_cut_by_a_page_break_stays_one_paragraph(tmp_path: Path):
    phrases = ["peerstøttegivere deler egne erfaringer", "de ansatte lærer nye måder at arbejde på",
               "borgerne oplever håb og fællesskab", "ledelsen følger op på samarbejdet",
               "kulturen ændrer sig langsomt men sikkert"]
    long_text = "Det viser sig at " + ", og ".join(phrases[i % len(phrases)] for i in range(200)) + "."
    doc = read_pdf(write_pdf(tmp_path / "long.pdf", [("h1", "Et langt afsnit"), ("p", long_text),
                                                     ("p", "Et nyt afsnit.")]))
    assert len(doc.page_starts) >= 2
    assert paragraphs(doc) == [long_text, "Et nyt afsnit."]
    start = doc.body.index(long_text)
    assert start < doc.page_starts[1] < start + len(long_text)


def test_page_starts_have_one_entry_per_page(tmp_path: Path):
    blocks = [("h1", "Sider"), ("p", "Sætning på side et."), ("pagebreak",), ("p", "Sætning på side to."),
              ("pagebreak",), ("p", "Sætning på side tre."), ("pagebreak",), ("pagebreak",),
              ("p", "Sætning på side fem.")]  # page 4 is blank
    doc = read_pdf(write_pdf(tmp_path / "pages.pdf", blocks))
    assert len(doc.page_starts) == 5 and doc.page_starts[0] == 0
    assert list(doc.page_starts) == sorted(doc.page_starts)
    at = doc.body.index("Sætning på side tre.")
    assert doc.page_starts[2] <= at < doc.page_starts[3]
    assert doc.page_starts[3] == doc.page_starts[4] <= doc.body.index("Sætning på side fem.")


def test_metadata_title_author_dates_and_language(tmp_path: Path):
    path = write_pdf(tmp_path / "meta.pdf", [("h1", "Overskriften"), ("p", "Tekst.")], title="Peer-støtte i praksis",
                     author="Socialstyrelsen", created=dt.date(2016, 5, 17), lang="da-DK")
    doc = read_pdf(path)
    assert (doc.title, doc.author, doc.published, doc.modified, doc.language) == (
        "Peer-støtte i praksis", "Socialstyrelsen", "2016-05-17", "2016-05-17", "da")


def test_a_meaningless_title_gives_way_to_the_first_heading(tmp_path: Path):
    for title in ("Microsoft Word - rapport.docx", "rapport_endelig.pdf", "untitled", None):
        doc = read_pdf(write_pdf(tmp_path / "t.pdf", [("h1", "Den rigtige titel"), ("p", "Tekst.")], title=title))
        assert doc.title == "Den rigtige titel", title


def test_line_end_hyphens_are_joined(tmp_path: Path):
    doc = read_pdf(write_pdf(tmp_path / "hyphen.pdf", [
        ("p", ("Et godt sam-\narbejde kræver tid, og peer-støtte kræver peer-\nstøtte i hele organisationen; "
              "både børne-\nog ungeområdet er med.")),
    ]))
    assert paragraphs(doc) == [("Et godt samarbejde kræver tid, og peer-støtte kræver peer-støtte i hele "
                               "organisationen; både børne- og ungeområdet er med.")]


# --- files that cannot be read as they are --------------------------------------------------------

def test_a_password_protected_pdf_is_refused_as_encrypted(tmp_path: Path):
    error = rejected(write_encrypted_pdf(tmp_path / "secret.pdf"))
    assert error.kind == "encrypted"
    assert "secret.pdf is password-protected" in error.reason and "without a password" in error.reason


def test_a_pdf_with_only_an_owner_password_is_read(tmp_path: Path):
    doc = read_pdf(write_owner_only_encrypted_pdf(tmp_path / "owner.pdf"))
    assert "Mødet blev holdt i Århus med ærlige svar." in doc.body


@pytest.mark.parametrize("truncated", [False, True])
def test_a_damaged_file_is_refused_as_corrupt(tmp_path: Path, truncated: bool):
    assert rejected(write_corrupt_pdf(tmp_path / "broken.pdf", truncated=truncated)).kind == "corrupt"
    (tmp_path / "notes.pdf").write_text("Dette er en tekstfil med et forkert navn.", encoding="utf-8")
    assert rejected(tmp_path / "notes.pdf").kind == "corrupt"


def test_a_blank_pdf_is_refused_as_empty(tmp_path: Path):
    assert rejected(write_empty_pdf(tmp_path / "blank.pdf")).kind == "empty"


def test_too_many_pages_is_refused_as_too_large(tmp_path: Path):
    path = write_pdf(tmp_path / "pages.pdf", [("p", "Et."), ("pagebreak",), ("p", "To."), ("pagebreak",), ("p", "Tre.")])
    error = rejected(path, max_pages=2)
    assert error.kind == "too_large" and "3 pages" in error.reason
    assert len(read_pdf(path, max_pages=3).page_starts) == 3


# --- scans ---------------------------------------------------------------------------------------

@needs_ocr
def test_a_scanned_page_is_read_by_ocr(tmp_path: Path):
    doc = read_pdf(write_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES), ocr_languages="dan")
    for word in ("Peerstøtte", "fællesskab", "Århus"):
        assert word in doc.body
    assert doc.warnings == ("page 1 was read by OCR",)
    assert len(doc.page_starts) == 1


def test_a_scan_without_ocr_is_refused_as_no_text(tmp_path: Path):
    error = rejected(write_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES), ocr_languages=None)
    assert error.kind == "no_text"
    assert "OCR is turned off" in error.reason and "tesseract-ocr-dan" in error.reason


def test_a_scanned_page_without_ocr_is_skipped_with_a_warning(tmp_path: Path):
    path = write_mixed_pdf(tmp_path / "mixed.pdf", ["Første side har en rigtig tekst om peerstøtte."],
                           SCANNED_LINES)
    doc = read_pdf(path, ocr_languages=None)
    assert paragraphs(doc) == ["Første side har en rigtig tekst om peerstøtte."]
    assert len(doc.page_starts) == 2
    assert doc.warnings == (("page 2 has no text layer (a scan?) and was skipped; turn on OCR (with tesseract-ocr "
                            "and tesseract-ocr-dan installed) to read it"),)


def test_without_tesseract_a_scanned_page_is_skipped_with_install_advice(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    assert not ocr_available("dan+eng")
    path = write_mixed_pdf(tmp_path / "mixed.pdf", ["Første side har tekst."], SCANNED_LINES)
    doc = read_pdf(path)  # OCR asked for (the default) but not installed
    assert paragraphs(doc) == ["Første side har tekst."]
    assert doc.warnings == (("page 2 has no text layer (a scan?) and was skipped; install tesseract-ocr and "
                            "tesseract-ocr-dan to read it"),)
    error = rejected(write_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES))
    assert error.kind == "no_text" and "install tesseract-ocr and tesseract-ocr-dan" in error.reason


def test_a_page_ocr_fails_on_is_skipped_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def failing(png: bytes, languages: str, timeout: float = 120) -> str:
        assert png.startswith(b"\x89PNG") and languages == "dan+eng"
        raise OcrFailed("tesseract took longer than 120 seconds")

    monkeypatch.setattr(pdf, "ocr_available", lambda languages: True)
    monkeypatch.setattr(pdf, "ocr_image", failing)
    doc = read_pdf(write_mixed_pdf(tmp_path / "mixed.pdf", ["Første side har tekst."], SCANNED_LINES))
    assert paragraphs(doc) == ["Første side har tekst."]
    assert doc.warnings == (("page 2 has no text layer and OCR could not read it (tesseract took longer than "
                            "120 seconds); it was skipped"),)
    assert rejected(write_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES)).kind == "no_text"


def test_ocr_needs_tesseract_and_every_language():
    assert not ocr_available(None) and not ocr_available("")
    assert not ocr_available("dan+xx_no_such_language")


# --- a real document -----------------------------------------------------------------------------

def test_the_seed_guide_reads_back_from_a_pdf(tmp_path: Path):
    markdown = SEED.read_text(encoding="utf-8")
    meta, blocks = markdown_blocks(markdown)
    doc = read_pdf(markdown_to_pdf(markdown, tmp_path / "guide.pdf", author="Socialstyrelsen"))
    assert len(doc.page_starts) >= 2
    assert [text for _, text in headings(doc)] == [text for kind, text in blocks if kind.startswith("h")]
    assert doc.title == meta["title"] and doc.author == "Socialstyrelsen"
    body = fold(doc.body)
    texts = [fold(text) for kind, text in blocks if kind in ("p", "li")]
    found = sum(len(text) for text in texts if text in body)
    assert found >= 0.95 * sum(len(text) for text in texts), [text for text in texts if text not in body]
