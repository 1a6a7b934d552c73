"""Plain text (``.txt``) and Markdown (``.md``) files, and the small helpers every reader shares:
tables as list items, ISO dates, language codes and web addresses from metadata."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from indexer.markdown import read_blocks
from indexer.sources.body import BodyWriter, clean_text
from indexer.sources.extracted import ExtractedDocument, ExtractionError

#: A plain-text line that is a list item, and the marker to drop.
_BULLET = re.compile(r"^\s*[-*•]\s+")
_BLANK_LINES = re.compile(r"\n[ \t\f\v]*\n")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2}))?(?:$|[T ])")
_LANGUAGE = re.compile(r"^([A-Za-z]{2})(?:$|[-_])")
#: The longest first line that can still be a plain-text file's title.
TITLE_MAX = 120


# --- helpers shared by the readers ---------------------------------------------------------------

def looks_binary(text: str) -> bool:
    """NUL, or more than one in a hundred characters a control code no text file uses."""
    if "\0" in text:
        return True
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f\v")
    return controls > max(2, len(text) // 100)


def iso_date(value: Any) -> str | None:
    """``"YYYY-MM-DD"`` (or ``"YYYY"``) from a date, a datetime or an ISO-like string; else None."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, int) and 1000 <= value <= 9999:
        return str(value)
    match = _ISO_DATE.match(str(value or "").strip())
    if not match:
        return None
    year, month, day = match.groups()
    return f"{year}-{month}-{day}" if month else year


def language_code(value: Any) -> str | None:
    """The two-letter ISO 639-1 code at the start of a language tag (``"da-DK"`` → ``"da"``)."""
    match = _LANGUAGE.match(str(value or "").strip())
    return match.group(1).lower() if match else None


def web_url(value: Any) -> str | None:
    """``value`` if it is an http(s) address, else None."""
    text = str(value or "").strip()
    return text if re.match(r"^https?://[^\s/]+\S*$", text, re.IGNORECASE) else None


def _optional(value: Any) -> str | None:
    text = clean_text(str(value)) if value is not None else ""
    return text or None


# --- plain text ----------------------------------------------------------------------------------

def read_text(path: Path) -> ExtractedDocument:
    """A ``.txt`` file: blank-line separated paragraphs, ``- ``/``* ``/``• `` lines as list items,
    and a short first line standing alone as the title."""
    text, warnings = _decode_text(path)
    blocks = [block for block in _BLANK_LINES.split(text) if block.strip()]
    if not blocks:
        raise ExtractionError("empty", f"{path.name} contains no text; add text to it or leave it out.")
    writer = BodyWriter()
    title = _plain_title(blocks)
    if title:
        writer.heading(1, title)
        blocks = blocks[1:]
    for block in blocks:
        _write_plain_block(writer, block)
    body, _ = writer.finish()
    return ExtractedDocument(body=body, title=title, warnings=tuple(warnings))


def _decode_text(path: Path) -> tuple[str, list[str]]:
    """The file's text with ``\\n`` line ends: UTF-8 (a BOM allowed, also UTF-16 with a BOM),
    else Windows-1252 with a warning."""
    data = path.read_bytes()
    warnings: list[str] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_or_corrupt(data, "utf-16", path)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            warnings.append(f"{path.name} is not UTF-8; it was read as Windows-1252 (Western European), "
                            "so check that æ, ø and å look right.")
    if looks_binary(text):
        raise ExtractionError("corrupt", f"{path.name} is not a text file (it holds binary data); "
                                         "save it as plain text and add it again.")
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings


def _decode_or_corrupt(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExtractionError("corrupt", f"{path.name} cannot be read as {encoding.upper()} text; "
                                         "save it again as UTF-8 and add it again.") from exc


def _plain_title(blocks: list[str]) -> str | None:
    """The first block as a title: one short line without a final period, with more text after it."""
    first = blocks[0].strip()
    if len(blocks) < 2 or "\n" in first or len(first) > TITLE_MAX or first.endswith("."):
        return None
    if _BULLET.match(first):
        return None
    return clean_text(first) or None


def _write_plain_block(writer: BodyWriter, block: str) -> None:
    """One blank-line separated block: list items (an indented line continues its item), and
    other lines joined into paragraphs."""
    runs: list[tuple[str, list[str]]] = []  # ("item" | "paragraph", lines)
    for line in block.split("\n"):
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        if bullet:
            runs.append(("item", [line[bullet.end():]]))
        elif runs and (runs[-1][0] == "paragraph" or line[:1].isspace()):
            runs[-1][1].append(line)
        else:
            runs.append(("paragraph", [line]))
    for kind, lines in runs:
        (writer.list_item if kind == "item" else writer.paragraph)(" ".join(lines))


# --- Markdown ------------------------------------------------------------------------------------

def read_markdown(path: Path) -> ExtractedDocument:
    """A ``.md`` file: its body as written, metadata from optional YAML front matter, the title
    falling back to the first heading."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError("corrupt", f"{path.name} is not UTF-8 text; save it as UTF-8 and add it again.") from exc
    if "\0" in text:
        raise ExtractionError("corrupt", f"{path.name} is not a text file (it holds binary data).")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body, title_from, warnings = _split_front_matter(text, path)
    if not body.strip():
        raise ExtractionError("empty", f"{path.name} has no text after its front matter; add the document text.")
    return ExtractedDocument(
        body=body,
        title=_optional(meta.get("title")) or _first_heading(body, title_from),
        publisher=_optional(meta.get("publisher")),
        author=_optional(meta.get("author")),
        published=iso_date(meta.get("published") or meta.get("date")),
        modified=iso_date(meta.get("modified")),
        language=language_code(meta.get("language")),
        source_url=web_url(meta.get("source_url")),
        warnings=tuple(warnings),
    )


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str, int, list[str]]:
    """``(metadata, body, where a heading may give the title, warnings)``. Front matter that is
    not YAML key/value pairs stays in the body, with a warning, but gives no title."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, _LEADING_BLANK_LINES.sub("", text), 0, []
    try:
        meta = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError:
        meta = "broken"
    if meta is not None and not isinstance(meta, dict):
        warning = f"{path.name}: the front matter is not valid YAML, so it was read as part of the text."
        return {}, text, match.end(), [warning]
    return meta or {}, _LEADING_BLANK_LINES.sub("", text[match.end():]), 0, []


def _first_heading(body: str, after: int = 0) -> str | None:
    """The text of the first heading that starts at or after offset ``after``."""
    for block in read_blocks(body):
        if block.kind == "heading" and block.start >= after:
            start, end = block.ranges[0]
            return clean_text(body[start:end]) or None
    return None


__all__ = ["TITLE_MAX", "iso_date", "language_code", "looks_binary", "read_markdown", "read_text", 
           "web_url"]
