"""Saved web pages (``.html``/``.htm``): the main content, as trafilatura finds it, with its
headings, paragraphs, lists and tables; menus, cookie banners and footers left out."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura
from lxml import etree

from indexer.sources.body import BodyWriter, clean_text, table_items
from indexer.sources.extracted import ExtractedDocument, ExtractionError
from indexer.sources.text import iso_date, language_code, looks_binary, web_url

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
#: ``<meta charset=…>``, ``<meta http-equiv content="…; charset=…">`` or ``<?xml encoding=…?>``.
_DECLARED = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)"
                       rb"|<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.IGNORECASE)
#: Labels browsers read as Windows-1252, which is a superset of them.
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "windows-1252", "cp1252"}
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
#: Only the publication date a page states in its markup, not one guessed from its text.
_DATE_PARAMS = {"original_date": True, "extensive_search": False}

#: Elements whose text is never content (the fallback walk; trafilatura drops them itself).
_SKIP = frozenset({"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
                   "button", "select", "svg", "iframe", "object", "canvas", "graphic", "title", "meta"})
_BLOCK = frozenset({"p", "div", "section", "article", "main", "body", "blockquote", "quote", "pre", "figure",
                    "figcaption", "address", "dl", "dt", "dd", "details", "summary", "fieldset", "center",
                    "hgroup", "caption", "hr"})
_LISTS = frozenset({"ul", "ol", "menu", "list"})
_ITEMS = frozenset({"li", "item"})
_BREAKS = frozenset({"br", "lb"})
_HEADING = re.compile(r"^h([1-6])$")
_BANNER = re.compile(r"cookie|consent|gdpr", re.IGNORECASE)
#: A banner is short; a long element with "cookie" in its class is more likely the page itself.
_BANNER_MAX = 2000
_PAGE = frozenset({"html", "body", "main", "article"})


def read_html(path: Path) -> ExtractedDocument:
    """The web page saved at ``path`` as a document; :class:`ExtractionError` if it has no text."""
    text = _decode(path)
    tree = _parse(text)
    if tree is None:
        raise _empty(path)
    extracted = trafilatura.bare_extraction(
        text, favor_recall=True, with_metadata=True, include_tables=True, include_formatting=True,
        include_comments=False, include_images=False, include_links=False, date_extraction_params=_DATE_PARAMS,
    )
    writer = BodyWriter()
    if extracted is not None and extracted.body is not None:
        _Walk(writer).top(extracted.body)
    if writer.empty:  # too short for trafilatura, or nothing it recognised as content
        _Walk(writer).top(_main_element(tree))
        extracted = trafilatura.extract_metadata(tree, date_config=_DATE_PARAMS)
    if writer.empty:
        raise _empty(path)
    body, _ = writer.finish()
    return _document(body, tree, extracted)


def _empty(path: Path) -> ExtractionError:
    return ExtractionError("empty", f"{path.name} has no readable text; save the page again with its content "
                                    "(in the browser: Save as, Web page, complete).")


# --- decoding ------------------------------------------------------------------------------------

def _decode(path: Path) -> str:
    """The page's text: by its byte-order mark, else its declared charset, else UTF-8, else
    Windows-1252."""
    data = path.read_bytes()
    if not data.strip():
        raise _empty(path)
    text = _decode_bytes(data)
    if text is None or looks_binary(text):
        raise ExtractionError("corrupt", f"{path.name} is not a readable web page (it holds binary or "
                                         "garbled data); save the page again from the browser.")
    return text


def _decode_bytes(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _try(data[len(bom):], encoding)
    if b"\0" in data:
        return None
    declared = _declared_encoding(data[:4096])
    if declared and declared != "utf-8" and not data.isascii() and _try(data, "utf-8") is not None:
        declared = "utf-8"  # non-ASCII bytes that are valid UTF-8 are UTF-8, whatever the page claims
    for encoding in (declared, "utf-8", "cp1252"):
        text = _try(data, encoding) if encoding else None
        if text is not None:
            return text
    return None


def _declared_encoding(head: bytes) -> str | None:
    """The codec the page declares, the way a browser reads the label; None if unknown."""
    match = _DECLARED.search(head)
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "utf-8" if name.startswith("utf-16") else name  # bytes without a BOM are not UTF-16


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _parse(text: str) -> etree._Element | None:
    try:
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", text))
    except (etree.ParserError, ValueError):
        return None


# --- the body ------------------------------------------------------------------------------------

def _main_element(tree: etree._Element) -> etree._Element:
    """``<main>``, else the page's one ``<article>``, else ``<body>``, else the whole page."""
    for xpath in ("//main", "//article", "//body"):
        found = tree.xpath(xpath)
        if len(found) == 1 or (found and xpath == "//body"):
            return found[0]
    return tree


