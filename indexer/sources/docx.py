"""Word files (``.docx``): headings, paragraphs, lists and tables in document order, and the
title, author and dates from the file's properties."""

from __future__ import annotations

import functools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import CONTENT_TYPE as CT
from docx.oxml.ns import qn
from lxml import etree

from indexer.sources.body import BodyWriter, clean_text, table_items
from indexer.sources.extracted import ExtractedDocument, ExtractionError
from indexer.sources.text import iso_date, language_code

#: The first bytes of an OLE compound file: an old binary ``.doc``, or an encrypted ``.docx``.
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
#: The stream an encrypted Office file keeps its (encrypted) package in, as named inside the file.
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "ep": "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
}
#: A paragraph's text in reading order: text, tabs and breaks, not deleted text or field codes,
#: and not the duplicate fallback copy of a text box.
_TEXT_PARTS = etree.XPath(
    ".//w:t[not(ancestor::mc:Fallback)] | .//w:tab[not(ancestor::mc:Fallback) and not(parent::w:tabs)]"
    " | .//w:br[not(ancestor::mc:Fallback)] | .//w:cr[not(ancestor::mc:Fallback)]"
    " | .//w:noBreakHyphen[not(ancestor::mc:Fallback)]",
    namespaces=_NS,
)
_HEADING_STYLE = re.compile(r"^(?:heading|overskrift)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(?:title|titel)$", re.IGNORECASE)
_LIST_STYLE = re.compile(r"^(?:list\s*(?:bullet|number|paragraph)|listeafsnit|opstilling)", re.IGNORECASE)
_TOC_STYLE = re.compile(r"^(?:toc|indholdsfortegnelse)\s*\d", re.IGNORECASE)
#: A core-properties title Word fills in from an old file name, not a real title.
_PLACEHOLDER_TITLE = re.compile(r"^(?:microsoft word\s*-|word document$)", re.IGNORECASE)


@dataclass(frozen=True)
class _Role:
    """What a paragraph style makes of its paragraphs."""

    heading: int = 0  # heading level, 0 for none
    title: bool = False
    list_item: bool = False
    skip: bool = False  # a table of contents line


def read_docx(path: Path) -> ExtractedDocument:
    """The Word file at ``path`` as a document; :class:`ExtractionError` if it cannot be read."""
    _check_container(path)
    document = _open(path)
    writer = BodyWriter()
    walker = _Walker(document, writer)
    walker.walk(document.element.body)
    if writer.empty:
        raise ExtractionError("empty", f"{path.name} contains no text; add text to it or leave it out.")
    body, _ = writer.finish()
    meta = _core_metadata(document)
    title = meta.pop("title") or walker.title or walker.first_heading
    return ExtractedDocument(body=body, title=title, publisher=_company(document), **meta)


# --- opening the file ----------------------------------------------------------------------------

def _check_container(path: Path) -> None:
    """Reject an old binary ``.doc``, an encrypted file and anything that is not a zip package."""
    with path.open("rb") as handle:
        head = handle.read(len(OLE_MAGIC))
    if head == OLE_MAGIC:
        if _ENCRYPTED_STREAM in path.read_bytes():
            raise ExtractionError("encrypted", f"{path.name} is password-protected; save a copy without a "
                                               "password and add that instead.")
        raise ExtractionError("unsupported", f"{path.name} is an old Word document (.doc); open it in Word, "
                                             "save it as .docx and add that instead.")
    if not zipfile.is_zipfile(path):
        raise ExtractionError("corrupt", f"{path.name} is damaged or not a Word document; open it in Word, "
                                         "save it again as .docx and add that copy.")


def _open(path: Path) -> Document:
    try:
        return docx.Document(str(path))
    except ValueError as exc:
        if "is not a Word file" in str(exc):
            raise ExtractionError("unsupported", f"{path.name} is another kind of Office file, not a Word "
                                                 "document; save it as .docx.") from exc
        raise _damaged(path) from exc
    except Exception as exc:  # a broken package fails in many ways (zip, XML, missing parts)
        raise _damaged(path) from exc


