"""The files of an index directory, and loading them back.

A build's manifest records the size and sha256 of every other file in its folder; loading
checks them, then that every passage is the slice of its document body it claims to be and
that every dense vector is a unit vector, and refuses a damaged index with a one-line
``IndexDamaged`` naming what is wrong and how to rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from indexer.dense import DenseIndex
from indexer.documents import Document
from indexer.lexical import LexicalIndex
from indexer.passages import Passage

FORMAT_VERSION = 5  # 4: the manifest lists every file's size and sha256; 5: lexical fields as word counts
MANIFEST = "manifest.json"
_CHUNK = 1 << 20  # bytes hashed at a time
_NORM_TOLERANCE = 1e-3  # how far a stored vector's length may be from 1
_VECTOR_ROWS = 16384  # vectors checked at a time


class IndexNotFound(FileNotFoundError):
    """No usable index at a path; the message says how to build one."""


class IndexDamaged(IndexNotFound):
    """An index whose files fail their checks; the one-line message names the file (or passage)
    and says how to rebuild."""


def dedup_key(text: str) -> str:
    """Passages with the same words (ignoring case, spacing, punctuation) share this key."""
    folded = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha1(folded.encode()).hexdigest()[:16]


def read_manifest(folder: Path) -> dict | None:
    """The manifest of the index at ``folder``, or None when there is none or it cannot be read."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return None
    return manifest if isinstance(manifest, dict) else None


