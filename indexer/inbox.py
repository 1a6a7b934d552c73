"""Importing the files users bring: the inbox folder becomes Markdown documents in the corpus.

The inbox (``PEERQA_INBOX_DIR``, by default ``corpus/inbox``) is the list of imported sources:
a file put there is read (``indexer.sources``) and written as ``corpus/imported/<id>.md`` with its
metadata and page map in the front matter, the original file copied beside it as
``corpus/imported/<id>.<suffix>``; a changed file is read again, and a removed file's document is
removed. Files are told apart by the sha256 of their bytes, so only new or changed files are read.

A file that cannot be used (password-protected, corrupt, empty, a scan without text and no OCR,
over the size limit, an unsupported format, or the same bytes as another file) is skipped and
recorded with its reason; it never stops the import, and the served index is untouched. What
each file became is kept in ``corpus/imported/imports.json`` for ``python -m indexer status``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml
from tqdm import tqdm

from indexer.documents import IMPORTED_FOLDER, CorpusError, body_digest, parse_document
from indexer.settings import Settings
from indexer.sources.extracted import ExtractedDocument, ExtractionError, SkipKind
from indexer.sources.readers import read_source, source_format

#: Bump when a reader changes what it makes of a file: every file is then read again.
READER_VERSION = 1
RECORDS_FILE = "imports.json"
_LOCK_FILE = ".import.lock"
#: Files an editor or a browser is still writing, and hidden files, are not sources.
_IGNORED = re.compile(r"^(\.|~\$)|\.(part|crdownload|tmp|swp)$", re.IGNORECASE)
_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa", "ß": "ss"})


@dataclass
class ImportRecord:
    """What one inbox file became."""

    name: str  # its path inside the inbox
    sha256: str
    size: int
    status: str  # "imported" or "skipped"
    doc_id: str | None = None
    kind: SkipKind | None = None  # why it was skipped
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    pages: int = 0
    reader_version: int = READER_VERSION

    @property
    def imported(self) -> bool:
        return self.status == "imported"

    def line(self) -> str:
        if self.imported:
            pages = f", {self.pages} pages" if self.pages else ""
            notes = "".join(f"\n    note: {w}" for w in self.warnings)
            return f"  {self.name} → {self.doc_id}{pages}{notes}"
        return f"  {self.name}: skipped ({self.kind}): {self.reason}"


@dataclass
class ImportReport:
    """What one pass over the inbox did."""

    read: list[ImportRecord] = field(default_factory=list)  # new or changed files read now
    unchanged: list[ImportRecord] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # document ids whose file left the inbox

    @property
    def changed(self) -> bool:
        """Whether the corpus changed (a document written or removed)."""
        return bool(self.removed) or any(r.imported for r in self.read)

    @property
    def skipped(self) -> list[ImportRecord]:
        return [r for r in self.read + self.unchanged if not r.imported]

    def lines(self) -> list[str]:
        imported = [r for r in self.read if r.imported]
        lines = [f"imported {len(imported)} new or changed file(s), {len(self.unchanged)} unchanged, "
                 f"removed {len(self.removed)} document(s), skipped {len(self.skipped)} file(s)"]
        lines += [r.line() for r in imported]
        lines += [f"  removed {doc_id} (its file left the inbox)" for doc_id in self.removed]
        if self.skipped:
            lines.append("skipped (the rest of the corpus is built without them):")
            lines += [r.line() for r in self.skipped]
        return lines


def imported_dir(settings: Settings) -> Path:
    return settings.corpus_dir / IMPORTED_FOLDER


def inbox_files(inbox: Path) -> list[Path]:
    """The source files in the inbox (sub-folders included), in name order."""
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.rglob("*") if p.is_file()
                  and not any(_IGNORED.search(part) for part in p.relative_to(inbox).parts))


def load_records(settings: Settings) -> dict[str, ImportRecord]:
    """The records of the last import, by inbox name (none before the first)."""
    path = imported_dir(settings) / RECORDS_FILE
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["files"]
        return {row["name"]: ImportRecord(**row) for row in rows}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def import_lock(settings: Settings) -> Iterator[None]:
    """One import (and the build after it) at a time, across processes."""
    folder = imported_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / _LOCK_FILE).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def add_files(paths: list[Path], settings: Settings) -> list[str]:
    """Copy ``paths`` (files, or folders searched for supported files) into the inbox; the
    names they got there. A file already in the inbox stays where it is."""
    inbox = settings.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    added: list[str] = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        sources = [path] if path.is_file() else [p for p in sorted(path.rglob("*"))
                                                  if p.is_file() and source_format(p) and not _IGNORED.search(p.name)]
        for source in sources:
            if source.resolve().is_relative_to(inbox.resolve()):
                added.append(source.resolve().relative_to(inbox.resolve()).as_posix())
                continue
            target = inbox / source.name
            if target.exists() and file_sha256(target) != file_sha256(source):
                target = _free_name(inbox, source.name)
            shutil.copy2(source, target)
            added.append(target.relative_to(inbox).as_posix())
    return added


def _free_name(folder: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(name)
    number = 2
    while (folder / f"{stem}-{number}{suffix}").exists():
        number += 1
    return folder / f"{stem}-{number}{suffix}"


def import_inbox(settings: Settings, progress: bool = False, locked: bool = False) -> ImportReport:
    """Bring ``corpus/imported`` in line with the inbox: read new and changed files, remove the
    documents of files that are gone, record what was skipped and why. ``locked``: the caller
    holds :func:`import_lock` already."""
    if locked:
        return _import(settings, progress)
    with import_lock(settings):
        return _import(settings, progress)


def _import(settings: Settings, progress: bool) -> ImportReport:
    inbox, folder = settings.inbox, imported_dir(settings)
    records = load_records(settings)
    report = ImportReport()
    current: dict[str, ImportRecord] = {}
    seen_hashes: dict[str, str] = {}  # sha256 → inbox name of the file imported with it
    files = inbox_files(inbox)
    present = {path.relative_to(inbox).as_posix() for path in files}
    # ids of the corpus's own documents and of files imported before are not given to a new file
    taken = _hand_written_ids(settings.corpus_dir) | {
        r.doc_id for r in records.values() if r.imported and r.doc_id and r.name in present}
    # Of files with the same bytes, the one imported before keeps its document; else the first by name.
    for name, record in records.items():
        if record.imported and name in present:
            seen_hashes.setdefault(record.sha256, name)
    bar = _progress(len(files), progress)
    for path in files:
        name = path.relative_to(inbox).as_posix()
        record = _import_one(path, name, records.get(name), seen_hashes, taken, settings)
        if record.imported:
            seen_hashes[record.sha256] = name
            taken.add(record.doc_id or "")
        current[name] = record
        previous = records.get(name)
        (report.unchanged if previous is not None and asdict(previous) == asdict(record) else report.read).append(record)
        bar.update(1)
    bar.close()
    kept = {r.doc_id for r in current.values() if r.imported}
    for old in records.values():
        if old.imported and old.doc_id not in kept:
            _remove_document(folder, old.doc_id or "")
            report.removed.append(old.doc_id or "")
    _write_records(folder, current)
    return report


def _import_one(path: Path, name: str, previous: ImportRecord | None, seen_hashes: dict[str, str],
                taken: set[str], settings: Settings) -> ImportRecord:
    size = path.stat().st_size
    if size > settings.max_file_mb * 1_000_000:  # not even hashed
        return ImportRecord(name, "", size, "skipped", kind="too_large", reason=(
            f"the file is {size / 1_000_000:.1f} MB, over the limit of {settings.max_file_mb:g} MB "
            "(PEERQA_MAX_FILE_MB)"))
    sha = file_sha256(path)
    if seen_hashes.get(sha, name) != name:
        return ImportRecord(name, sha, size, "skipped", kind="duplicate",
                            reason=f"the same content as {seen_hashes[sha]}, which is imported")
    folder = imported_dir(settings)
    if (previous is not None and previous.sha256 == sha and previous.reader_version == READER_VERSION
            and previous.kind != "duplicate"  # the file it duplicated may be gone
            and (not previous.imported or (folder / f"{previous.doc_id}.md").is_file())):
        return previous
    doc_id = previous.doc_id if previous is not None and previous.doc_id else _new_id(path, taken)
    try:
        extracted = read_source(path, settings)
        text = _markdown(extracted, path, name, doc_id, sha, settings)
        parse_document(text, folder / f"{doc_id}.md")  # what the build will read must load
    except ExtractionError as exc:
        return ImportRecord(name, sha, size, "skipped", kind=exc.kind, reason=exc.reason)
    except CorpusError as exc:
        return ImportRecord(name, sha, size, "skipped", kind="empty", reason=str(exc).split(": ", 1)[-1])
    except Exception as exc:  # a reader failing on a malformed file must not stop the import
        return ImportRecord(name, sha, size, "skipped", kind="corrupt",
                            reason=f"the file could not be read ({type(exc).__name__}: {str(exc)[:160]})")
    _write_document(folder, doc_id, text, path)
    return ImportRecord(name, sha, size, "imported", doc_id=doc_id, warnings=list(extracted.warnings),
                        pages=len(extracted.page_starts))


def _markdown(extracted: ExtractedDocument, path: Path, name: str, doc_id: str, sha: str,
              settings: Settings) -> str:
    """The document as corpus Markdown: YAML front matter, then the body exactly as extracted."""
    body = extracted.body if extracted.body.endswith("\n") else extracted.body + "\n"
    if not body.strip():
        raise ExtractionError("empty", "no text was found in the file")
    meta: dict[str, object] = {
        "id": doc_id,
        "title": (extracted.title or "").strip() or _title_from_name(path),
        "publisher": (extracted.publisher or extracted.author or "").strip() or settings.import_publisher,
        "language": extracted.language or "da",
    }
    if extracted.source_url:
        meta["source_url"] = extracted.source_url
    author = extracted.author if extracted.author and extracted.author.strip() != meta["publisher"] else None
    optional = {"author": author, "published": extracted.published, "updated": extracted.modified}
    meta.update({key: value for key, value in optional.items() if value})
    meta.update({
        "source_file": name, "source_format": source_format(path), "source_sha256": sha,
        "original": f"{doc_id}{path.suffix.lower()}",
        "imported": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    if extracted.page_starts:
        meta.update({"pages": len(extracted.page_starts), "page_starts": list(extracted.page_starts),
                     "body_sha256": body_digest(body)})
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    return f"---\n{front}---\n{body}"


def _write_document(folder: Path, doc_id: str, text: str, original: Path) -> None:
    """The Markdown and a copy of the original, each written to a temporary file and renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{doc_id}.*"):  # an earlier original with another suffix
        if stale.suffix not in {".md", original.suffix.lower()}:
            stale.unlink()
    copy = folder / f".{doc_id}{original.suffix.lower()}.tmp"
    shutil.copyfile(original, copy)
    os.replace(copy, folder / f"{doc_id}{original.suffix.lower()}")
    temporary = folder / f".{doc_id}.md.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / f"{doc_id}.md")