def _role(element: etree._Element) -> str:
    """How the walk treats an HTML element or an element of trafilatura's XML: ``skip``,
    ``heading``, ``list``, ``item``, ``table``, ``break``, ``block`` or ``inline``."""
    if not isinstance(element.tag, str):
        return "skip"  # comments, processing instructions
    tag = element.tag.lower()
    if tag in _SKIP or _hidden(element):
        return "skip"
    if _HEADING.match(tag) or tag == "head":  # trafilatura's heading; an HTML <head> is skipped
        parent = element.getparent()
        return "skip" if tag == "head" and (parent is None or parent.tag == "html") else "heading"
    for role, tags in (("list", _LISTS), ("item", _ITEMS), ("break", _BREAKS), ("block", _BLOCK)):
        if tag in tags:
            return role
    if tag == "table":
        return "table"
    return "block" if _holds_blocks(element) else "inline"


def _hidden(element: etree._Element) -> bool:
    """Not shown, or a cookie/consent banner (a short element named so; never the page itself)."""
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    style = (element.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    names = f"{element.get('id', '')} {element.get('class', '')}"
    return (element.tag.lower() not in _PAGE and _BANNER.search(names) is not None
            and len("".join(element.itertext())) < _BANNER_MAX)


def _holds_blocks(element: etree._Element) -> bool:
    """An inline element wrapped around blocks (a link around a whole card, say)."""
    for node in element.iterdescendants():
        if isinstance(node.tag, str):
            tag = node.tag.lower()
            if tag in _BLOCK or tag in _LISTS or tag == "table" or _HEADING.match(tag):
                return True
    return False


def _heading_level(element: etree._Element) -> int:
    match = _HEADING.match(element.tag.lower()) or _HEADING.match(element.get("rend") or "")
    return int(match.group(1)) if match else 2


def _inline_text(element: etree._Element, *, lists: bool = True) -> str:
    """The text inside ``element`` (not its tail), line breaks as spaces, hidden parts left out;
    without nested lists if ``lists`` is false."""
    parts = [element.text or ""]
    for child in element:
        role = _role(child)
        if role == "break":
            parts.append(" ")
        elif role == "inline":
            parts.append(_inline_text(child))
        elif role != "skip" and (lists or role != "list"):
            parts.append(f" {_inline_text(child)} ")  # a block inside: keep its words apart
        parts.append(child.tail or "")
    return "".join(parts)


class _Walk:
    """Writes an element's blocks: text between blocks becomes paragraphs."""

    def __init__(self, writer: BodyWriter) -> None:
        self._writer = writer

    def top(self, element: etree._Element) -> None:
        """The blocks of ``element`` itself (trafilatura may hand back a lone ``<nav>``: no content)."""
        role = _role(element)
        if role in ("inline", "break"):
            self.container(element)
        elif role != "skip":
            self.block(element, role)

    def container(self, element: etree._Element) -> None:
        pending = [element.text or ""]
        for child in element:
            role = _role(child)
            if role == "break":
                pending.append(" ")
            elif role == "inline":
                pending.append(_inline_text(child))
            elif role != "skip":
                self._writer.paragraph("".join(pending))
                pending = []
                self.block(child, role)
            pending.append(child.tail or "")
        self._writer.paragraph("".join(pending))

    def block(self, element: etree._Element, role: str) -> None:
        if role == "heading":
            self._writer.heading(_heading_level(element), _inline_text(element))
        elif role == "list":
            for child in element:
                child_role = _role(child)
                if child_role == "item":
                    self.item(child)
                elif child_role not in ("skip", "inline", "break"):
                    self.block(child, child_role)
        elif role == "item":
            self.item(element)
        elif role == "table":
            for text in table_items(_table_rows(element)):
                self._writer.list_item(text)
        else:
            self.container(element)

    def item(self, element: etree._Element) -> None:
        """A list item, then the items of lists nested in it."""
        self._writer.list_item(_inline_text(element, lists=False))
        for nested in _nested_lists(element):
            self.block(nested, "list")


def _nested_lists(element: etree._Element) -> Iterator[etree._Element]:
    for child in element:
        role = _role(child)
        if role == "list":
            yield child
        elif role not in ("skip", "break"):
            yield from _nested_lists(child)


def _table_rows(table: etree._Element) -> list[list[str | None]]:
    """Each row's cells on the table grid, None where a cell spanning columns or rows covers it."""
    rows: list[list[str | None]] = []
    carried: dict[int, int] = {}  # column → rows a cell above still covers
    for tr in table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr | ./row"):
        row: list[str | None] = []
        for cell in tr.xpath("./td | ./th | ./cell"):
            while carried.get(len(row), 0) > 0:
                carried[len(row)] -= 1
                row.append(None)
            row.append(_inline_text(cell))
            span, down = _span(cell, "colspan"), _span(cell, "rowspan")
            if down > 1:
                carried.update(dict.fromkeys(range(len(row) - 1, len(row) - 1 + span), down - 1))
            row.extend([None] * (span - 1))
        rows.append(row)
    return rows


def _span(cell: etree._Element, name: str) -> int:
    value = (cell.get(name) or "1").strip()
    return min(int(value), 100) if value.isdigit() and int(value) > 0 else 1


# --- metadata ------------------------------------------------------------------------------------

def _document(body: str, tree: etree._Element, extracted: Any) -> ExtractedDocument:
    """The body with the page's metadata, as trafilatura read it, and its declared language."""

    def field(name: str) -> str | None:
        value = getattr(extracted, name, None)
        return (clean_text(value) or None) if isinstance(value, str) else None

    return ExtractedDocument(
        body=body,
        title=field("title") or _first_h1(tree),
        publisher=field("sitename"),
        author=field("author"),
        published=iso_date(field("date")),
        language=_language(tree),
        source_url=_own_url(tree) or web_url(field("url")),
    )


def _own_url(tree: etree._Element) -> str | None:
    """The page's canonical link, else its ``og:url``, if an absolute http(s) address."""
    for xpath in ("//link[translate(@rel, 'CANONICAL', 'canonical')='canonical']/@href",
                  "//meta[@property='og:url']/@content"):
        for value in tree.xpath(xpath):
            url = web_url(value)
            if url:
                return url
    return None


def _first_h1(tree: etree._Element) -> str | None:
    """The first ``<h1>``, else ``<title>`` (when trafilatura found no title)."""
    for tag in ("h1", "title"):
        for element in tree.iter(tag):
            text = clean_text("".join(element.itertext()))
            if text:
                return text
    return None


def _language(tree: etree._Element) -> str | None:
    """``<html lang>``, else a content-language or ``og:locale`` meta tag."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += tree.xpath("//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
                             "='content-language']/@content | //meta[@property='og:locale']/@content")
    for candidate in candidates:
        code = language_code(candidate)
        if code:
            return code
    return None


__all__ = ["read_html"]