def _damaged(path: Path) -> ExtractionError:
    return ExtractionError("corrupt", f"{path.name} is damaged and cannot be read; open it in Word, save it "
                                      "again as .docx and add that copy.")


# --- the body ------------------------------------------------------------------------------------

class _Walker:
    """Writes the body's blocks in document order; remembers the title and first heading."""

    def __init__(self, document: Document, writer: BodyWriter) -> None:
        self._styles = document.styles.element
        self._writer = writer
        self._roles: dict[str | None, _Role] = {}
        self.title: str | None = None
        self.first_heading: str | None = None

    def walk(self, container: etree._Element) -> None:
        """Paragraphs and tables of ``container`` (the body, or a content control's content)."""
        for child in container:
            if child.tag == qn("w:p"):
                self._paragraph(child)
            elif child.tag == qn("w:tbl"):
                for item in table_items(_table_rows(child)):
                    self._writer.list_item(item)
            elif child.tag == qn("w:sdt") and not _is_table_of_contents(child):
                for content in child.iterfind(qn("w:sdtContent")):
                    self.walk(content)
            elif child.tag == qn("w:customXml"):
                self.walk(child)

    def _paragraph(self, p: etree._Element) -> None:
        text = clean_text(_paragraph_text(p))
        if not text:
            return
        role = self._role(p)
        if role.skip:
            return
        if role.heading:
            self._writer.heading(role.heading, text)
            if role.title and self.title is None:
                self.title = text
            if self.first_heading is None:
                self.first_heading = text
        elif role.list_item:
            self._writer.list_item(text)
        else:
            self._writer.paragraph(text)

    def _role(self, p: etree._Element) -> _Role:
        """The paragraph's own outline level and numbering, else its style's role."""
        style_id = _val(p, "./w:pPr/w:pStyle")
        style = self._style_role(style_id)
        level = _outline_level(p)
        if level is not None:
            return _Role(heading=level, title=style.title and level == 1, skip=style.skip)
        if style.heading or style.skip:
            return style
        numbered = (_val(p, "./w:pPr/w:numPr/w:numId") or "0") != "0"
        return _Role(list_item=True) if numbered else style

    def _style_role(self, style_id: str | None) -> _Role:
        if style_id not in self._roles:
            style = self._styles.get_by_id(style_id) if style_id else None
            if style is None:
                style = self._styles.default_for(WD_STYLE_TYPE.PARAGRAPH)
            self._roles[style_id] = _role_of_style(style)
        return self._roles[style_id]


def _role_of_style(style: etree._Element | None) -> _Role:
    """Heading level, title, list or table-of-contents line, from the style or the styles it is
    based on (the nearest one that says)."""
    seen: set[str | None] = set()  # style ids: "based on" can loop
    while style is not None and style.get(qn("w:styleId")) not in seen:
        seen.add(style.get(qn("w:styleId")))
        names = [name for name in (style.get(qn("w:styleId")), style.name_val) if name]
        role = _role_from_names(names)
        if role is not None:
            return role
        level = _outline_level(style)
        if level is not None:
            return _Role(heading=level)
        if (_val(style, "./w:pPr/w:numPr/w:numId") or "0") != "0":
            return _Role(list_item=True)
        style = style.base_style
    return _Role()


def _role_from_names(names: list[str]) -> _Role | None:
    for name in names:
        heading = _HEADING_STYLE.match(name.strip())
        if heading:
            return _Role(heading=int(heading.group(1)))
        if _TITLE_STYLE.match(name.strip()):
            return _Role(heading=1, title=True)
        if _TOC_STYLE.match(name.strip()):
            return _Role(skip=True)
        if _LIST_STYLE.match(name.strip()):
            return _Role(list_item=True)
    return None


