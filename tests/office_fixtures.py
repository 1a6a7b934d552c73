"""Small Word files and saved web pages for tests, written on the fly (nothing binary is checked in).

Word files are made with python-docx; their properties (``docProps/core.xml``, ``docProps/app.xml``)
are then written out exactly, so no template default (author "python-docx", a 2013 date) leaks in.
"""

from __future__ import annotations

import datetime as dt
import html
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

#: A block of a test document: ("title", text), ("h1".."h3", text), ("p", text), ("li", text),
#: ("table", rows); web pages also take ("ul", items).
Block = tuple[str, Any]

#: Text of a saved page's surroundings, which must not end up in the document.
NAV_TEXTS = ("Forside", "Nyheder og presse", "Kontakt os")
COOKIE_TEXT = "Vi bruger cookies til at forbedre din oplevelse af hjemmesiden. Accepter alle cookies"
FOOTER_TEXT = "Socialstyrelsen · Edisonsvej 18 · 5000 Odense C · CVR 26144675"

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_EXTENDED = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_WORD_NAMESPACES = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
                    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
                    'xmlns:v="urn:schemas-microsoft-com:vml"')


# --- Word ----------------------------------------------------------------------------------------

def write_docx(path: Path, blocks: Sequence[Block], *, title: str | None = None, author: str | None = None,
               created: dt.datetime | None = None, modified: dt.datetime | None = None,
               language: str | None = None, company: str | None = None) -> Path:
    """A ``.docx`` with Word's built-in styles: "Title", "Heading N", "List Bullet", tables."""
    document = docx.Document()
    styles = {"title": "Title", "li": "List Bullet", **{f"h{n}": f"Heading {n}" for n in range(1, 7)}}
    _add_blocks(document, blocks, styles)
    document.save(str(path))
    _write_properties(path, title=title, author=author, created=created, modified=modified, language=language,
                      company=company)
    return path


def write_localized_docx(path: Path, blocks: Sequence[Block], *, title: str | None = None) -> Path:
    """A ``.docx`` as Danish Word names its styles: "Titel", "Overskrift 1"–"Overskrift 3" (custom
    styles based on nothing, with their outline level) and "Listeafsnit" (no numbering)."""
    document = docx.Document()
    styles = {"title": add_paragraph_style(document, "Titel").name,
              "li": add_paragraph_style(document, "Listeafsnit").name}
    for level in (1, 2, 3):
        styles[f"h{level}"] = add_paragraph_style(document, f"Overskrift {level}", outline_level=level - 1).name
    _add_blocks(document, blocks, styles)
    document.save(str(path))
    _write_properties(path, title=title)
    return path


def add_paragraph_style(document: Document, name: str, *, outline_level: int | None = None) -> Any:
    """A custom paragraph style ``name`` (id: the name without spaces), based on no other style."""
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = None
    if outline_level is not None:
        set_outline_level(style.element, outline_level)
    return style


def set_outline_level(element: Any, level: int) -> None:
    """Give a style or paragraph element a ``w:outlineLvl`` (0-based: 0 is a level-1 heading)."""
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), str(level))
    element.get_or_add_pPr().append(outline)


def write_docx_xml(path: Path, body_xml: str, *, styles_xml: str = "") -> Path:
    """A ``.docx`` whose body is ``body_xml`` (``w:`` and ``mc:`` elements, as Word writes them),
    with ``styles_xml`` (``w:style`` elements) added to the template's styles."""
    write_docx(path, [])
    with zipfile.ZipFile(path) as archive:
        styles = archive.read("word/styles.xml").decode("utf-8")
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {_WORD_NAMESPACES}>'
                f"<w:body>{body_xml}<w:sectPr/></w:body></w:document>")
    styles = styles.replace("</w:styles>", styles_xml + "</w:styles>")
    _replace_in_zip(path, {"word/document.xml": document.encode("utf-8"), "word/styles.xml": styles.encode("utf-8")})
    return path


def _add_blocks(document: Document, blocks: Sequence[Block], styles: dict[str, str]) -> None:
    for kind, value in blocks:
        if kind == "table":
            _add_table(document, value)
        elif kind == "p":
            document.add_paragraph(value)
        else:
            document.add_paragraph(value, style=styles[kind])


