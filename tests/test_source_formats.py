"""Word files, saved web pages, plain text and Markdown brought by a user, read into documents:
what a user would notice (text, structure, metadata, why a file was refused). Every body is read
back with ``indexer.markdown.read_blocks``, the reader the index and the web pages use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import docx
import pytest
from office_fixtures import (
    COOKIE_TEXT,
    FOOTER_TEXT,
    NAV_TEXTS,
    add_paragraph_style,
    set_outline_level,
    write_corrupt_docx,
    write_docx,
    write_docx_xml,
    write_encrypted_docx_stub,
    write_html,
    write_localized_docx,
    write_old_doc_stub,
)

from indexer.markdown import read_blocks
from indexer.sources import html as html_source
from indexer.sources.body import table_items
from indexer.sources.docx import read_docx
from indexer.sources.extracted import ExtractedDocument, ExtractionError
from indexer.sources.html import read_html
from indexer.sources.text import read_markdown, read_text

DANISH = "Æbler, øl og ål på Ærø, Østerbro og Åbenrå"

#: A page as a CMS saves it; the first-row header table and the list are main content.
PAGE_BLOCKS = [
    ("h1", "Peerstøtte i praksis"),
    ("p", "Peerstøtte er støtte mellem to eller flere personer, der har fælles levede erfaringer, og hvor "
          "mindst én af dem har bearbejdet sine erfaringer til såkaldte erfaringskompetencer."),
    ("h2", "Sådan kommer I i gang"),
    ("p", "Kommunen kan tilbyde peerstøtte gennem frivillige foreninger. Det kræver uddannelse af peers, "
          "supervision og en fast kontaktperson i forvaltningen, som kender målgruppen godt."),
    ("ul", ["Uddannelse af peers", "Supervision hver måned", "Fælles møder med de ældre borgere"]),
    ("h3", "Økonomi"),
    ("table", [["Indsats", "Pris"], ["WRAP", "500 kr."], ["LÆR AT TACKLE", "Gratis"]]),
    ("p", f"{DANISH}: alle får tilbuddet, så længe der er plads på holdene, og det gælder hele året."),
]


def blocks(body: str) -> list[tuple[str, int, list[str]]]:
    """``(kind, level, texts)`` of each block of ``body``, as the index reads it."""
    return [(b.kind, b.level, [body[start:end] for start, end in b.ranges]) for b in read_blocks(body)]


def kinds(body: str) -> list[str]:
    return [kind if kind != "heading" else f"h{level}" for kind, level, _ in blocks(body)]


def refused(reader, path: Path) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        reader(path)
    assert caught.value.reason.strip() and path.name in caught.value.reason
    return caught.value


# --- every format --------------------------------------------------------------------------------

def _docx(path: Path) -> ExtractedDocument:
    write_docx(path.with_suffix(".docx"), [("h1", "Overskrift med æøå"), ("p", DANISH), ("li", "Ærø og Åbenrå")])
    return read_docx(path.with_suffix(".docx"))


def _html(path: Path) -> ExtractedDocument:
    write_html(path.with_suffix(".html"), title="Side med æøå",
               headings_and_paragraphs=[("h1", "Overskrift med æøå"), ("p", DANISH + ". " + DANISH + "."),
                                        ("ul", ["Ærø og Åbenrå", "Østerbro"])])
    return read_html(path.with_suffix(".html"))


def _txt(path: Path) -> ExtractedDocument:
    path.with_suffix(".txt").write_text(f"Overskrift med æøå\n\n{DANISH}.\n\n- Ærø og Åbenrå\n", encoding="utf-8")
    return read_text(path.with_suffix(".txt"))


def _md(path: Path) -> ExtractedDocument:
    path.with_suffix(".md").write_text(f"# Overskrift med æøå\n\n{DANISH}.\n\n- Ærø og Åbenrå\n", encoding="utf-8")
    return read_markdown(path.with_suffix(".md"))


@pytest.mark.parametrize("make", [_docx, _html, _txt, _md], ids=["docx", "html", "txt", "md"])
def test_danish_letters_and_structure_survive_every_format(tmp_path: Path, make):
    document = make(tmp_path / "dansk")
    assert DANISH in document.body
    assert document.title == "Overskrift med æøå"
    found = blocks(document.body)
    assert found[0] == ("heading", 1, ["Overskrift med æøå"])
    assert ("paragraph", 0) in {(kind, level) for kind, level, _ in found}
    assert any(kind == "list" and "Ærø og Åbenrå" in texts for kind, _, texts in found)
    assert document.page_starts == ()


# --- Word ----------------------------------------------------------------------------------------

def test_docx_heading_styles_become_heading_levels(tmp_path: Path):
    path = write_docx(tmp_path / "rapport.docx", [
        ("title", "Peerstøtte i kommunerne"), ("p", "Indledning til rapporten."),
        ("h1", "Baggrund"), ("p", "Om baggrunden."), ("h2", "Målgruppe"), ("p", "Om målgruppen."),
        ("h3", "Unge i psykisk mistrivsel"), ("p", "Om de unge."), ("h2", "Metode"),
    ])
    document = read_docx(path)
    assert [(kind, level, texts) for kind, level, texts in blocks(document.body) if kind == "heading"] == [
        ("heading", 1, ["Peerstøtte i kommunerne"]), ("heading", 1, ["Baggrund"]), ("heading", 2, ["Målgruppe"]),
        ("heading", 3, ["Unge i psykisk mistrivsel"]), ("heading", 2, ["Metode"])]
    assert kinds(document.body) == ["h1", "paragraph", "h1", "paragraph", "h2", "paragraph", "h3", "paragraph", "h2"]
    assert document.title == "Peerstøtte i kommunerne"  # the Title paragraph, no title in the properties


def test_danish_overskrift_styles_are_headings(tmp_path: Path):
    path = write_localized_docx(tmp_path / "dansk.docx", [
        ("title", "Vejledning om peerstøtte"), ("h1", "Formål"), ("p", "Vejledningen beskriver indsatsen."),
        ("h2", "Hvem kan være peer?"), ("li", "Personer med levede erfaringer"), ("h3", "Uddannelse"),
    ])
    document = read_docx(path)
    assert kinds(document.body) == ["h1", "h1", "paragraph", "h2", "list", "h3"]
    assert "## Hvem kan være peer?" in document.body
    assert document.title == "Vejledning om peerstøtte"


def test_an_outline_level_alone_makes_a_heading(tmp_path: Path):
    """A custom style named nothing like "Heading", and a paragraph formatted directly."""
    document = docx.Document()
    add_paragraph_style(document, "Min rubrik", outline_level=1)
    document.add_paragraph("Direkte formateret", style=None)
    set_outline_level(document.paragraphs[0]._p, 0)
    document.add_paragraph("Underafsnit", style="Min rubrik")
    document.add_paragraph("Brødtekst.")
    document.save(tmp_path / "egne.docx")
    body = read_docx(tmp_path / "egne.docx").body
    assert blocks(body) == [("heading", 1, ["Direkte formateret"]), ("heading", 2, ["Underafsnit"]),
                            ("paragraph", 0, ["Brødtekst."])]


def test_docx_lists_become_list_items(tmp_path: Path):
    document = docx.Document()
    document.add_paragraph("Tilbuddet omfatter:")
    document.add_paragraph("Samtaler med en peer", style="List Bullet")
    document.add_paragraph("Gruppeforløb", style="List Number")
    numbered = document.add_paragraph("Telefonisk støtte")  # numbered by direct formatting only
    numbered._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = 1
    document.add_paragraph("Efter listen.")
    document.save(tmp_path / "liste.docx")
    found = blocks(read_docx(tmp_path / "liste.docx").body)
    assert found == [("paragraph", 0, ["Tilbuddet omfatter:"]),
                     ("list", 0, ["Samtaler med en peer", "Gruppeforløb", "Telefonisk støtte"]),
                     ("paragraph", 0, ["Efter listen."])]


def test_docx_table_rows_become_header_value_items_in_document_order(tmp_path: Path):
    path = write_docx(tmp_path / "tabel.docx", [
        ("p", "Før tabellen."),
        ("table", [["Indsats", "Målgruppe", "Pris"], ["WRAP", "Voksne", "500 kr."], ["LÆR AT TACKLE", "Alle", ""]]),
        ("p", "Efter tabellen."),
        ("table", [["Én kolonne"], ["Anden række"]]),
    ])
    found = blocks(read_docx(path).body)
    assert found == [
        ("paragraph", 0, ["Før tabellen."]),
        ("list", 0, ["Indsats: WRAP; Målgruppe: Voksne; Pris: 500 kr.", "Indsats: LÆR AT TACKLE; Målgruppe: Alle"]),
        ("paragraph", 0, ["Efter tabellen."]),
        ("list", 0, ["Én kolonne", "Anden række"]),
    ]


def test_merged_docx_cells_are_not_repeated(tmp_path: Path):
    path = write_docx(tmp_path / "flettet.docx", [
        ("table", [["Region", "Kommune", "Antal"], ["Syddanmark", "Odense", "12"], ["", "Svendborg", "4"],
                   ["I alt", "", "16"]]),
    ])
    document = docx.Document(str(path))
    table = document.tables[0]
    table.cell(1, 0).merge(table.cell(2, 0))  # "Syddanmark" spans two rows
    table.cell(3, 0).merge(table.cell(3, 1))  # "I alt" spans two columns
    document.save(str(path))
    items = blocks(read_docx(path).body)[0][2]
    assert items == ["Region: Syddanmark; Kommune: Odense; Antal: 12", "Kommune: Svendborg; Antal: 4",
                     "Region: I alt; Antal: 16"]


def test_docx_metadata(tmp_path: Path):
    path = write_docx(tmp_path / "meta.docx", [("h1", "Første overskrift"), ("p", "Tekst.")],
                      title="Evaluering af peerstøtte", author="Søren Ølgaard",
                      created=dt.datetime(2023, 5, 4, 9, 30), modified=dt.datetime(2024, 1, 2, 12, 0),
                      language="da-DK", company="Social- og Boligstyrelsen")
    document = read_docx(path)
    assert (document.title, document.author, document.published, document.modified) == (
        "Evaluering af peerstøtte", "Søren Ølgaard", "2023-05-04", "2024-01-02")
    assert (document.language, document.publisher) == ("da", "Social- og Boligstyrelsen")


def test_docx_without_properties_takes_its_title_from_the_first_heading(tmp_path: Path):
    path = write_docx(tmp_path / "uden.docx", [("p", "Indledende tekst."), ("h2", "Første overskrift")])
    document = read_docx(path)
    assert document.title == "Første overskrift"
    assert (document.author, document.published, document.language, document.publisher) == (None,) * 4


@pytest.mark.parametrize(("write", "kind", "says"), [
    (write_old_doc_stub, "unsupported", ".docx"),
    (write_encrypted_docx_stub, "encrypted", "password"),
    (lambda path: write_corrupt_docx(path, how="truncated"), "corrupt", "damaged"),
    (lambda path: write_corrupt_docx(path, how="junk"), "corrupt", "damaged"),
    (lambda path: path.write_text("Dette er slet ikke et Word-dokument.", encoding="utf-8"), "corrupt", "damaged"),
    (lambda path: write_docx(path, [("p", "   "), ("table", [["", ""], ["", ""]])]), "empty", "no text"),
], ids=["old-doc", "encrypted", "truncated", "junk-parts", "not-a-zip", "empty"])
def test_unreadable_word_files_are_refused_with_the_reason(tmp_path: Path, write, kind: str, says: str):
    path = tmp_path / "bilag.docx"
    write(path)
    error = refused(read_docx, path)
    assert error.kind == kind
    assert says in error.reason


def test_a_table_of_contents_is_left_out(tmp_path: Path):
    document = docx.Document()
    add_paragraph_style(document, "TOC 1")
    document.add_paragraph("Indledning\t3", style="TOC 1")
    document.add_heading("Indledning", level=1)
    document.add_paragraph("Selve teksten.")
    document.save(tmp_path / "indhold.docx")
    assert blocks(read_docx(tmp_path / "indhold.docx").body) == [("heading", 1, ["Indledning"]),
                                                                 ("paragraph", 0, ["Selve teksten."])]


#: Styles as Danish Word stores them: localised ids, the built-in English names.
DANISH_WORD_STYLES = (
    '<w:style w:type="paragraph" w:styleId="Overskrift1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/>'
    '<w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="Overskrift2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/>'
    '</w:style>'
    '<w:style w:type="paragraph" w:styleId="Opstilling-punkttegn"><w:name w:val="List Bullet"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="A"><w:name w:val="Løkke A"/><w:basedOn w:val="B"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="B"><w:name w:val="Løkke B"/><w:basedOn w:val="A"/></w:style>'
)


def _p(text: str, style: str | None = None, runs: str | None = None) -> str:
    props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{props}{runs or f'<w:r><w:t>{text}</w:t></w:r>'}</w:p>"


def test_a_file_as_danish_word_writes_it(tmp_path: Path):
    """Localised style ids, a table of contents, tracked changes, a link, a text box, a content
    control, and a style "based on" loop."""
    body = "".join([
        '<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj></w:sdtPr>'
        f"<w:sdtContent>{_p('Indhold')}{_p('Indledning 3')}</w:sdtContent></w:sdt>",
        _p("Indledning", "Overskrift1"),
        _p("", runs='<w:r><w:t xml:space="preserve">Tekst med </w:t></w:r><w:ins><w:r><w:t>indsat </w:t></w:r>'
                    "</w:ins><w:del><w:r><w:delText>slettet </w:delText></w:r></w:del><w:hyperlink><w:r>"
                    "<w:t>link</w:t></w:r></w:hyperlink><w:r><w:tab/><w:t>og</w:t><w:br/><w:t>brud.</w:t></w:r>"),
        _p("", runs="<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wps:txbx><w:txbxContent>"
                    f"{_p('Tekstboks')}</w:txbxContent></wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict>"
                    f"<v:textbox><w:txbxContent>{_p('Tekstboks')}</w:txbxContent></v:textbox></w:pict>"
                    "</mc:Fallback></mc:AlternateContent></w:r>"),
        f"<w:sdt><w:sdtPr/><w:sdtContent>{_p('Målgruppe', 'Overskrift2')}</w:sdtContent></w:sdt>",
        _p("Unge på Ærø", "Opstilling-punkttegn"),
        _p("I en løkke", "A"),
    ])
    document = read_docx(write_docx_xml(tmp_path / "word.docx", body, styles_xml=DANISH_WORD_STYLES))
    assert blocks(document.body) == [
        ("heading", 1, ["Indledning"]), ("paragraph", 0, ["Tekst med indsat link og brud."]),
        ("paragraph", 0, ["Tekstboks"]), ("heading", 2, ["Målgruppe"]), ("list", 0, ["Unge på Ærø"]),
        ("paragraph", 0, ["I en løkke"])]
    assert document.title == "Indledning"


# --- web pages -----------------------------------------------------------------------------------

def _page(tmp_path: Path, **options) -> Path:
    options = {"title": "Peerstøtte i praksis", "headings_and_paragraphs": PAGE_BLOCKS, **options}
    return write_html(tmp_path / "side.html", **options)


def test_html_keeps_the_main_content_in_order_without_menu_banner_or_footer(tmp_path: Path):
    body = read_html(_page(tmp_path)).body
    for text in (*NAV_TEXTS, COOKIE_TEXT, "Accepter", FOOTER_TEXT, "Privatlivspolitik", "dataLayer"):
        assert text not in body
    assert kinds(body) == ["h1", "paragraph", "h2", "paragraph", "list", "h3", "list", "paragraph"]
    found = blocks(body)
    assert [texts[0] for kind, _, texts in found if kind == "heading"] == [
        "Peerstøtte i praksis", "Sådan kommer I i gang", "Økonomi"]
    assert found[4][2] == ["Uddannelse af peers", "Supervision hver måned", "Fælles møder med de ældre borgere"]
    assert found[6][2] == ["Indsats: WRAP; Pris: 500 kr.", "Indsats: LÆR AT TACKLE; Pris: Gratis"]


def test_html_metadata(tmp_path: Path):
    document = read_html(_page(tmp_path, canonical="https://www.socialstyrelsen.dk/peerstoette",
                               site_name="Socialstyrelsen", author="Anne Ørsted", published="2023-05-04", lang="da-DK"))
    assert document.title == "Peerstøtte i praksis"
    assert (document.language, document.source_url) == ("da", "https://www.socialstyrelsen.dk/peerstoette")
    assert (document.publisher, document.author, document.published) == ("Socialstyrelsen", "Anne Ørsted",
                                                                          "2023-05-04")


@pytest.mark.parametrize(("head", "url"), [
    ('<meta property="og:url" content="https://www.example.dk/side">', "https://www.example.dk/side"),
    ('<link rel="canonical" href="/side">', None),
    ('<link rel="canonical" href="file:///C:/Users/anne/side.html">', None),
], ids=["og-url", "relative-canonical", "file-url"])
def test_html_source_url_is_an_absolute_web_address(tmp_path: Path, head: str, url: str | None):
    path = tmp_path / "side.html"
    path.write_text(f"<html><head>{head}</head><body><p>Peerstøtte hjælper.</p></body></html>", encoding="utf-8")
    assert read_html(path).source_url == url


def test_html_without_metadata_has_none(tmp_path: Path):
    document = read_html(_page(tmp_path, lang=None))
    assert (document.language, document.source_url, document.author, document.published) == (None,) * 4


@pytest.mark.parametrize("charset", ["iso-8859-1", "windows-1252"])
@pytest.mark.parametrize("http_equiv", [False, True], ids=["meta-charset", "http-equiv"])
def test_html_in_a_declared_western_encoding_keeps_danish_letters(tmp_path: Path, charset: str, http_equiv: bool):
    path = _page(tmp_path, charset=charset, http_equiv=http_equiv)
    assert "Ærø".encode(charset) in path.read_bytes()  # really not UTF-8
    document = read_html(path)
    assert DANISH in document.body and "## Sådan kommer I i gang" in document.body


def test_html_declared_latin_1_but_saved_as_utf_8_is_read_as_utf_8(tmp_path: Path):
    path = _page(tmp_path, charset="iso-8859-1")
    path.write_bytes(path.read_bytes().decode("iso-8859-1").encode("utf-8"))
    assert DANISH in read_html(path).body


def test_html_without_a_declared_encoding_falls_back_to_windows_1252(tmp_path: Path):
    path = tmp_path / "gammel.htm"
    path.write_bytes(f"<html><body><h1>Om os</h1><p>{DANISH} – en lang tekst om peerstøtte, som "
                     "fortsætter længe nok til at være indhold.</p></body></html>".encode("cp1252"))
    assert DANISH in read_html(path).body


@pytest.mark.parametrize("content", [
    b"",
    b"<!DOCTYPE html><html><head><title>Tom</title></head><body>  </body></html>",
    b"<html><body><nav><a href='/'>Forside</a></nav><script>var x = 1;</script><footer>Kontakt</footer></body></html>",
], ids=["zero-bytes", "blank-body", "only-menu-and-footer"])
def test_html_without_readable_text_is_empty(tmp_path: Path, content: bytes):
    path = tmp_path / "tom.html"
    path.write_bytes(content)
    assert refused(read_html, path).kind == "empty"


def test_binary_junk_saved_as_html_is_corrupt(tmp_path: Path):
    path = tmp_path / "billede.html"
    path.write_bytes(bytes(range(256)) * 8)
    assert refused(read_html, path).kind == "corrupt"


def test_html_trafilatura_cannot_read_is_walked_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A page too short for trafilatura still gives its main content, with the same structure."""
    monkeypatch.setattr(html_source.trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    document = read_html(_page(tmp_path, canonical="https://example.dk/peer", site_name="Socialstyrelsen"))
    for text in (*NAV_TEXTS, COOKIE_TEXT, FOOTER_TEXT, "dataLayer"):
        assert text not in document.body
    assert kinds(document.body) == ["h1", "paragraph", "h2", "paragraph", "list", "h3", "list", "paragraph"]
    assert "- Indsats: WRAP; Pris: 500 kr." in document.body
    assert (document.title, document.source_url, document.language) == (
        "Peerstøtte i praksis", "https://example.dk/peer", "da")


def test_the_direct_walk_keeps_a_page_whose_body_is_named_after_cookies(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(html_source.trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    path = tmp_path / "side.html"
    path.write_text('<html><body class="cookie-consent-given"><div class="cookie-notice">Vi bruger cookies.</div>'
                    "<h2>Åbningstider</h2><p>Mandag til fredag.</p></body></html>", encoding="utf-8")
    assert blocks(read_html(path).body) == [("heading", 2, ["Åbningstider"]), ("paragraph", 0, ["Mandag til fredag."])]


def test_a_very_short_page_is_read(tmp_path: Path):
    path = tmp_path / "kort.html"
    path.write_text("<html lang='da'><body><p>Åbent hus på tirsdag.</p></body></html>", encoding="utf-8")
    assert blocks(read_html(path).body) == [("paragraph", 0, ["Åbent hus på tirsdag."])]


# --- plain text ----------------------------------------------------------------------------------

def test_txt_title_paragraphs_and_list(tmp_path: Path):
    path = tmp_path / "noter.txt"
    path.write_text("Peerstøtte i Odense\n\nPeerstøtte er støtte mellem\nligestillede personer.\n\n"
                    "Tilbuddet:\n- samtaler\n* grupper\n• telefonisk støtte,\n  også om aftenen\n\n"
                    "# ikke en overskrift\n", encoding="utf-8")
    document = read_text(path)
    assert document.title == "Peerstøtte i Odense"
    assert blocks(document.body) == [
        ("heading", 1, ["Peerstøtte i Odense"]),
        ("paragraph", 0, ["Peerstøtte er støtte mellem ligestillede personer."]),
        ("paragraph", 0, ["Tilbuddet:"]),
        ("list", 0, ["samtaler", "grupper", "telefonisk støtte, også om aftenen"]),
        ("paragraph", 0, ["\\# ikke en overskrift"]),
    ]
    assert document.warnings == ()


def test_txt_first_line_that_is_a_sentence_is_not_a_title(tmp_path: Path):
    path = tmp_path / "brev.txt"
    path.write_text("Tak for sidst.\n\nVi ses igen i næste uge.\n", encoding="utf-8-sig")
    document = read_text(path)
    assert document.title is None
    assert kinds(document.body) == ["paragraph", "paragraph"]
    assert not document.body.startswith("\ufeff")


def test_txt_in_windows_1252_is_read_with_a_warning(tmp_path: Path):
    path = tmp_path / "gammel.txt"
    path.write_bytes(f"Overskrift\r\n\r\n{DANISH} – og mere.\r\n".encode("cp1252"))
    document = read_text(path)
    assert f"{DANISH} – og mere." in document.body
    assert len(document.warnings) == 1 and "Windows-1252" in document.warnings[0]


@pytest.mark.parametrize(("content", "kind"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "corrupt"),
    (b"  \n\n\t\n", "empty"),
    (b"", "empty"),
], ids=["binary", "blank", "zero-bytes"])
def test_txt_refusals(tmp_path: Path, content: bytes, kind: str):
    path = tmp_path / "fil.txt"
    path.write_bytes(content)
    assert refused(read_text, path).kind == kind


# --- Markdown ------------------------------------------------------------------------------------

def test_markdown_with_front_matter(tmp_path: Path):
    path = tmp_path / "note.md"
    path.write_bytes(("\ufeff---\r\ntitle: Peerstøtte på Ærø\r\npublisher: Ærø Kommune\r\nauthor: Åse Øberg\r\n"
                      "date: 2022-11-03\r\nmodified: 2023-01-15\r\nlanguage: da\r\n"
                      "source_url: https://www.aeroe.dk/peer\r\n---\r\n\r\n## Baggrund\r\n\r\nTekst *med* markup.\r\n"
                      ).encode("utf-8"))
    document = read_markdown(path)
    assert document.body == "## Baggrund\n\nTekst *med* markup.\n"
    assert (document.title, document.publisher, document.author) == ("Peerstøtte på Ærø", "Ærø Kommune", "Åse Øberg")
    assert (document.published, document.modified, document.language, document.source_url) == (
        "2022-11-03", "2023-01-15", "da", "https://www.aeroe.dk/peer")
    assert kinds(document.body) == ["h2", "paragraph"]


def test_markdown_without_front_matter_takes_the_first_heading_as_title(tmp_path: Path):
    path = tmp_path / "note.md"
    path.write_text("Indledning uden overskrift.\n\n## Første overskrift\n\n- punkt\n", encoding="utf-8")
    document = read_markdown(path)
    assert document.title == "Første overskrift"
    assert document.body == "Indledning uden overskrift.\n\n## Første overskrift\n\n- punkt\n"
    assert kinds(document.body) == ["paragraph", "h2", "list"]


def test_markdown_with_broken_front_matter_is_all_body_with_a_warning(tmp_path: Path):
    path = tmp_path / "note.md"
    text = "---\ntitle: [ikke lukket\n---\n\n# Overskrift\n\nTekst.\n"
    path.write_text(text, encoding="utf-8")
    document = read_markdown(path)
    assert document.body == text
    assert len(document.warnings) == 1 and "front matter" in document.warnings[0]
    assert document.title == "Overskrift"


@pytest.mark.parametrize(("content", "kind", "says"), [
    (b"---\ntitle: Kun metadata\n---\n\n", "empty", "no text"),
    ("Overskrift\n\nTekst på dansk: æøå".encode("cp1252"), "corrupt", "not UTF-8"),
], ids=["empty-body", "not-utf8"])
def test_markdown_refusals(tmp_path: Path, content: bytes, kind: str, says: str):
    path = tmp_path / "note.md"
    path.write_bytes(content)
    error = refused(read_markdown, path)
    assert (error.kind, says in error.reason) == (kind, True)


# --- tables, shared by the readers ---------------------------------------------------------------

def test_table_items():
    assert table_items([["Navn", "By"], ["Anne", "Odense"], ["", ""], ["Bo", None], ["Ja", "Ja"]]) == [
        "Navn: Anne; By: Odense", "Navn: Bo", "Navn: Ja; By: Ja"]
    assert table_items([["Kun", "én", None, "række"]]) == ["Kun", "én", "række"]
    assert table_items([["", "Tal"], ["Løn", "10"], ["Husleje", "4", "ekstra"]]) == [
        "Løn; Tal: 10", "Husleje; Tal: 4; ekstra"]
    assert table_items([]) == [] and table_items([["", None]]) == []