def _remove_document(folder: Path, doc_id: str) -> None:
    for path in folder.glob(f"{doc_id}.*"):
        path.unlink(missing_ok=True)


def _write_records(folder: Path, records: dict[str, ImportRecord]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{RECORDS_FILE}.tmp"
    rows = [asdict(record) for record in records.values()]
    temporary.write_text(json.dumps({"reader_version": READER_VERSION, "files": rows}, ensure_ascii=False, indent=1),
                         encoding="utf-8")
    os.replace(temporary, folder / RECORDS_FILE)


def _hand_written_ids(corpus_dir: Path) -> set[str]:
    """Ids of the corpus's own documents, which an imported document must not take."""
    ids: set[str] = set()
    for path in corpus_dir.glob("*.md"):
        try:
            ids.add(parse_document(path.read_text(encoding="utf-8"), path).id)
        except (CorpusError, OSError, UnicodeDecodeError):
            continue
    return ids


def slug(text: str) -> str:
    """``text`` as a document id: lower-case ASCII letters, digits and hyphens (æ→ae, ø→oe, å→aa)."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:60].strip("-") or "dokument"


def _new_id(path: Path, taken: set[str]) -> str:
    base = slug(path.stem)
    doc_id, number = base, 2
    while doc_id in taken:
        doc_id, number = f"{base}-{number}", number + 1
    return doc_id


def _title_from_name(path: Path) -> str:
    words = re.sub(r"[_\s]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def _progress(total: int, shown: bool) -> tqdm:
    return tqdm(total=total, unit="file", desc="reading the inbox", disable=not shown or total == 0)
