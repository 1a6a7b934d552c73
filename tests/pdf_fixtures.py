"""Small, deterministic PDFs for the tests, drawn with reportlab in DejaVu Sans (so æ, ø and å
render and come back as text).

``write_pdf`` takes a list of blocks: ``("h1" | "h2" | "h3", text)``, ``("p", text)``,
``("li", text)``, ``("table", rows)`` and ``("pagebreak",)``. A line break inside a ``"p"``
text (``"\\n"``) forces a line end there, e.g. to end a line on a hyphen (``"sam-\\narbejde"``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFString
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageBreak, PageTemplate, Paragraph, Table, TableStyle

from indexer.markdown import read_blocks

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
BODY_SIZE = 10.5
HEADING_SIZES = {"h1": 20.0, "h2": 16.0, "h3": 13.0}
MARGIN = 72.0  # one inch: the body stays clear of the top and bottom 8 % of the page
GUTTER = 24.0

Block = tuple[Any, ...]
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)


def register_fonts() -> None:
    """Register DejaVu Sans and DejaVu Sans Bold with reportlab (once)."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def _styles(heading_sizes: dict[str, float] | None = None) -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("p", fontName=FONT, fontSize=BODY_SIZE, leading=BODY_SIZE * 1.3, spaceAfter=6)
    styles = {"p": body,
              "li": ParagraphStyle("li", parent=body, leftIndent=16, bulletIndent=4, bulletFontName=FONT,
                                   spaceAfter=2)}
    for name, size in {**HEADING_SIZES, **(heading_sizes or {})}.items():
        styles[name] = ParagraphStyle(name, fontName=BOLD, fontSize=size, leading=size * 1.25,
                                      spaceBefore=size * 0.6, spaceAfter=size * 0.4)
    return styles


def _markup(text: str) -> str:
    """``text`` as reportlab paragraph markup: escaped, a line break where the text has one."""
    return "<br/>".join(escape(line) for line in text.split("\n"))


def _pdf_date(day: dt.date) -> str:
    return f"D:{day:%Y%m%d}120000+01'00'"