def _outline_level(element: etree._Element) -> int | None:
    """Heading level 1–9 from ``w:outlineLvl`` (0-based; 9 means body text, 0 returned as None)."""
    value = _val(element, "./w:pPr/w:outlineLvl")
    if value is None or not value.isdigit():
        return None
    level = int(value)
    return level + 1 if level < 9 else None


@functools.cache
def _xpath(expression: str) -> etree.XPath:
    """A compiled XPath with the ``w``/``mc`` prefixes (python-docx's elements take no namespaces)."""
    return etree.XPath(expression, namespaces=_NS)


def _val(element: etree._Element, xpath: str) -> str | None:
    """The ``w:val`` of the first element ``xpath`` finds, if any."""
    found = _xpath(xpath)(element)
    return found[0].get(qn("w:val")) if found else None


def _paragraph_text(p: etree._Element) -> str:
    """A ``w:p`` element's text as Word shows it (tabs and breaks as whitespace)."""
    parts = []
    for node in _TEXT_PARTS(p):
        tag = etree.QName(node).localname
        if tag == "t":
            parts.append(node.text or "")
        else:
            parts.append("-" if tag == "noBreakHyphen" else " ")
    return "".join(parts)


def _is_table_of_contents(sdt: etree._Element) -> bool:
    gallery = _xpath("./w:sdtPr/w:docPartObj/w:docPartGallery/@w:val")(sdt)
    return bool(gallery) and "contents" in gallery[0].lower()


def _table_rows(tbl: etree._Element) -> list[list[str | None]]:
    """Each row's cells on the table grid: a cell's text at its first column, None where a merged
    cell (across columns or continued from the row above) covers the grid."""
    rows: list[list[str | None]] = []
    for tr in _xpath("./w:tr | ./w:sdt/w:sdtContent/w:tr")(tbl):
        row: list[str | None] = [None] * int(_val(tr, "./w:trPr/w:gridBefore") or 0)
        for tc in _xpath("./w:tc | ./w:sdt/w:sdtContent/w:tc")(tr):
            span = int(_val(tc, "./w:tcPr/w:gridSpan") or 1)
            merge = _xpath("./w:tcPr/w:vMerge")(tc)
            continued = bool(merge) and merge[0].get(qn("w:val"), "continue") == "continue"
            text = None if continued else " ".join(_paragraph_text(p) for p in tc.iter(qn("w:p")))
            row.extend([text] + [None] * (max(span, 1) - 1))
        rows.append(row)
    return rows


# --- metadata ------------------------------------------------------------------------------------

def _core_metadata(document: Document) -> dict[str, str | None]:
    """Title, author, dates and language from ``docProps/core.xml``, when the file has one."""
    empty: dict[str, str | None] = dict.fromkeys(("title", "author", "published", "modified", "language"))
    if not _has_part(document, CT.OPC_CORE_PROPERTIES):
        return empty  # python-docx would make up a default ("Word Document", modified now)
    props = document.core_properties
    title = clean_text(props.title or "")
    return {
        "title": None if not title or _PLACEHOLDER_TITLE.match(title) else title,
        "author": clean_text(props.author or "") or None,
        "published": iso_date(props.created),
        "modified": iso_date(props.modified),
        "language": language_code(props.language),
    }


def _has_part(document: Document, content_type: str) -> bool:
    return any(part.content_type == content_type for part in document.part.package.iter_parts())


def _company(document: Document) -> str | None:
    """``Company`` from ``docProps/app.xml``, if the file names one."""
    for part in document.part.package.iter_parts():
        if part.content_type != CT.OFC_EXTENDED_PROPERTIES:
            continue
        try:
            root = etree.fromstring(part.blob, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            return None
        company = root.find("ep:Company", _NS)
        text = clean_text(company.text or "") if company is not None else ""
        return text or None
    return None


__all__ = ["OLE_MAGIC", "read_docx"]
