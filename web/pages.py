"""Page routes: the chat at ``/`` (server-rendered for ``?q=``) and static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from service.dependencies import SearcherDep
from service.schemas import SearchRequest, SearchResponse

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def chat(request: Request, searcher: SearcherDep, q: str | None = None, k: int = 5) -> HTMLResponse:
        answer = None
        error = None
        status = 200
        if q is not None:
            try:
                params = SearchRequest(q=q, k=k)
                result = searcher.search(params.q, params.k)
                answer = SearchResponse.from_result(result, searcher.version)
            except ValidationError as exc:
                error = "; ".join(str(e.get("ctx", {}).get("error", e["msg"])) for e in exc.errors())
                status = 422
        return templates.TemplateResponse(request, "chat.html", {"q": q or "", "answer": answer, "error": error},
                                          status_code=status)
