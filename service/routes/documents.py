"""``GET /api/documents/{id}``: a source document's metadata, body, pages and passage offsets;
``GET /api/documents/{id}/original``: the file an imported document was read from."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from fastapi import APIRouter
from fastapi.responses import FileResponse

from indexer.documents import Document
from indexer.store import original_file
from retrieval.searcher import Searcher
from service.dependencies import SearcherDep
from service.errors import NotFound
from service.schemas import DocumentResponse, ErrorResponse, PassageRef

router = APIRouter(prefix="/api", tags=["documents"])
_MEDIA_TYPES = {".pdf": "application/pdf", ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8",
                ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

#: A saved web page is shown as a sandbox: its scripts never run on this site's origin.
_SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


def known_document(searcher: Searcher, doc_id: str) -> Document:
    document = searcher.document(doc_id)
    if document is None:
        known = ", ".join(searcher.document_ids()[:10])
        raise NotFound(f"no document with id {doc_id!r}; known ids include: {known}")
    return document


def original_url(searcher: Searcher, document: Document) -> str | None:
    """The address of the document's original file, when the index holds one."""
    if original_file(searcher.index_path, document) is None:
        return None
    return f"/api/documents/{document.id}/original"


def document_response(searcher: Searcher, doc_id: str) -> DocumentResponse:
    document = known_document(searcher, doc_id)
    passages = [PassageRef(id=p.id, section=p.section, start=p.start, end=p.end,
                           **({"page_start": p.page_start, "page_end": p.page_end} if p.page_start else {}))
                for p in searcher.passages_of(doc_id)]
    paged = {"pages": document.pages, "page_starts": list(document.page_starts)} if document.pages else {}
    link = original_url(searcher, document)
    return DocumentResponse(id=document.id, title=document.title, publisher=document.publisher,
                            source_url=document.source_url, language=document.language,
                            meta=document.meta, body=document.body, passages=passages,
                            **paged, **({"original_url": link} if link else {}))


@router.get("/documents/{doc_id}", response_model=DocumentResponse, response_model_exclude_unset=True,
            responses={404: {"model": ErrorResponse, "description": "Unknown document id."}})
def get_document(doc_id: str, searcher: SearcherDep) -> DocumentResponse:
    """Fields about pages and the original file are present only for documents that have them."""
    return document_response(searcher, doc_id)


@router.get("/documents/{doc_id}/original", response_class=FileResponse, summary="Download the original file",
            responses={200: {"content": {media: {} for media in sorted(set(_MEDIA_TYPES.values()))},
                             "description": "The file the document was imported from, as it was imported."},
                       404: {"model": ErrorResponse,
                             "description": "Unknown document id, or a document written as Markdown (no original)."}})
def get_original(doc_id: str, searcher: SearcherDep) -> FileResponse:
    """The PDF, Word file, web page or text an imported document was read from, shown in the
    browser where it can be (add `#page=4` to a PDF's address to open it at page 4)."""
    document = known_document(searcher, doc_id)
    path = original_file(searcher.index_path, document)
    if path is None:
        raise NotFound(f"document {doc_id!r} was written as Markdown, not imported from a file: it has no original")
    name = PurePosixPath(str(document.meta.get("source_file") or path.name)).name
    media = _MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"content-security-policy": _SANDBOX} if media.startswith("text/html") else None
    return FileResponse(path, media_type=media, filename=name, content_disposition_type="inline", headers=headers)