def file_checksums(folder: Path) -> dict[str, dict]:
    """``{name: {"bytes": size, "sha256": hex}}`` of every file in a build folder but the manifest."""
    return {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_documents(folder: Path, documents: Sequence[Document]) -> None:
    rows = [{"id": d.id, "title": d.title, "publisher": d.publisher, "source_url": d.source_url,
             "language": d.language, "body": d.body, "meta": d.public_meta(), "page_starts": list(d.page_starts)}
            for d in documents]
    (folder / "documents.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


ORIGINALS = "originals"


def write_originals(folder: Path, documents: Sequence[Document]) -> None:
    """The original files of imported documents (front matter ``original``), in the build's
    ``originals/`` folder: hard-linked where the file system allows it, else copied. The service
    hands them out from there, so they always match what the build indexed."""
    for document in documents:
        name = document.meta.get("original")
        if not document.path or not isinstance(name, str) or Path(name).name != name:
            continue
        source = Path(document.path).parent / name
        if not source.is_file():
            continue
        target = folder / ORIGINALS / name
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def original_file(folder: Path, document: Document) -> Path | None:
    """The original file of an imported ``document`` in the build at ``folder``, if it has one."""
    name = document.meta.get("original")
    if not isinstance(name, str) or Path(name).name != name:
        return None
    path = folder / ORIGINALS / name
    return path if path.is_file() else None


def write_passages(folder: Path, passages: Sequence[Passage]) -> None:
    with (folder / "passages.jsonl").open("w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(json.dumps(passage.to_json(), ensure_ascii=False) + "\n")


@dataclass
class IndexData:
    path: Path  # the resolved build folder
    manifest: dict
    documents: dict[str, Document]
    passages: list[Passage]
    lexical: LexicalIndex
    dense: DenseIndex


def load_index(path: Path, ef_search: int = 256) -> IndexData:
    """Load the index at ``path`` (the link a build publishes, or a build folder) after checking
    it; IndexNotFound when there is none, IndexDamaged when it fails a check."""
    folder = path.resolve()
    rebuild = f"rebuild with `python -m indexer build --out {path}`"
    manifest = load_manifest(path)
    _verify_files(folder, manifest, path, rebuild)
    with _reading("documents.json", path, rebuild):
        rows = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        documents = {
            r["id"]: Document(id=r["id"], title=r["title"], publisher=r["publisher"], body=r["body"],
                              source_url=r.get("source_url"), language=r.get("language", "da"),
                              meta=r.get("meta", {}), page_starts=tuple(r.get("page_starts", ())))
            for r in rows
        }
    with _reading("passages.jsonl", path, rebuild), (folder / "passages.jsonl").open(encoding="utf-8") as handle:
        passages = [Passage.from_json(json.loads(line)) for line in handle if line.strip()]
    with _reading("the lexical index (lexical.json, *.npy, *.terms.json)", path, rebuild):
        lexical = LexicalIndex.load(folder)
    with _reading("dense.faiss", path, rebuild):
        dense = DenseIndex.load(folder, ef_search)
    if not (len(passages) == lexical.size == dense.size == manifest.get("passages")):
        raise IndexDamaged(f"index at {path} is inconsistent (passage counts differ): {rebuild}")
    with _reading("passages.jsonl", path, rebuild):
        _check_passages(documents, passages, path, rebuild)
    with _reading("dense.faiss", path, rebuild):
        _check_vectors(dense, passages, manifest.get("dimension"), path, rebuild)
    return IndexData(folder, manifest, documents, passages, lexical, dense)


def load_manifest(path: Path) -> dict:
    """The manifest of the index at ``path`` if it is one this code reads; else IndexNotFound (no
    index, or one of another format) or IndexDamaged (a manifest that cannot be read), saying how to
    rebuild. Its files are not checked: ``load_index`` does that."""
    rebuild = f"rebuild with `python -m indexer build --out {path}`"
    file = path.resolve() / MANIFEST
    if not file.is_file():
        raise IndexNotFound(f"no index at {path}: build one with `python -m indexer build --out {path}`")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexDamaged(f"the manifest of the index at {path} is damaged ({_brief(exc)}): {rebuild}") from None
    if not isinstance(manifest, dict):
        raise IndexDamaged(f"the manifest of the index at {path} is damaged (not a JSON object): {rebuild}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        older = isinstance(version, int) and version < FORMAT_VERSION
        raise IndexNotFound(f"index at {path} (format {version}, this code reads {FORMAT_VERSION}) was built by "
                            f"{'an older' if older else 'another'} version: {rebuild}")
    return manifest


def _verify_files(folder: Path, manifest: dict, path: Path, rebuild: str) -> None:
    """Every file of the build folder is listed in the manifest with its size and sha256, and has them."""
    files = manifest.get("files")
    valid = isinstance(files, dict) and all(
        isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..", MANIFEST)
        and isinstance(entry, dict) and isinstance(entry.get("bytes"), int) and isinstance(entry.get("sha256"), str)
        for name, entry in files.items())
    if not valid:
        raise IndexDamaged(f"the manifest of the index at {path} is damaged (no valid file list): {rebuild}")
    unlisted = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST and p.name not in files)
    if unlisted:
        raise IndexDamaged(f"index at {path} holds {unlisted[0]}, which its manifest does not list: {rebuild}")
    for name, entry in files.items():
        file = folder / name
        if not file.is_file():
            raise IndexDamaged(f"index at {path} lacks {name}: {rebuild}")
        size = file.stat().st_size
        if size != entry["bytes"]:
            raise IndexDamaged(f"index file {name} at {path} has {size} bytes, the manifest says {entry['bytes']} "
                               f"(truncated or altered): {rebuild}")
        with _reading(name, path, rebuild):
            actual = _sha256(file)
        if actual != entry["sha256"]:
            raise IndexDamaged(f"index file {name} at {path} does not match its sha256 in the manifest "
                               f"(altered or damaged): {rebuild}")


def _check_passages(documents: dict[str, Document], passages: Sequence[Passage], path: Path, rebuild: str) -> None:
    """Every passage's text is the slice of its document's body it says it is."""
    for passage in passages:
        document = documents.get(passage.doc_id)
        if document is None or document.body[passage.start:passage.end] != passage.text:
            what = "belongs to no document" if document is None else "does not match its document text"
            raise IndexDamaged(f"passage {passage.id} of the index at {path} {what}: {rebuild}")


def _check_vectors(dense: DenseIndex, passages: Sequence[Passage], dimension: object, path: Path,
                   rebuild: str) -> None:
    """Every stored vector is finite and of length 1 (embeddings are normalised; an encoder gives
    the zero vector for a text without words, which is let through)."""
    if dense.dimension != dimension:
        raise IndexDamaged(f"dense.faiss at {path} has {dense.dimension} dimensions, the manifest says "
                           f"{dimension}: {rebuild}")
    for first in range(0, dense.size, _VECTOR_ROWS):
        vectors = dense.index.reconstruct_n(first, min(_VECTOR_ROWS, dense.size - first))
        with np.errstate(all="ignore"):
            norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
        bad = ~np.isfinite(norms) | ((np.abs(norms - 1.0) > _NORM_TOLERANCE) & (norms != 0.0))
        if bad.any():
            row = first + int(np.argmax(bad))
            raise IndexDamaged(f"dense.faiss at {path} holds a vector of length {norms[row - first]:.4g} for "
                               f"passage {passages[row].id} (vectors are unit length): {rebuild}")


@contextmanager
def _reading(name: str, path: Path, rebuild: str) -> Iterator[None]:
    """Any error reading ``name`` (a damaged file trips numpy, faiss or json) as a one-line IndexDamaged."""
    try:
        yield
    except IndexNotFound:
        raise
    except Exception as exc:  # the libraries raise many kinds; all mean "cannot be read"
        raise IndexDamaged(f"{name} in the index at {path} cannot be read ({_brief(exc)}): {rebuild}") from None


def _brief(exc: BaseException, limit: int = 160) -> str:
    """An exception as one short line."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