class _Document(BaseDocTemplate):
    """A document template that draws the running header and page numbers and adds an outline
    entry for every heading."""

    def __init__(self, path: Path, *, columns: int, running_header: str | None, page_numbers: bool,
                 outline: bool, created: dt.date | None, lang: str | None, pagesize: tuple[float, float],
                 **info: Any) -> None:
        super().__init__(str(path), pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                         bottomMargin=MARGIN, invariant=1, **info)
        self._running_header = running_header
        self._page_numbers = page_numbers
        self._outline = outline
        self._created = created
        self._lang = lang
        self._last_level = -1
        width = (self.width - GUTTER * (columns - 1)) / columns
        frames = [Frame(self.leftMargin + i * (width + GUTTER), self.bottomMargin, width, self.height,
                        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id=f"column{i}")
                  for i in range(columns)]
        self.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=self._decorate)])

    def beforeDocument(self) -> None:
        if self._created is not None:
            stamp = _pdf_date(self._created)
            self.canv.setDateFormatter(lambda *_: stamp)
        if self._lang:
            self.canv._doc.Catalog.Lang = PDFString(self._lang)

    def _decorate(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = self.pagesize
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        if self._running_header:
            canvas.drawString(self.leftMargin, height - 36, self._running_header)
        if self._page_numbers:
            canvas.drawCentredString(width / 2, 30, f"Side {doc.page}")
        canvas.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:
        level = getattr(flowable, "outline_level", None)
        if not self._outline or level is None:
            return
        level = min(level, self._last_level + 1)  # an outline may not skip a level
        key = f"heading{id(flowable)}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level, closed=False)
        self._last_level = level


def _table(rows: Sequence[Sequence[str]]) -> Table:
    register_fonts()
    table = Table([list(row) for row in rows])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTNAME", (0, 0), (-1, 0), BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), 9.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    table.spaceAfter = 8
    return table


def _flowables(blocks: Sequence[Block], heading_sizes: dict[str, float] | None = None) -> list[Flowable]:
    styles = _styles(heading_sizes)
    flowables: list[Flowable] = []
    for block in blocks:
        kind = block[0]
        if kind == "pagebreak":
            flowables.append(PageBreak())
        elif kind == "table":
            flowables.append(_table(block[1]))
        elif kind == "li":
            flowables.append(Paragraph(_markup(block[1]), styles["li"], bulletText="•"))
        elif kind in HEADING_SIZES:
            heading = Paragraph(_markup(block[1]), styles[kind])
            heading.outline_level = int(kind[1]) - 1
            flowables.append(heading)
        elif kind == "p":
            flowables.append(Paragraph(_markup(block[1]), styles["p"]))
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    return flowables


def write_pdf(path: Path, blocks: Sequence[Block], *, title: str | None = None, author: str | None = None,
              created: dt.date | None = None, columns: int = 1, running_header: str | None = None,
              page_numbers: bool = True, outline: bool = True, lang: str | None = None,
              pagesize: tuple[float, float] = A4, heading_sizes: dict[str, float] | None = None) -> Path:
    """Write ``blocks`` as a PDF at ``path``: headings at 20/16/13 pt bold over 10.5 pt body text
    (``heading_sizes`` overrides some, e.g. ``{"h2": BODY_SIZE}``), an outline entry per heading
    when ``outline``, "Side N" at the foot of every page and ``running_header`` at the top.
    ``created`` becomes both CreationDate and ModDate."""
    info = {key: value for key, value in {"title": title, "author": author}.items() if value is not None}
    document = _Document(Path(path), columns=columns, running_header=running_header, page_numbers=page_numbers,
                         outline=outline, created=created, lang=lang, pagesize=pagesize, **info)
    document.build(_flowables(blocks, heading_sizes))
    return Path(path)


def markdown_blocks(markdown_text: str) -> tuple[dict[str, Any], list[Block]]:
    """The front matter and the blocks (headings, paragraphs, list items) of a corpus document."""
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(markdown_text)
    if match:
        meta = yaml.safe_load(match.group(1) or "") or {}
        markdown_text = markdown_text[match.end():]
    blocks: list[Block] = []
    for block in read_blocks(markdown_text):
        texts = [" ".join(markdown_text[start:end].split()) for start, end in block.ranges]
        if block.kind == "heading":
            blocks.append((f"h{min(block.level, 3)}", texts[0]))
        elif block.kind == "list":
            blocks.extend(("li", text) for text in texts if text)
        else:
            blocks.append(("p", texts[0]))
    return meta, blocks


def markdown_to_pdf(markdown_text: str, path: Path, *, title: str | None = None, author: str | None = None,
                    pagesize: tuple[float, float] = A5) -> Path:
    """A corpus Markdown document as a PDF via :func:`write_pdf`, on A5 pages so that even a short
    document runs over several pages (and paragraphs over page breaks). The title defaults to
    the front matter's."""
    meta, blocks = markdown_blocks(markdown_text)
    return write_pdf(path, blocks, title=title if title is not None else meta.get("title"), author=author,
                     pagesize=pagesize)


def write_two_column_pdf(path: Path, left_paragraphs: Sequence[str], right_paragraphs: Sequence[str], *,
                         heading: str | None = None) -> Path:
    """One A4 page: an optional full-width heading, then two columns side by side whose lines sit
    at the same heights (two frames with the same top and style)."""
    styles = _styles()
    width, height = A4
    canvas = Canvas(str(path), pagesize=A4, invariant=1)
    top = height - MARGIN
    if heading:
        frame = Frame(MARGIN, top - 40, width - 2 * MARGIN, 40, leftPadding=0, rightPadding=0, topPadding=0,
                      bottomPadding=0)
        frame.addFromList([Paragraph(_markup(heading), styles["h1"])], canvas)
        top -= 48
    column = (width - 2 * MARGIN - GUTTER) / 2
    for index, paragraphs in enumerate((left_paragraphs, right_paragraphs)):
        frame = Frame(MARGIN + index * (column + GUTTER), MARGIN, column, top - MARGIN, leftPadding=0,
                      rightPadding=0, topPadding=0, bottomPadding=0)
        frame.addFromList([Paragraph(_markup(text), styles["p"]) for text in paragraphs], canvas)
    canvas.showPage()
    canvas.save()
    return Path(path)


def scan_image(lines: Sequence[str], *, size: tuple[int, int] = (1654, 2339), font_px: int = 36) -> Image.Image:
    """A white page image (A4 at 200 dpi) with ``lines`` drawn large and clear in DejaVu Sans."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), font_px)
    y = 160
    for line in lines:
        if line:
            draw.text((140, y), line, fill=0, font=font)
        y += int(font_px * 1.7)
    return image


def _draw_scan(canvas: Canvas, lines: Sequence[str]) -> None:
    width, height = canvas._pagesize
    buffer = io.BytesIO()
    scan_image(lines).save(buffer, format="PNG")
    buffer.seek(0)
    canvas.drawImage(ImageReader(buffer), 0, 0, width=width, height=height)


def write_scanned_pdf(path: Path, lines: Sequence[str]) -> Path:
    """One image-only A4 page (no text layer) showing ``lines``, like a scanned letter."""
    canvas = Canvas(str(path), pagesize=A4, invariant=1)
    _draw_scan(canvas, lines)
    canvas.showPage()
    canvas.save()
    return Path(path)


def _text_page(canvas: Canvas, lines: Sequence[str]) -> None:
    register_fonts()
    canvas.setFont(FONT, BODY_SIZE)
    y = A4[1] - MARGIN
    for line in lines:
        canvas.drawString(MARGIN, y, line)
        y -= BODY_SIZE * 1.3
    canvas.showPage()


def write_mixed_pdf(path: Path, text_lines: Sequence[str], scanned_lines: Sequence[str]) -> Path:
    """Two A4 pages: page 1 has a text layer with ``text_lines``, page 2 is an image-only scan."""
    canvas = Canvas(str(path), pagesize=A4, invariant=1)
    _text_page(canvas, text_lines)
    _draw_scan(canvas, scanned_lines)
    canvas.showPage()
    canvas.save()
    return Path(path)


_SECRET_LINES = ("Fortroligt notat om peerstøtte.", "Mødet blev holdt i Århus med ærlige svar.")


def write_encrypted_pdf(path: Path, user_password: str = "hemmelig") -> Path:
    """A one-page PDF that opens only with ``user_password``."""
    canvas = Canvas(str(path), pagesize=A4, invariant=1,
                    encrypt=StandardEncryption(user_password, ownerPassword="ejer-" + user_password))
    _text_page(canvas, _SECRET_LINES)
    canvas.save()
    return Path(path)


def write_owner_only_encrypted_pdf(path: Path) -> Path:
    """A one-page encrypted PDF with only an owner password (printing and copying restricted):
    every reader opens it without asking for a password."""
    encryption = StandardEncryption("", ownerPassword="ejerkode", canModify=0, canCopy=0, canAnnotate=0)
    canvas = Canvas(str(path), pagesize=A4, invariant=1, encrypt=encryption)
    _text_page(canvas, _SECRET_LINES)
    canvas.save()
    return Path(path)


def write_corrupt_pdf(path: Path, *, truncated: bool = False) -> Path:
    """Not a readable PDF: junk after a ``%PDF-1.4`` header, or (``truncated``) the first third of
    a real PDF."""
    if truncated:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, invariant=1)
        _text_page(canvas, ["Denne fil blev afbrudt midt i overførslen."] * 20)
        canvas.save()
        data = buffer.getvalue()
        Path(path).write_bytes(data[: len(data) // 3])
    else:
        Path(path).write_bytes(b"%PDF-1.4\n" + b"dette er ikke en rigtig pdf-fil \x00\xff\xfe\n" * 40)
    return Path(path)


def write_empty_pdf(path: Path) -> Path:
    """One blank A4 page: no text, no images."""
    canvas = Canvas(str(path), pagesize=A4, invariant=1)
    canvas.showPage()
    canvas.save()
    return Path(path)


__all__ = ["BODY_SIZE", "HEADING_SIZES", "markdown_blocks", "markdown_to_pdf", "register_fonts", "scan_image",
           "write_corrupt_pdf", "write_empty_pdf", "write_encrypted_pdf", "write_mixed_pdf",
           "write_owner_only_encrypted_pdf", "write_pdf", "write_scanned_pdf", "write_two_column_pdf"]