def _add_table(document: Document, rows: Sequence[Sequence[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=max(len(row) for row in rows))
    for cells, row in zip(table.rows, rows, strict=True):
        for cell, text in zip(cells.cells, row, strict=False):
            cell.text = text


def _write_properties(path: Path, *, title: str | None = None, author: str | None = None,
                      created: dt.datetime | None = None, modified: dt.datetime | None = None,
                      language: str | None = None, company: str | None = None) -> None:
    """Replace the template's ``core.xml`` with exactly these properties; set ``Company``."""
    fields = [("dc:title", title), ("dc:creator", author), ("dc:language", language)]
    dates = [("dcterms:created", created), ("dcterms:modified", modified)]
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        + "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in fields if value)
        + "".join(f'<{tag} xsi:type="dcterms:W3CDTF">{value.strftime("%Y-%m-%dT%H:%M:%SZ")}</{tag}>'
                  for tag, value in dates if value)
        + "</cp:coreProperties>"
    )
    with zipfile.ZipFile(path) as archive:
        app = _app_xml(archive.read("docProps/app.xml"), company)
    _replace_in_zip(path, {"docProps/core.xml": core.encode("utf-8"), "docProps/app.xml": app})


def _app_xml(original: bytes, company: str | None) -> bytes:
    root = etree.fromstring(original)
    element = root.find(f"{{{_EXTENDED}}}Company")
    if element is None:
        element = etree.SubElement(root, f"{{{_EXTENDED}}}Company")
    element.text = company
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _replace_in_zip(path: Path, replacements: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            target.writestr(info, replacements.get(info.filename, data))


def write_encrypted_docx_stub(path: Path) -> Path:
    """The start of a password-protected ``.docx``: an OLE compound file naming its
    ``EncryptionInfo`` and ``EncryptedPackage`` streams (enough to be recognised, not opened)."""
    directory = "EncryptionInfo".encode("utf-16-le").ljust(128, b"\0")
    directory += "EncryptedPackage".encode("utf-16-le").ljust(128, b"\0")
    path.write_bytes(_OLE_MAGIC + b"\0" * 504 + directory + bytes(range(256)) * 4)
    return path


def write_old_doc_stub(path: Path) -> Path:
    """The start of an old binary Word file (``.doc``): an OLE compound file with a
    ``WordDocument`` stream."""
    directory = "WordDocument".encode("utf-16-le").ljust(128, b"\0")
    path.write_bytes(_OLE_MAGIC + b"\0" * 504 + directory + bytes(range(256)) * 4)
    return path


def write_corrupt_docx(path: Path, *, how: str = "truncated") -> Path:
    """A damaged ``.docx``: a real one cut off half way (``truncated``), or a zip whose parts
    are junk (``junk``)."""
    if how == "truncated":
        write_docx(path, [("p", "Denne fil bliver skåret over på midten.")])
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("[Content_Types].xml", b"\x00\x01 not xml at all \xff")
            archive.writestr("word/document.xml", b"<w:document><w:body>")
    return path


# --- web pages -----------------------------------------------------------------------------------

def write_html(path: Path, *, title: str, headings_and_paragraphs: Sequence[Block], nav: bool = True,
               footer: bool = True, lang: str | None = "da", canonical: str | None = None,
               charset: str = "utf-8", site_name: str | None = None, author: str | None = None,
               published: str | None = None, cookie_banner: bool = True, http_equiv: bool = False) -> Path:
    """A saved web page as a CMS writes it: menu, cookie banner, ``<main>`` with the blocks
    (("h1".."h6", text), ("p", text), ("ul", items), ("table", rows), first row the header), footer.
    The file is encoded in ``charset``, which the page declares (``http_equiv``: the old way)."""
    head = [f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if http_equiv
            else f'<meta charset="{charset}">',
            f"<title>{html.escape(title)}{' | ' + html.escape(site_name) if site_name else ''}</title>",
            '<meta name="viewport" content="width=device-width, initial-scale=1">']
    if canonical:
        head.append(f'<link rel="canonical" href="{html.escape(canonical)}">')
    if site_name:
        head.append(f'<meta property="og:site_name" content="{html.escape(site_name)}">')
    if author:
        head.append(f'<meta name="author" content="{html.escape(author)}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    head.append("<style>body { font-family: sans-serif; }</style>")
    page = "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{lang}">' if lang else "<html>",
        "<head>", *head, "</head>",
        "<body>",
        _nav() if nav else "",
        _cookie_banner() if cookie_banner else "",
        '<main id="content"><article>',
        *(_html_block(kind, value) for kind, value in headings_and_paragraphs),
        "</article></main>",
        _footer() if footer else "",
        '<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>',
        "</body></html>",
    ])
    path.write_bytes(page.encode(charset, errors="xmlcharrefreplace"))
    return path


def _html_block(kind: str, value: Any) -> str:
    if kind == "ul":
        return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in value) + "</ul>"
    if kind == "table":
        header, *rows = value
        head = "<tr>" + "".join(f"<th>{html.escape(cell)}</th>" for cell in header) + "</tr>"
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
        return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"
    return f"<{kind}>{html.escape(value)}</{kind}>"


def _nav() -> str:
    links = "".join(f'<li><a href="/{n}">{html.escape(text)}</a></li>' for n, text in enumerate(NAV_TEXTS))
    return (f'<header class="site-header"><a class="logo" href="/">Logo</a><nav><ul class="menu">{links}</ul></nav>'
            "</header>")


def _cookie_banner() -> str:
    return (f'<div id="cookie-banner" class="cookie-consent"><p>{html.escape(COOKIE_TEXT)}</p>'
            '<button>Accepter</button><button>Afvis</button></div>')


def _footer() -> str:
    return (f'<footer class="site-footer"><p>{html.escape(FOOTER_TEXT)}</p>'
            '<ul><li><a href="/privatliv">Privatlivspolitik</a></li><li><a href="/tilgaengelighed">'
            "Tilgængelighedserklæring</a></li></ul></footer>")
