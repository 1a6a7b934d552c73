"""PDF files: text, structure and page starts, with pdfplumber (pdfminer.six) and, for pages
without a text layer, tesseract through :mod:`indexer.sources.ocr`.

How a page becomes Markdown blocks:

1. Characters (upright, de-duplicated, ``(cid:NN)`` junk dropped, NFKC) become words; words
   inside a table that pdfplumber's table finder sees are left out, the table is one box.
2. Running headers and footers (the top and bottom 8 % of a page, repeated on at least half of
   the pages) and page numbers are removed.
3. The page is cut into flows: a vertical gutter free of text over most of the page's rows makes
   columns, read left before right; rows that cross the gutter (a full-width heading) stay in
   place between them. Single-column pages are one flow.
4. Words become lines; lines become headings (font size clearly above the body size, or the
   title of an outline entry), list items (a bullet or ``1.``/``a)`` marker), tables (one list
   item per data row) and paragraphs (split at a larger gap, an indent or a size change; line-end
   hyphens joined).

A paragraph cut by a page (or column) break continues when the next part starts in lower case.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import re
import string
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import pdfplumber
import pypdfium2 as pdfium
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdftypes import PDFObjRef, resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text
from pdfplumber.utils import extract_words
from pdfplumber.utils.exceptions import PdfminerException

from indexer.sources.body import BodyWriter, clean_text, table_items
from indexer.sources.extracted import ExtractedDocument, ExtractionError
from indexer.sources.ocr import OcrFailed, ocr_available, ocr_image

#: Share of the page height at the top and at the bottom where running headers and footers live.
MARGIN_ZONE = 0.08
#: A line at least this many times the body size is a heading.
HEADING_RATIO = 1.15
#: A merged heading longer than this is large-print text (a lead paragraph), not a heading.
HEADING_MAX_CHARS = 200
#: … and so is a larger-size run of at least this many words that ends with a full stop.
HEADING_SENTENCE_WORDS = 12
#: Resolution pages are rendered at for OCR, and the most pixels on a rendered page's long side.
OCR_DPI = 300
OCR_MAX_SIDE = 7000
#: Fewer usable characters than this on a page mostly covered by an image: a scan with a stamp.
SCAN_TEXT_CHARS = 30

_CID = re.compile(r"\(cid:\d+\)")
_DIGITS = re.compile(r"\d+")
#: Dot leaders of a table of contents ("Indledning . . . . . 3").
_LEADER = re.compile(r"(?:\s?\.){5,}\s*")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:side|s\.|page|p\.|pag\.)\s*)?[-–—]?\s*(?:\d{1,4}|[ivxlc]{1,7})\s*[-–—]?"
    r"(?:\s*(?:/|af|of|ud af)\s*\d{1,4})?$", re.IGNORECASE)
#: Bullet glyphs that mark a list item wherever they start a line.
_BULLETS = "•▪◦●■□▫‣►▸∙·○◆◇➢➤✓✔"
#: Markers that start a list item only where a new block may start (a dash also runs on prose).
_AMBIGUOUS_BULLETS = "–—-*"
_BULLET = re.compile(rf"^([{re.escape(_BULLETS + _AMBIGUOUS_BULLETS)}])\s+(\S.*)$")
_NUMBERED = re.compile(r"^(?:\d{1,3}[.)]|[a-zA-Z]\))\s+\S")
_HYPHENS = "-\u2010"
_LAST_WORD = re.compile(r"(\w+)[-\u2010]$")
_FIRST_WORD = re.compile(r"^(\w+)")
#: Words after a line-end hyphen that show a suspended compound ("børne- og ungeområdet").
_SUSPENSION_WORDS = frozenset({"og", "eller", "samt", "som", "til", "and", "or", "to"})
_CLOSERS = "\"'”’»)]"
_SENTENCE_END = ".!?…:"
_AUTHOR_JUNK = re.compile(r"^\(?(?:anonymous|unspecified|unknown|ukendt)\)?$", re.IGNORECASE)
_PDF_DATE = re.compile(r"^(?:D:)?\s*(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?")
_LANGUAGE = re.compile(r"^([A-Za-z]{2})(?:$|[-_])")
_TITLE_JUNK = re.compile(
    r"^(?:untitled|unknown|no title|ingen titel|uden titel|\(?anonymous\)?|\(?unspecified\)?"
    r"|(?:document|dokument|doc)\s*\d*)$"
    r"|^microsoft (?:word|powerpoint|excel)\s*-"
    r"|\.(?:docx?|pdf|odt|rtf|txt|pptx?|xlsx?|indd)$", re.IGNORECASE)


# --- the pieces of a page ------------------------------------------------------------------------

@dataclass(slots=True)
class _Box:
    """A word, or (``rows`` set) a whole table, with its position (points from the page's top left)."""

    x0: float
    x1: float
    top: float
    bottom: float
    text: str = ""
    size: float = 0.0
    rows: list[list[str]] | None = None

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(slots=True)
class _Line:
    """One line of text in one flow (column), or a table."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float  # the baseline, near enough: the lowest bottom of the line's main-size words
    size: float  # the size most of the line's characters have, rounded to half a point
    flow: int
    rows: list[list[str]] | None = None


@dataclass(slots=True)
class _Page:
    """What one page gave before the document-wide decisions."""

    number: int
    height: float
    boxes: list[_Box] = field(default_factory=list)
    has_text: bool = False
    needs_ocr: bool = False
    lines: list[_Line] = field(default_factory=list)


@dataclass(slots=True)
class _Block:
    kind: str  # "heading", "paragraph" or "item"
    text: str
    level: int = 0


@dataclass(slots=True)
class _OutlineEntry:
    level: int
    page: int | None
    used: bool = False


# --- reading the file ----------------------------------------------------------------------------

def read_pdf(path: Path, *, ocr_languages: str | None = "dan+eng", max_pages: int | None = None) -> ExtractedDocument:
    """``path`` as a Markdown body with one page start per page, metadata and warnings.

    ``ocr_languages`` are the tesseract languages for pages without a text layer (None: no OCR).
    Raises :class:`ExtractionError` for a password-protected, damaged, blank or too long file, or
    one whose pages are all scans that cannot be read.
    """
    path = Path(path)
    name = path.name
    warnings: list[str] = []
    with _open(path) as pdf:
        page_count = _page_count(pdf, name)
        if page_count == 0:
            raise ExtractionError("empty", f"{name} has no pages; check that it is the right file.")
        if max_pages is not None and page_count > max_pages:
            raise ExtractionError("too_large", f"{name} has {page_count} pages, more than the limit of {max_pages}; "
                                               "split it into smaller files and add those.")
        meta = _metadata(pdf)
        outline = _outline(pdf)
        pages = _read_pages(pdf, name, warnings)
    if not any(page.has_text or page.needs_ocr for page in pages):
        raise ExtractionError("empty", f"{name} has no text and no images on any page; "
                                       "check that it is the right file.")
    ocr_on = any(page.needs_ocr for page in pages) and ocr_available(ocr_languages)
    _remove_running_lines([page for page in pages if page.has_text and not (page.needs_ocr and ocr_on)])
    for page in pages:
        page.lines = [line for flow, boxes in enumerate(_flows(page.boxes)) for line in _lines(boxes, flow)]
    layout = _Layout.of(pages, outline)
    page_blocks = _page_blocks(path, pages, layout, ocr_languages, ocr_on, warnings)
    if not any(page_blocks):
        if any(page.needs_ocr for page in pages):
            raise ExtractionError("no_text", _no_text_reason(name, ocr_languages, ocr_on))
        raise ExtractionError("empty", f"{name} has no text on any page; check that it is the right file.")
    body, page_starts = _write(page_blocks)
    title = _meaningful_title(meta.get("Title")) or next(
        (block.text for blocks in page_blocks for block in blocks if block.kind == "heading" and block.level == 1),
        None)
    return ExtractedDocument(
        body=body, title=clean_text(title) if title else None, page_starts=page_starts,
        author=_meaningful_author(meta.get("Author")), published=_pdf_date(meta.get("CreationDate")),
        modified=_pdf_date(meta.get("ModDate")), language=meta.get("Lang"), warnings=tuple(warnings))


class _open:
    """``pdfplumber.open`` as a context manager that turns failures into ExtractionError."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pdf: pdfplumber.PDF | None = None

    def __enter__(self) -> pdfplumber.PDF:
        name = self._path.name
        try:
            self._pdf = pdfplumber.open(self._path)
        except PdfminerException as error:
            cause = error.args[0] if error.args else error
            if isinstance(cause, PDFPasswordIncorrect):
                raise ExtractionError("encrypted", f"{name} is password-protected; save a copy without a password "
                                                   "and add that.") from error
            if isinstance(cause, PDFEncryptionError):
                raise ExtractionError("encrypted", f"{name} uses an encryption this import cannot open; save a copy "
                                                   "without a password or protection and add that.") from error
            raise ExtractionError("corrupt", _corrupt_reason(name)) from error
        except OSError:
            raise
        except Exception as error:  # pdfminer raises many kinds of errors on a broken file
            raise ExtractionError("corrupt", _corrupt_reason(name)) from error
        return self._pdf

    def __exit__(self, *exc_info: object) -> None:
        if self._pdf is not None:
            self._pdf.close()


def _corrupt_reason(name: str) -> str:
    return (f"{name} is damaged or not a PDF and cannot be read; open it in a PDF viewer, save or export it "
            "as PDF again, and add that copy.")


def _no_text_reason(name: str, languages: str | None, ocr_on: bool) -> str:
    if ocr_on:
        return (f"{name} has only scanned pages and OCR could not read any text on them; check the scan, "
                "or add a version of the document with text.")
    if languages is None:
        return (f"{name} has no text layer (it looks like a scan) and OCR is turned off; turn on OCR "
                f"(with {_ocr_packages(languages)} installed), then add it again.")
    return (f"{name} has no text layer (it looks like a scan) and OCR is not available; "
            f"install {_ocr_packages(languages)}, then add it again.")


def _skipped_scan(number: int, languages: str | None) -> str:
    advice = (f"turn on OCR (with {_ocr_packages(languages)} installed)" if languages is None
              else f"install {_ocr_packages(languages)}")
    return f"page {number} has no text layer (a scan?) and was skipped; {advice} to read it"


def _ocr_reason(languages: str | None) -> str:
    return "OCR is turned off" if languages is None else f"OCR needs {_ocr_packages(languages)}"


def _ocr_packages(languages: str | None) -> str:
    """The Debian packages OCR in ``languages`` needs: "tesseract-ocr and tesseract-ocr-dan"."""
    wanted = [language for language in (languages or "dan+eng").split("+") if language and language != "eng"]
    return " and ".join(["tesseract-ocr", *(f"tesseract-ocr-{language}" for language in wanted)])


def _page_count(pdf: pdfplumber.PDF, name: str) -> int:
    try:
        return len(pdf.pages)
    except Exception as error:  # a broken page tree
        raise ExtractionError("corrupt", _corrupt_reason(name)) from error


def _read_pages(pdf: pdfplumber.PDF, name: str, warnings: list[str]) -> list[_Page]:
    """Every page's words and tables; a page pdfminer cannot parse is skipped with a warning."""
    pages: list[_Page] = []
    failed = 0
    for number, page in enumerate(pdf.pages, start=1):
        try:
            pages.append(_read_page(page, number))
        except Exception:  # pdfminer raises many kinds of errors on a broken page
            failed += 1
            warnings.append(f"page {number} could not be read (the file is partly damaged) and was skipped")
            pages.append(_Page(number, 0.0))
        finally:
            page.close()
    if failed == len(pages):
        raise ExtractionError("corrupt", _corrupt_reason(name))
    return pages


# --- one page: characters, words, tables ---------------------------------------------------------

def _read_page(page: Any, number: int) -> _Page:
    width, height = float(page.width), float(page.height)
    result = _Page(number, height)
    chars = _unique_upright(page.chars)
    cid = sum(1 for char in chars if char["text"].startswith("(cid:"))
    usable = sum(1 for char in chars if not char["text"].startswith("(cid:") and not char["text"].isspace())
    images = page.images
    covered = max((_area(image) for image in images), default=0.0) / max(width * height, 1.0)
    result.has_text = usable > 0 and cid <= usable
    result.needs_ocr = ((bool(images) and usable == 0) or (cid > usable)
                        or (usable < SCAN_TEXT_CHARS and covered >= 0.4))
    if not result.has_text:
        return result
    tables = _tables(page)
    chars = [char for char in chars if not char["text"].startswith("(cid:")
             and not any(_inside(char, box) for box in tables)]
    result.boxes = [*_words(chars), *tables]
    return result


def _unique_upright(chars: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upright characters, each printed once (fake bold prints a glyph twice, a hair apart)."""
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for char in chars:
        if not char.get("upright", True):
            continue
        key = (char["text"], round(char["x0"]), round(char["top"]))
        if key not in seen:
            seen.add(key)
            unique.append(char)
    return unique


def _area(obj: dict[str, Any]) -> float:
    return max(0.0, float(obj["x1"]) - float(obj["x0"])) * max(0.0, float(obj["bottom"]) - float(obj["top"]))


def _inside(char: dict[str, Any], box: _Box) -> bool:
    x, y = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
    return box.x0 <= x <= box.x1 and box.top <= y <= box.bottom


def _words(chars: list[dict[str, Any]]) -> list[_Box]:
    """Words (split at spaces and at gaps wider than 0.15 em) with their font size."""
    words = extract_words(chars, x_tolerance_ratio=0.15, y_tolerance=3, keep_blank_chars=False, extra_attrs=["size"])
    boxes = []
    for word in words:
        text = unicodedata.normalize("NFKC", _CID.sub("", word["text"])).strip()
        if text:
            boxes.append(_Box(float(word["x0"]), float(word["x1"]), float(word["top"]), float(word["bottom"]),
                              text, round(float(word["size"]) * 2) / 2))
    return boxes


def _tables(page: Any) -> list[_Box]:
    """Ruled tables of at least two rows and two columns, as boxes holding their cleaned rows."""
    if not (page.lines or page.rects):
        return []
    boxes = []
    for table in page.find_tables():
        rows = _table_rows(table.extract())
        if len(rows) >= 2 and max(len(row) for row in rows) >= 2:
            x0, top, x1, bottom = table.bbox
            boxes.append(_Box(float(x0), float(x1), float(top), float(bottom), rows=rows))
    return boxes


def _table_rows(raw: Sequence[Sequence[str | None]]) -> list[list[str]]:
    """Cells cleaned (NFKC, one line, no cid junk); empty rows and empty columns dropped."""
    rows = [[clean_text(unicodedata.normalize("NFKC", _CID.sub("", cell or ""))) for cell in row] for row in raw]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    keep = [column for column in range(width) if any(row[column] for row in rows)]
    return [[row[column] for column in keep] for row in rows]


# --- running headers, footers and page numbers ---------------------------------------------------

def _remove_running_lines(pages: list[_Page]) -> None:
    """Drop lines in the top and bottom margin zone that repeat (digits aside) on at least half
    of the pages (with three pages or more), and lines there that are only a page number."""
    margin_rows = {page.number: _margin_rows(page) for page in pages}
    counts: Counter[str] = Counter()
    for rows in margin_rows.values():
        counts.update({_running_key(row) for row in rows})
    repeated = {key for key, count in counts.items() if len(pages) >= 3 and count >= math.ceil(len(pages) / 2)}
    for page in pages:
        drop: set[int] = set()
        for row in margin_rows[page.number]:
            if _running_key(row) in repeated or _is_page_number(_row_text(row)):
                drop.update(id(box) for box in row)
            else:
                drop.update(id(box) for segment in _segments(row) if _is_page_number(_row_text(segment))
                            for box in segment)
        if drop:
            page.boxes = [box for box in page.boxes if id(box) not in drop]


def _margin_rows(page: _Page) -> list[list[_Box]]:
    zone = page.height * MARGIN_ZONE
    boxes = [box for box in page.boxes if box.rows is None
             and (box.middle < zone or box.middle > page.height - zone)]
    return _group_rows(boxes)


def _row_text(row: Sequence[_Box]) -> str:
    return " ".join(box.text for box in sorted(row, key=lambda box: box.x0))


def _running_key(row: Sequence[_Box]) -> str:
    return _DIGITS.sub("#", _row_text(row)).casefold()


def _segments(row: Sequence[_Box]) -> list[list[_Box]]:
    """A margin row cut where words are far apart (a title left, a page number right)."""
    segments: list[list[_Box]] = []
    for box in sorted(row, key=lambda box: box.x0):
        if segments and box.x0 - segments[-1][-1].x1 < 2 * max(box.size, 1.0):
            segments[-1].append(box)
        else:
            segments.append([box])
    return segments


def _is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()))


# --- reading order: rows, columns, lines ---------------------------------------------------------

def _group_rows(boxes: Iterable[_Box]) -> list[list[_Box]]:
    """Boxes in rows, top to bottom: a box joins the row above when their vertical middles lie
    within each other's extent."""
    rows: list[list[_Box]] = []
    top = bottom = 0.0
    for box in sorted(boxes, key=lambda box: (box.top, box.x0)):
        if rows and (top <= box.middle <= bottom or box.top <= (top + bottom) / 2 <= box.bottom):
            rows[-1].append(box)
            top, bottom = min(top, box.top), max(bottom, box.bottom)
        else:
            rows.append([box])
            top, bottom = box.top, box.bottom
    return rows


def _flows(boxes: list[_Box], depth: int = 0) -> list[list[_Box]]:
    """The page's boxes as flows in reading order: columns left to right, with rows that cross
    the gutter (a full-width heading) as flows of their own in between."""
    rows = _group_rows(boxes)
    gutter = _gutter(rows) if depth < 3 and len(rows) >= 3 else None
    if gutter is None:
        return [boxes] if boxes else []
    flows: list[list[_Box]] = []
    region: list[list[_Box]] = []
    spanning = False
    for row in rows:
        if _crosses(row, gutter):
            flows.extend(_split(region, gutter, depth))
            region = []
            if spanning:
                flows[-1].extend(row)
            else:
                flows.append(list(row))
            spanning = True
        else:
            region.append(row)
            spanning = False
    flows.extend(_split(region, gutter, depth))
    return flows


def _split(rows: list[list[_Box]], gutter: float, depth: int) -> list[list[_Box]]:
    left = [box for row in rows for box in row if box.centre < gutter]
    right = [box for row in rows for box in row if box.centre >= gutter]
    return [flow for side in (left, right) if side for flow in _flows(side, depth + 1)]


#: Half the width of the strip that must be free of text to count as a gutter.
_GUTTER_HALF = 3.0


def _crosses(row: Sequence[_Box], x: float) -> bool:
    return any(box.x0 - _GUTTER_HALF < x < box.x1 + _GUTTER_HALF for box in row)


def _gutter(rows: list[list[_Box]]) -> float | None:
    """The x of a vertical strip in the middle 60 % of the text width that at most a fifth of the
    rows cross and with at least three rows of text on either side; None for one column."""
    x0 = min(box.x0 for row in rows for box in row)
    x1 = max(box.x1 for row in rows for box in row)
    if x1 - x0 < 100:
        return None
    low, high = int(x0 + 0.2 * (x1 - x0)), int(x0 + 0.8 * (x1 - x0))
    crossing = [0] * (high - low + 2)
    for row in rows:
        for start, end in _merged((box.x0 - _GUTTER_HALF, box.x1 + _GUTTER_HALF) for box in row):
            first, last = max(math.ceil(start), low), min(math.floor(end), high)
            if first <= last:
                crossing[first - low] += 1
                crossing[last - low + 1] -= 1
    counts, running = [], 0
    for delta in crossing[:-1]:
        running += delta
        counts.append(running)
    fewest = min(counts)
    if fewest > 0.2 * len(rows):
        return None
    gutter = low + _widest_run(counts, fewest)
    return gutter if _two_sided(rows, gutter, x0, x1) else None


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _widest_run(counts: list[int], value: int) -> float:
    """The middle index of the longest run of ``value`` in ``counts``."""
    best, best_length, start = 0.0, -1, None
    for index, count in enumerate([*counts, value + 1]):
        if count == value and start is None:
            start = index
        elif count != value and start is not None:
            if index - start > best_length:
                best, best_length = (start + index - 1) / 2, index - start
            start = None
    return best


def _two_sided(rows: list[list[_Box]], gutter: float, x0: float, x1: float) -> bool:
    """Whether enough rows have text on both sides of ``gutter``, and each side is wide enough to
    be a column rather than a row of labels."""
    open_rows = [row for row in rows if not _crosses(row, gutter)]
    left = [row for row in open_rows if any(box.x1 < gutter for box in row)]
    right = [row for row in open_rows if any(box.x0 > gutter for box in row)]
    both = [row for row in left if any(box.x0 > gutter for box in row)]
    if len(left) < 3 or len(right) < 3 or len(both) < 2:
        return False
    left_width = max(box.x1 for row in left for box in row if box.x1 < gutter) - x0
    right_width = x1 - min(box.x0 for row in right for box in row if box.x0 > gutter)
    return min(left_width, right_width) >= 0.25 * (x1 - x0)


def _lines(boxes: list[_Box], flow: int) -> list[_Line]:
    """One flow's boxes as lines, top to bottom; a table is a line of its own."""
    tables = [box for box in boxes if box.rows is not None]
    lines = [_line(row, flow) for row in _group_rows(box for box in boxes if box.rows is None)]
    lines.extend(_Line("", box.x0, box.x1, box.top, box.bottom, 0.0, flow, rows=box.rows) for box in tables)
    return sorted(lines, key=lambda line: line.top)


def _line(row: list[_Box], flow: int) -> _Line:
    row = sorted(row, key=lambda box: box.x0)
    sizes: Counter[float] = Counter()
    for box in row:
        sizes[box.size] += len(box.text)
    size = sizes.most_common(1)[0][0]
    parts = [row[0].text]
    for before, box in itertools.pairwise(row):
        parts.append(box.text if box.x0 - before.x1 < 0.1 * max(size, 1.0) else " " + box.text)
    bottom = max(box.bottom for box in row if box.size == size)
    return _Line(_LEADER.sub(" ", "".join(parts)).strip(), row[0].x0, max(box.x1 for box in row), min(box.top for box in row), bottom,
                 size, flow)


# --- document-wide measures: body size, heading levels, line spacing ----------------------------

@dataclass
class _Layout:
    """What the whole document says about its type: the body size, the heading level of each
    larger size, the usual baseline distance per size, its words (for hyphens), its outline."""

    body_size: float
    levels: dict[float, int]
    spacing: dict[float, float]
    vocabulary: set[str]
    outline: dict[str, list[_OutlineEntry]]

    @classmethod
    def of(cls, pages: list[_Page], outline: dict[str, list[_OutlineEntry]]) -> _Layout:
        lines = [line for page in pages for line in page.lines if line.rows is None]
        sizes: Counter[float] = Counter()
        for line in lines:
            sizes[line.size] += len(line.text)
        body = sizes.most_common(1)[0][0] if sizes else 0.0
        layout = cls(body, {}, _spacing(pages), _vocabulary(lines), outline)
        layout.levels = layout._size_levels(pages)
        return layout

    def is_heading_size(self, size: float) -> bool:
        return self.body_size > 0 and size >= HEADING_RATIO * self.body_size

    def usual_spacing(self, size: float) -> float:
        return self.spacing.get(size, 1.2 * size)

    def outline_level(self, text: str, page: int) -> int | None:
        """The outline depth of an unused outline entry titled ``text`` on ``page`` (or with no
        known page); marks it used."""
        for entry in self.outline.get(_outline_key(text), ()):
            if not entry.used and entry.page in (None, page):
                entry.used = True
                return entry.level
        return None

    def _size_levels(self, pages: list[_Page]) -> dict[float, int]:
        """Heading level per heading size: the outline's depth where headings of that size match
        outline entries, else one below the next larger size (the largest size being 1)."""
        matched: dict[float, Counter[int]] = defaultdict(Counter)
        sizes: set[float] = set()
        for page in pages:
            for size, text in _heading_runs(page.lines, self):
                sizes.add(size)
                level = next((entry.level for entry in self.outline.get(_outline_key(text), ())
                              if entry.page in (None, page.number)), None)
                if level is not None:
                    matched[size][level] += 1
        heading_sizes = sorted(sizes, reverse=True)
        levels: dict[float, int] = {}
        current = 0
        for size in heading_sizes:
            current = matched[size].most_common(1)[0][0] if matched.get(size) else current + 1
            levels[size] = min(max(current, 1), 6)
        return levels


def _spacing(pages: list[_Page]) -> dict[float, float]:
    """The most common baseline-to-baseline distance between neighbouring lines of one size."""
    distances: dict[float, Counter[float]] = defaultdict(Counter)
    for page in pages:
        for before, line in itertools.pairwise(page.lines):
            if line.flow == before.flow and line.rows is None and before.rows is None and line.size == before.size:
                distance = line.bottom - before.bottom
                if 0 < distance < 3 * line.size:
                    distances[line.size][round(distance * 2) / 2] += 1
    return {size: counter.most_common(1)[0][0] for size, counter in distances.items()}


def _vocabulary(lines: Iterable[_Line]) -> set[str]:
    """Every word of the document, lower case, as printed (hyphenated compounds kept whole)."""
    words: set[str] = set()
    for line in lines:
        words.update(word.strip(string.punctuation + "”’»«“‘").casefold() for word in line.text.split())
    return words


def _heading_runs(lines: list[_Line], layout: _Layout) -> Iterator[tuple[float, str]]:
    """The headings set in a larger size, as (size, text), merged over lines as the assembler
    merges them; large-print runs too long for a heading left out."""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.rows is None and layout.is_heading_size(line.size):
            end = _heading_end(lines, index)
            text = " ".join(lines[i].text for i in range(index, end))
            if _heading_like(text):
                yield line.size, text
            index = end
        else:
            index += 1


def _heading_like(text: str) -> bool:
    """Short enough for a heading, and not a long sentence ending in a full stop (large print)."""
    return len(text) <= HEADING_MAX_CHARS and not (text.endswith(".") and len(text.split()) >= HEADING_SENTENCE_WORDS)


def _heading_end(lines: list[_Line], start: int) -> int:
    """Past the last line of the heading that starts at ``start``: following lines of the same
    size, in the same flow, at most two sizes further down."""
    end = start + 1
    while (end < len(lines) and lines[end].rows is None and lines[end].flow == lines[start].flow
           and lines[end].size == lines[start].size
           and 0 < lines[end].bottom - lines[end - 1].bottom <= 2 * lines[start].size):
        end += 1
    return end


# --- the outline ---------------------------------------------------------------------------------

def _outline(pdf: pdfplumber.PDF) -> dict[str, list[_OutlineEntry]]:
    """Outline (bookmark) entries by normalised title, with their depth and page when known."""
    entries: dict[str, list[_OutlineEntry]] = defaultdict(list)
    try:
        page_numbers = {page.page_obj.pageid: number for number, page in enumerate(pdf.pages, start=1)}
        for level, title, dest, action, _ in pdf.doc.get_outlines():
            text = _text_value(title)
            if text:
                page = _destination_page(pdf.doc, dest, action, page_numbers)
                entries[_outline_key(text)].append(_OutlineEntry(min(max(int(level), 1), 6), page))
    except Exception:  # no outline (PDFNoOutlines) or a broken one: headings come from font sizes
        return {}
    return dict(entries)


def _destination_page(doc: Any, dest: Any, action: Any, page_numbers: dict[int, int]) -> int | None:
    try:
        if dest is None and action is not None:
            action = resolve1(action)
            if isinstance(action, dict) and getattr(action.get("S"), "name", None) == "GoTo":
                dest = action.get("D")
        dest = resolve1(dest)
        if isinstance(dest, (bytes, str, PSLiteral)):
            dest = resolve1(doc.get_dest(dest.name if isinstance(dest, PSLiteral) else dest))
        if isinstance(dest, dict):
            dest = resolve1(dest.get("D"))
        if isinstance(dest, list) and dest:
            target = dest[0]
            if isinstance(target, PDFObjRef):
                return page_numbers.get(target.objid)
            if isinstance(target, int):  # some producers give a page index
                return target + 1
    except Exception:  # an unresolvable destination: the entry matches on any page
        return None
    return None


def _outline_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(".: ")


# --- lines to blocks -----------------------------------------------------------------------------

def _page_blocks(path: Path, pages: list[_Page], layout: _Layout, ocr_languages: str | None, ocr_on: bool,
                 warnings: list[str]) -> list[list[_Block]]:
    """Each page's blocks; scanned pages read by OCR (when ``ocr_on``) or skipped with a warning."""
    result: list[list[_Block]] = []
    with _Renderer(path) as renderer:
        for page in pages:
            if page.needs_ocr and ocr_on and ocr_languages:
                result.append(_ocr_page(renderer, page.number, ocr_languages, warnings, layout))
            elif page.has_text:
                result.append(_Assembler(layout, page.number).blocks(page.lines))
                if page.needs_ocr:
                    warnings.append(f"page {page.number} looks like a scan with only a few words of text; those "
                                    f"were read, the rest of the page was not ({_ocr_reason(ocr_languages)})")
            elif page.needs_ocr:
                warnings.append(_skipped_scan(page.number, ocr_languages))
                result.append([])
            else:
                result.append([])
    return result


class _Assembler:
    """Turns one page's lines into headings, list items, table items and paragraphs."""

    def __init__(self, layout: _Layout, page: int) -> None:
        self.layout = layout
        self.page = page
        self.out: list[_Block] = []
        self.current: _Block | None = None  # the open paragraph or list item
        self.last: _Line | None = None  # its last line
        self.marker_x0 = 0.0  # where the open list item's marker starts
        self.flow_left: dict[int, float] = {}
        self.flow_right: dict[int, float] = {}

    def blocks(self, lines: list[_Line]) -> list[_Block]:
        for line in lines:
            if line.rows is None:
                self.flow_left[line.flow] = min(self.flow_left.get(line.flow, line.x0), line.x0)
                self.flow_right[line.flow] = max(self.flow_right.get(line.flow, line.x1), line.x1)
        index = 0
        while index < len(lines):
            index = self._take(lines, index)
        self._close()
        return self.out

    def _take(self, lines: list[_Line], index: int) -> int:
        """Handle the unit that starts at ``lines[index]``; return the index after it."""
        line = lines[index]
        if line.rows is not None:
            self._close()
            self.out.extend(_Block("item", text) for text in table_items(line.rows))
            return index + 1
        if self.layout.is_heading_size(line.size):
            end = _heading_end(lines, index)
            text = " ".join(lines[i].text for i in range(index, end))
            if not _heading_like(text):  # large print (a lead paragraph): text, every line of it
                for i in range(index, end):
                    self._text_line(lines[i])
                return end
            level = self.layout.outline_level(text, self.page) or self.layout.levels.get(line.size, 1)
            self._heading(level, text)
            return end
        heading = self._outline_heading(lines, index)
        if heading:
            return heading
        self._text_line(line)
        return index + 1

    def _outline_heading(self, lines: list[_Line], index: int) -> int:
        """A body-size line (or two) whose text is an outline entry's title: a heading."""
        if not self.layout.outline:
            return 0
        line = lines[index]
        candidates = [(line.text, index + 1)]
        following = lines[index + 1] if index + 1 < len(lines) else None
        if (following is not None and following.rows is None and following.flow == line.flow
                and following.size == line.size):
            candidates.append((line.text + " " + following.text, index + 2))
        for text, end in candidates:
            level = self.layout.outline_level(text, self.page)
            if level is not None:
                self._heading(level, text)
                return end
        return 0

    def _heading(self, level: int, text: str) -> None:
        self._close()
        self.out.append(_Block("heading", text, level))

    def _text_line(self, line: _Line) -> None:
        current, last = self.current, self.last
        new_flow = last is not None and last.flow != line.flow
        if (current is not None and new_flow and current.kind == "paragraph" and not _ends_sentence(current.text)
                and line.text[:1].islower()):  # a paragraph running on into the next column
            self._extend(line)
            return
        starts_block = current is None or new_flow or (last is not None and self._breaks(last, line))
        if _is_item_start(line.text, starts_block or current is None or current.kind == "item"
                          or _ends_sentence(current.text)):
            self._close()
            match = _BULLET.match(line.text)
            self.current = _Block("item", match.group(2) if match else line.text)
            self.last, self.marker_x0 = line, line.x0
            return
        if current is not None and not starts_block and (current.kind == "paragraph" or self._continues_item(line)):
            self._extend(line)
            return
        self._close()
        self.current, self.last = _Block("paragraph", line.text), line

    def _continues_item(self, line: _Line) -> bool:
        """A line under an open list item that belongs to it: indented past the marker, or flush
        with it while the item's sentence is still running (never a line left of the marker)."""
        assert self.current is not None
        if line.x0 > self.marker_x0 + 1:
            return True
        return line.x0 >= self.marker_x0 - 1 and not _ends_sentence(self.current.text)

    def _breaks(self, before: _Line, line: _Line) -> bool:
        """Whether ``line`` starts a new block after ``before`` in the same flow: another size,
        a gap larger than the usual line spacing, a first-line indent, or a short line ending a
        sentence above it."""
        if line.size != before.size:
            return True
        distance = line.bottom - before.bottom
        if distance < -1 or distance > self.layout.usual_spacing(line.size) + 0.3 * line.size:
            return True
        if self.current is not None and self.current.kind == "item":
            return False
        left, right = self.flow_left[line.flow], self.flow_right[line.flow]
        if line.x0 > left + 0.6 * line.size and before.x0 < left + 0.3 * line.size:
            return True
        return before.x1 < right - 0.3 * (right - left) and _ends_sentence(before.text)

    def _extend(self, line: _Line) -> None:
        assert self.current is not None
        self.current.text = _join(self.current.text, line.text, self.layout.vocabulary)
        self.last = line

    def _close(self) -> None:
        if self.current is not None:
            self.out.append(self.current)
        self.current = None
        self.last = None


def _is_item_start(text: str, may_start: bool) -> bool:
    """Whether a line starting with ``text`` is a new list item: an unambiguous bullet anywhere,
    a dash, star or number only where a new block may start."""
    match = _BULLET.match(text)
    if match:
        return match.group(1) in _BULLETS or may_start
    return may_start and bool(_NUMBERED.match(text))


def _ends_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSERS)[-1:] in tuple(_SENTENCE_END)


def _join(text: str, addition: str, vocabulary: set[str]) -> str:
    """``text`` and the next line's ``addition``: a space between, or a line-end hyphen removed
    before a lower-case continuation ("sam-" + "arbejde"), unless the hyphen belongs to the word
    (the document prints "peer-støtte" elsewhere) or the compound is suspended ("børne- og");
    kept before a capital or a digit ("IT-Afdelingen", "1990-2000")."""
    if text.endswith("\u00ad"):
        return text[:-1] + addition
    if not (text[-1:] in _HYPHENS and len(text) > 1 and text[-2].isalnum()):
        return text + " " + addition
    if addition[:1].isupper() or addition[:1].isdigit():  # a compound: "IT-Afdelingen", "1990-2000"
        return text + addition
    if not addition[:1].islower():
        return text + " " + addition
    head, tail = _LAST_WORD.search(text), _FIRST_WORD.match(addition)
    if head is None or tail is None:
        return text[:-1] + addition
    if tail.group(1).casefold() in _SUSPENSION_WORDS and tail.group(1) == addition.split()[0]:
        return text + " " + addition
    hyphenated = f"{head.group(1)}-{tail.group(1)}".casefold()
    joined = f"{head.group(1)}{tail.group(1)}".casefold()
    if hyphenated in vocabulary and joined not in vocabulary:
        return text + addition
    return text[:-1] + addition


# --- OCR -----------------------------------------------------------------------------------------

class _Renderer:
    """Renders pages with pypdfium2 for OCR; opens the file only when a page is needed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pdf: pdfium.PdfDocument | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pdf is not None:
            self._pdf.close()

    def png(self, number: int) -> bytes:
        """Page ``number`` (1-based) as a grey PNG at about 300 dpi."""
        if self._pdf is None:
            self._pdf = pdfium.PdfDocument(str(self._path))
        page = self._pdf[number - 1]
        try:
            width, height = page.get_size()
            scale = min(OCR_DPI / 72, OCR_MAX_SIDE / max(width, height, 1.0))
            image = page.render(scale=scale, grayscale=True).to_pil()
        finally:
            page.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", dpi=(OCR_DPI, OCR_DPI))
        return buffer.getvalue()


def _ocr_page(renderer: _Renderer, number: int, languages: str, warnings: list[str],
              layout: _Layout) -> list[_Block]:
    try:
        text = ocr_image(renderer.png(number), languages)
    except (OcrFailed, pdfium.PdfiumError) as error:
        warnings.append(f"page {number} has no text layer and OCR could not read it ({error}); it was skipped")
        return []
    warnings.append(f"page {number} was read by OCR")
    return _ocr_blocks(text, layout.vocabulary)


def _ocr_blocks(text: str, vocabulary: set[str]) -> list[_Block]:
    """Paragraphs (and bullet items) of OCR text: blank-line separated, lines joined."""
    blocks: list[_Block] = []
    for chunk in re.split(r"\n\s*\n", unicodedata.normalize("NFKC", text)):
        paragraph: _Block | None = None
        for raw in chunk.splitlines():
            line = clean_text(raw)
            if not line:
                continue
            match = _BULLET.match(line)
            if match and match.group(1) in _BULLETS:
                paragraph = _Block("item", match.group(2))
                blocks.append(paragraph)
            elif paragraph is None:
                paragraph = _Block("paragraph", line)
                blocks.append(paragraph)
            else:
                paragraph.text = _join(paragraph.text, line, vocabulary)
    return blocks


# --- writing -------------------------------------------------------------------------------------

def _write(page_blocks: list[list[_Block]]) -> tuple[str, tuple[int, ...]]:
    """The body and page starts; a paragraph cut by a page break continues on the next page when
    it did not end a sentence and the next page starts in lower case."""
    writer = BodyWriter()
    open_paragraph = False
    for blocks in page_blocks:
        writer.new_page()
        for index, block in enumerate(blocks):
            if block.kind == "heading":
                writer.heading(block.level, block.text)
            elif block.kind == "item":
                writer.list_item(block.text)
            elif index == 0 and open_paragraph and block.text[:1].islower():
                writer.continue_paragraph(block.text)
            else:
                writer.paragraph(block.text)
            open_paragraph = block.kind == "paragraph" and not _ends_sentence(block.text)
    return writer.finish()


# --- metadata ------------------------------------------------------------------------------------

def _metadata(pdf: pdfplumber.PDF) -> dict[str, Any]:
    meta = dict(pdf.metadata or {})
    try:
        lang = _text_value(resolve1(pdf.doc.catalog.get("Lang")))
    except Exception:  # a broken catalog entry: no language
        lang = None
    match = _LANGUAGE.match(lang or "")
    meta["Lang"] = match.group(1).lower() if match else None
    return meta


def _text_value(value: Any) -> str | None:
    """A metadata value as one clean line of text, or None."""
    if isinstance(value, PSLiteral):
        value = value.name
    if isinstance(value, bytes):
        value = decode_text(value)
    if not isinstance(value, str):
        return None
    text = clean_text(unicodedata.normalize("NFKC", value))
    return text or None


def _meaningful_title(value: Any) -> str | None:
    """The file's Title unless it is empty, a placeholder or a file name."""
    text = _text_value(value)
    if not text or _TITLE_JUNK.search(text) or not any(char.isalpha() for char in text):
        return None
    return text


def _meaningful_author(value: Any) -> str | None:
    """The file's Author unless it is a placeholder ("(anonymous)", "unknown")."""
    text = _text_value(value)
    if not text or _AUTHOR_JUNK.match(text):
        return None
    return text


def _pdf_date(value: Any) -> str | None:
    """``"D:20190315120000+01'00'"`` (or an ISO date) as ``"2019-03-15"``; ``"YYYY"`` when only
    the year is valid; None on junk."""
    match = _PDF_DATE.match(_text_value(value) or "")
    if not match:
        return None
    year, month, day = match.groups()
    if not 1900 <= int(year) <= 2200:
        return None
    if month is None or day is None or not 1 <= int(month) <= 12:
        return year
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return year


__all__ = ["read_pdf"]
