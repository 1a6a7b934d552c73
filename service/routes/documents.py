"""``GET /api/documents/{id}``: a source document's metadata, body and passage offsets."""

from __future__ import annotations

from fastapi import APIRouter

from retrieval.searcher import Searcher
from service.dependencies import SearcherDep
from service.errors import NotFound
from service.schemas import DocumentResponse, ErrorResponse, PassageRef

router = APIRouter(prefix="/api", tags=["documents"])


def document_response(searcher: Searcher, doc_id: str) -> DocumentResponse:
    document = searcher.document(doc_id)
    if document is None:
        known = ", ".join(searcher.document_ids()[:10])
        raise NotFound(f"no document with id {doc_id!r}; known ids include: {known}")
    passages = [PassageRef(id=p.id, section=p.section, start=p.start, end=p.end)
                for p in searcher.passages_of(doc_id)]
    return DocumentResponse(id=document.id, title=document.title, publisher=document.publisher,
                            source_url=document.source_url, language=document.language,
                            meta=document.meta, body=document.body, passages=passages)


@router.get("/documents/{doc_id}", response_model=DocumentResponse,
            responses={404: {"model": ErrorResponse, "description": "Unknown document id."}})
def get_document(doc_id: str, searcher: SearcherDep) -> DocumentResponse:
    return document_response(searcher, doc_id)
