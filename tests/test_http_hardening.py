"""The HTTP hardening an outside probe asked for: text that is not Unicode, foreign Host headers,
body limits, parse errors, HEAD and 405, the OpenAPI contract, the docs' CSP, Cache-Control,
invisible questions, the no-JavaScript history, and same-site ``back`` addresses."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from conftest import hashing_settings
from fastapi.testclient import TestClient

from retrieval.searcher import Searcher
from service.app import create_api
from service.docs import DOCS_CSP
from service.middleware import cache_policy
from web.app import create_app
from web.security import CSP
from web.urls import safe_back

JSON = {"content-type": "application/json"}
ZERO_WIDTH_ONLY = "\u200b\u200c\u200d\ufeff\u2060"


def post_raw(client: TestClient, body: bytes, content_type: str = "application/json", path: str = "/api/search"):
    return client.post(path, content=body, headers={"content-type": content_type})


def a_passage_id(client: TestClient) -> str:
    return client.get("/api/search", params={"q": "Hvad er WRAP?", "k": 1}).json()["results"][0]["passage_id"]


# --- 1. text that is not Unicode ------------------------------------------------------------------

@pytest.mark.parametrize("retriever", ["hybrid", "lexical", "dense"])
def test_a_lone_surrogate_in_a_json_question_is_a_422_not_a_500(client, retriever):
    response = post_raw(client, b'{"q": "\\ud800peer", "retriever": "%s"}' % retriever.encode())
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "q", "message": response.json()["errors"][0]["message"]}]
    assert "not valid Unicode text" in response.json()["detail"]


def test_a_lone_surrogate_in_feedback_is_a_422_and_stores_nothing(client):
    body = json.dumps({"question": "\ud800peer", "passage_id": a_passage_id(client), "helpful": True})
    response = post_raw(client, body.encode(), path="/api/feedback")
    assert response.status_code == 422 and response.json()["detail"]


def test_a_question_that_is_not_utf8_in_the_query_string_is_refused(client):
    api = client.get("/api/search?q=%ED%A0%80")  # a UTF-16 surrogate encoded as UTF-8: not valid UTF-8
    assert api.status_code == 422
    assert "not valid Unicode text" in api.json()["detail"] and api.json()["errors"][0]["field"] == "q"
    page = client.get("/?q=%ED%A0%80")
    assert page.status_code == 422 and "ikke kan læses som tekst" in page.text
    fragment = client.get("/fragments/turn?q=%FFpeer")
    assert fragment.status_code == 422 and "ikke kan læses som tekst" in fragment.text


# --- 4. Host header -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/api/search?q=peer", "/documents/peerstoette-tema", "/docs"])
def test_a_foreign_host_header_is_refused_with_400(client, path):
    response = client.get(path, headers={"host": "evil.example"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("unknown host")
    assert "evil.example" not in response.text
    assert response.headers["cache-control"] and response.headers["content-security-policy"] == CSP


def test_the_api_alone_checks_the_host_too(corpus_settings, corpus_searcher):
    with TestClient(create_api(corpus_settings, searcher_loader=lambda path: corpus_searcher)) as api:
        assert api.get("/healthz", headers={"host": "evil.example"}).status_code == 400
        assert api.get("/healthz", headers={"host": "localhost:8000"}).status_code == 200
        assert api.get("/healthz", headers={"host": "[::1]:8000"}).status_code == 200  # listed bare as ::1
        assert api.get("/healthz").status_code == 200  # testserver


def test_no_www_redirect_leads_to_another_host(isolated_data, corpus_searcher):
    settings = hashing_settings(isolated_data, allowed_hosts=["www.peerqa.example", "testserver"])
    with TestClient(create_app(settings, searcher_loader=lambda path: corpus_searcher)) as site:
        response = site.get("/", headers={"host": "peerqa.example"}, follow_redirects=False)
    assert response.status_code == 400 and "location" not in response.headers


# --- 6. body size ---------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_a_413_with_a_message(client, corpus_settings):
    limit = corpus_settings.max_body_bytes
    padded = json.dumps({"q": "peer", "pad": "x" * (limit + 10)}).encode()
    response = post_raw(client, padded)
    assert response.status_code == 413
    assert response.json()["detail"] == f"the request body is {len(padded)} bytes; the limit is {limit} bytes"
    assert response.headers["cache-control"] == "no-store"
    feedback = post_raw(client, padded, path="/api/feedback")
    assert feedback.status_code == 413


def test_a_chunked_body_over_the_limit_is_a_413(client, corpus_settings):
    def chunks():
        for _ in range(corpus_settings.max_body_bytes // 4096 + 2):
            yield b" " * 4096

    response = client.post("/api/search", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert response.json()["detail"] == f"the request body is larger than the limit of {corpus_settings.max_body_bytes} bytes"


def test_a_streamed_body_is_read_no_further_than_the_limit(client, corpus_settings):
    """Through the whole app: chunks of 8 KiB without a Content-Length; reading stops at the
    first chunk past the limit, and the caller gets the 413."""
    size, handed, sent = 8192, 0, []
    total = 40

    async def receive() -> dict:
        nonlocal handed
        handed += 1
        return {"type": "http.request", "body": b" " * size, "more_body": handed < total}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/search", "raw_path": b"/api/search", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "state": {}}
    with ThreadPoolExecutor(1) as pool:  # a thread of its own: other tests may leave an event loop in this one
        pool.submit(anyio.run, client.app, scope, receive, send).result()
    assert sent[0]["status"] == 413
    assert handed == corpus_settings.max_body_bytes // size + 1


def test_unknown_json_fields_are_refused(client):
    response = client.post("/api/search", json={"q": "peer", "pad": "x" * 1000})
    assert response.status_code == 422 and "pad: is not a known field" in response.json()["detail"]


# --- 10. parse errors, HEAD, 405, the OpenAPI contract --------------------------------------------

@pytest.mark.parametrize("body, content_type, words", [
    ('{"q": "bør"}'.encode("latin-1"), "application/json", "not valid UTF-8"),
    ('{"q": "bør"}'.encode("latin-1"), "application/json; charset=latin-1", "charset=latin-1, but JSON is always UTF-8"),
    (b"[" * 1000 + b"]" * 1000, "application/json", "nested too deeply"),
    (b'{"q": "peer",}', "application/json", "not valid JSON"),
])
def test_a_body_that_cannot_be_parsed_is_a_422_with_a_message(client, body, content_type, words):
    response = post_raw(client, body, content_type)
    assert response.status_code == 422
    assert words in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body"


def test_a_body_that_is_not_json_is_a_415(client):
    response = post_raw(client, b'{"q": "peer"}', "text/plain")
    assert response.status_code == 415 and "Content-Type: application/json" in response.json()["detail"]
    assert client.post("/api/search", content=b'{"q": "peer"}', headers={"content-type": "application/ld+json"}
                       ).status_code == 200


@pytest.mark.parametrize("path", ["/", "/?q=Hvad+er+WRAP%3F", "/api/search?q=peer", "/healthz", "/docs",
                                  "/documents/peerstoette-tema", "/static/app.js", "/openapi.json"])
def test_head_is_answered_like_get_without_a_body(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["cache-control"] == get.headers["cache-control"]


@pytest.mark.parametrize("method, path, allow", [
    ("PUT", "/api/search", "GET, HEAD, POST"),
    ("DELETE", "/api/documents/peerstoette-tema", "GET, HEAD"),
    ("GET", "/api/feedback", "POST"),
    ("HEAD", "/api/feedback", "POST"),
    ("POST", "/", "GET, HEAD"),
    ("POST", "/static/app.js", "GET, HEAD"),
])
def test_every_405_says_what_is_allowed(client, method, path, allow):
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.json()["detail"].endswith(f"use {allow}")


def test_a_405_page_for_a_browser_says_what_is_allowed(client):
    response = client.delete("/", headers={"accept": "text/html"})
    assert response.status_code == 405 and response.headers["content-type"].startswith("text/html")
    assert response.headers["allow"] == "GET, HEAD"


def test_explain_is_strictly_boolean_in_json_and_lenient_in_the_query(client):
    for value in (0, 1, "true", None):
        response = client.post("/api/search", json={"q": "peer", "explain": value})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "explain", "message": "must be a boolean: true or false"}]
    assert client.post("/api/search", json={"q": "peer", "explain": True}).json()["results"][0]["explain"]
    assert client.get("/api/search", params={"q": "peer", "explain": "1"}).json()["results"][0]["explain"]
    assert client.get("/api/search", params={"q": "peer", "explain": "false"}).json()["results"][0]["explain"] is None


def test_unknown_query_parameters_are_ignored(client):
    response = client.get("/api/search", params={"q": "peer", "_": "123", "utm_source": "mail"})
    assert response.status_code == 200 and response.json()["query"] == "peer"


def test_openapi_says_what_the_service_does(client):
    schema = client.get("/openapi.json").json()
    text = json.dumps(schema)
    assert "HTTPValidationError" not in text and '"ValidationError"' not in text
    assert schema["components"]["schemas"]["ErrorResponse"]["properties"]["detail"]["type"] == "string"
    q_param = next(p for p in schema["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")
    body_q = schema["components"]["schemas"]["SearchRequest"]["properties"]["q"]
    for q in (q_param["schema"], body_q):
        assert (q["minLength"], q["maxLength"]) == (1, 1000)
    assert schema["components"]["schemas"]["SearchRequest"]["additionalProperties"] is False
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= set(responses), (method, path)
            if "422" in responses:
                assert responses["422"]["content"]["application/json"]["schema"] == error_ref, (method, path)
    search_post = schema["paths"]["/api/search"]["post"]["responses"]
    assert {"400", "413", "415", "422"} <= set(search_post)
    assert "422" not in schema["paths"]["/api/documents/{doc_id}"]["get"]["responses"]  # nothing there can be invalid


# --- 11. docs CSP, Cache-Control, invisible questions, the no-JavaScript history -----------------

def test_api_docs_have_a_csp_without_inline_script_and_cannot_be_framed(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == DOCS_CSP
    assert "frame-ancestors 'none'" in DOCS_CSP and "unsafe-inline" not in DOCS_CSP and "unsafe-eval" not in DOCS_CSP
    assert docs.headers["x-frame-options"] == "DENY"
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", docs.text) == []  # every script is a file of this origin
    init = client.get("/docs/swagger-init.js")
    assert init.status_code == 200 and init.headers["content-type"].startswith("text/javascript")
    assert '"url": "/docs/openapi-3.0.json"' in init.text and '"validatorUrl": null' in init.text
    redoc = client.get("/redoc")  # not served (no offline bundle): a 404 under the pages' policy
    assert redoc.status_code == 404 and redoc.headers["content-security-policy"] == CSP


def test_the_api_alone_serves_docs_with_their_csp(corpus_settings, corpus_searcher):
    with TestClient(create_api(corpus_settings, searcher_loader=lambda path: corpus_searcher)) as api:
        docs = api.get("/docs")
    assert docs.headers["content-security-policy"] == DOCS_CSP and docs.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/api/search?q=peer", "no-store"),
    ("GET", "/api/search?q=", "no-store"),  # a 422 that echoes nothing may still not be stored
    ("GET", "/api/feedback/qrels", "no-store"),
    ("GET", "/?q=Hvad+er+WRAP%3F", "no-store"),
    ("GET", "/?h=Hvad+er+WRAP%3F", "no-store"),
    ("GET", "/fragments/turn?q=Hvad+er+WRAP%3F", "no-store"),
    ("GET", "/documents/peerstoette-tema?q=Hvad+er+WRAP%3F", "no-store"),
    ("GET", "/", "no-cache"),
    ("GET", "/documents/peerstoette-tema", "no-cache"),
    ("GET", "/api/documents/peerstoette-tema", "no-cache"),
    ("GET", "/healthz", "no-cache"),
    ("GET", "/openapi.json", "no-cache"),
    ("GET", "/docs", "no-cache"),
    ("GET", "/nope", "no-cache"),
    ("GET", "/static/nope.js", "no-cache"),
    ("GET", "/static/app.js", "public, max-age=3600"),
    ("GET", "/static/style.css", "public, max-age=3600"),
    ("GET", "/docs-assets/swagger-ui.css", "public, max-age=86400"),
])
def test_every_response_says_how_it_may_be_cached(client, method, path, expected):
    assert client.request(method, path).headers["cache-control"] == expected


def test_posts_and_failures_are_not_stored(client, corpus_searcher, monkeypatch):
    assert client.post("/api/search", json={"q": "peer"}).headers["cache-control"] == "no-store"
    assert client.post("/feedback", data={"question": "Hvad?"}).headers["cache-control"] == "no-store"

    def broken(*args, **kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(corpus_searcher, "search", broken)
    failing = TestClient(client.app, raise_server_exceptions=False).get("/api/search", params={"q": "peer"})
    assert failing.status_code == 500 and failing.headers["cache-control"] == "no-store"


def test_cache_policy_keeps_static_caching_to_successful_reads():
    assert cache_policy("GET", "/static/app.js", b"", 304) == "public, max-age=3600"
    assert cache_policy("GET", "/static/app.js", b"", 404) == "no-cache"
    assert cache_policy("POST", "/static/app.js", b"", 405) == "no-store"


@pytest.mark.parametrize("question", [ZERO_WIDTH_ONLY, " \u00a0\u3000\u2028 ", "\u3164\u2800", "\ufe0f\u034f"])
def test_a_question_of_invisible_characters_only_is_empty(client, question):
    api = client.get("/api/search", params={"q": question})
    assert api.status_code == 422 and "the question is empty" in api.json()["detail"]
    body = client.post("/api/search", json={"q": question})
    assert body.status_code == 422 and "the question is empty" in body.json()["detail"]
    page = client.get("/", params={"q": question})
    assert page.status_code == 422 and "Skriv et spørgsmål, før du søger." in page.text
    fragment = client.get("/fragments/turn", params={"q": question})
    assert fragment.status_code == 422 and "Skriv et spørgsmål, før du søger." in fragment.text


def test_a_question_with_invisible_characters_and_words_is_still_asked(client):
    response = client.get("/api/search", params={"q": "\u200bHvad er WRAP?"})
    assert response.status_code == 200 and response.json()["query"] == "\u200bHvad er WRAP?"


def counted_searches(searcher: Searcher, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    search = searcher.search

    def counting(question, *args, **kwargs):
        asked.append(question)
        return search(question, *args, **kwargs)

    monkeypatch.setattr(searcher, "search", counting)
    return asked


def test_the_no_javascript_history_searches_at_most_page_history_distinct_questions(
        client, corpus_settings, corpus_searcher, monkeypatch):
    asked = counted_searches(corpus_searcher, monkeypatch)
    earlier = [("h", f"Hvad er spørgsmål {i}?") for i in range(30)]
    page = client.get("/", params=[("q", "Hvad er WRAP?"), *earlier])
    assert page.status_code == 200
    limit = corpus_settings.page_history
    assert asked == [f"Hvad er spørgsmål {i}?" for i in range(30 - limit, 30)] + ["Hvad er WRAP?"]
    hidden = re.findall(r'<input type="hidden" name="h" value="([^"]*)">', page.text)
    assert len(hidden) == limit

    asked.clear()
    repeated = [("h", "Hvad er peerstøtte?")] * 50 + [("h", "Hvad er WRAP?")] * 50
    client.get("/", params=[("q", "Hvad er WRAP?"), *repeated])
    assert asked == ["Hvad er peerstøtte?", "Hvad er WRAP?"]  # each once, and q not twice


def test_without_history_only_the_question_is_searched(isolated_data, corpus_searcher, monkeypatch):
    settings = hashing_settings(isolated_data, page_history=0)
    asked = counted_searches(corpus_searcher, monkeypatch)
    with TestClient(create_app(settings, searcher_loader=lambda path: corpus_searcher)) as site:
        page = site.get("/", params=[("q", "Hvad er WRAP?"), ("h", "Hvad er peerstøtte?"), ("h", "Hvad er en peer?")])
    assert page.status_code == 200 and asked == ["Hvad er WRAP?"]
    assert re.findall(r'<input type="hidden" name="h" value="([^"]*)">', page.text) == []


# --- 3. back addresses for the feedback form -------------------------------------------------------

@pytest.mark.parametrize("value", ["/", "/?q=Hvad+er+WRAP%3F#t0-r1", "/?q=Hvad+er+WRAP%3F&h=Hvad+er+peerst%C3%B8tte%3F",
                                   "/documents/peerstoette-tema?passage=peerstoette-tema%233#cited"])
def test_safe_back_keeps_paths_on_this_site(value):
    assert safe_back(value) == value


@pytest.mark.parametrize("value", [
    "/%09/evil.example", "/\t/evil.example", "/\n/evil.example", "/ /evil.example", "/\u200b/evil.example",
    "//evil.example", "///evil.example", "/\\evil.example", "/%5Cevil.example", "/%2F/evil.example",
    "https://evil.example/", "javascript:alert(1)", "evil.example", "", " /", "/?q=%0Aline",
])
def test_safe_back_turns_anything_else_into_the_front_page(value):
    assert safe_back(value) == "/"

