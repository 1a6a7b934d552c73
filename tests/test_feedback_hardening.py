"""The feedback endpoints against abuse and faults (the outside probe's findings): forged form
posts and cross-site JSON are refused and store nothing; the exports are off until a token is
set, then need it and come in pages; posts are rate-limited per address and capped in total;
a broken database is a clear 503 (a Danish page for the form), and a deleted one stays deleted."""

from __future__ import annotations

import html
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import hashing_settings
from fastapi.testclient import TestClient

from retrieval.searcher import Searcher
from service.feedback import RateLimiter
from service.feedback_store import FILE_NAME, FeedbackStore, query_id
from web import csrf
from web.app import create_app

QUESTION = "Hvad er WRAP?"
TOKEN = "s3cret-export-token"
SITE = "http://testserver"  # the TestClient's own origin


@pytest.fixture
def make_client(isolated_data: Path, corpus_searcher: Searcher) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)``: the whole app on the real corpus, with these settings."""
    with ExitStack() as stack:
        def make(**overrides) -> TestClient:
            settings = hashing_settings(isolated_data, **overrides)
            app = create_app(settings, searcher_loader=lambda path: corpus_searcher)
            return stack.enter_context(TestClient(app))

        yield make


@pytest.fixture
def database(isolated_data: Path) -> Path:
    return isolated_data / FILE_NAME


def stored(database: Path) -> int:
    """Judgments in the database (read directly, so the check creates nothing)."""
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]


def first_form(page: str) -> dict[str, str]:
    """The hidden fields of the first card's feedback form, as a browser would send them."""
    form = re.search(r'<form class="feedback".*?</form>', page, flags=re.DOTALL).group(0)
    fields = re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form)
    return {name: html.unescape(value) for name, value in fields}


def chat_form(client: TestClient) -> dict[str, str]:
    """A card's form from the chat page for QUESTION, with "Hjælpsomt" chosen."""
    page = client.get("/", params={"q": QUESTION})
    assert page.status_code == 200
    return {**first_form(page.text), "helpful": "1"}


def judgment(client: TestClient) -> dict:
    passage = client.get("/api/search", params={"q": QUESTION, "k": 1}).json()["results"][0]["passage_id"]
    return {"question": QUESTION, "passage_id": passage, "helpful": True}


def assert_danish_page(response, status: int, *words: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="da">' in response.text
    for word in words:
        assert word in response.text, response.text


# --- the no-JavaScript form: a signed token, and no posts from other sites -------------------------

def test_every_rendered_form_carries_the_token(client):
    page = client.get("/", params={"q": QUESTION}).text
    fragment = client.get("/fragments/turn", params={"q": QUESTION, "i": 1}).text
    for text in (page, fragment):
        forms = re.findall(r'<form class="feedback".*?</form>', text, flags=re.DOTALL)
        assert forms and all('name="csrf_token" value="' in form for form in forms)
        assert csrf.Signer(b"x" * 32).problem(first_form(text)["csrf_token"]) == "invalid"  # signed, not guessable


def test_a_form_from_the_chat_page_is_stored(client, database):
    form = chat_form(client)
    response = client.post("/feedback", data=form, headers={"Origin": SITE, "Sec-Fetch-Site": "same-origin"})
    assert_danish_page(response, 200, "Tak for din vurdering")
    assert stored(database) == 1
    fragment_form = {**first_form(client.get("/fragments/turn", params={"q": QUESTION, "i": 0}).text), "helpful": "0"}
    assert client.post("/feedback", data=fragment_form).status_code == 200  # no Origin: a browser of old
    assert stored(database) == 2


@pytest.mark.parametrize(("change", "headers", "words"), [
    ({"csrf_token": None}, {}, "manglede sit sikkerhedsfelt"),
    ({"csrf_token": ""}, {}, "manglede sit sikkerhedsfelt"),
    ({"csrf_token": "1700000000.abcdef.0123"}, {}, "sikkerhedsfelt var ugyldigt"),
    ({"csrf_token": csrf.Signer(b"another site's key, 32 bytes....").issue()}, {}, "sikkerhedsfelt var ugyldigt"),
    ({}, {"Origin": "null"}, "fra en anden side"),  # a sandboxed frame on a foreign page
    ({}, {"Origin": "https://evil.example"}, "fra en anden side"),
    ({}, {"Origin": "https://testserver"}, "fra en anden side"),  # same host, other scheme: another origin
    ({}, {"Sec-Fetch-Site": "cross-site"}, "fra en anden side"),
])
def test_forged_form_posts_are_refused_and_not_stored(client, database, change, headers, words):
    form = {**chat_form(client), **change}
    form = {k: v for k, v in form.items() if v is not None}
    response = client.post("/feedback", data=form, headers=headers)
    assert_danish_page(response, 403, "Vurderingen blev afvist", words)
    assert stored(database) == 0


def test_a_tampered_token_is_refused(client, database):
    form = chat_form(client)
    stamp, nonce, mac = form["csrf_token"].split(".")
    for token in (f"{int(stamp) + 1}.{nonce}.{mac}", f"{stamp}.{nonce}x.{mac}", f"{stamp}.{nonce}.{mac[:-1]}0"):
        if token == form["csrf_token"]:
            continue
        response = client.post("/feedback", data={**form, "csrf_token": token})
        assert_danish_page(response, 403, "sikkerhedsfelt var ugyldigt")
    assert stored(database) == 0


def test_an_expired_token_says_to_reload(client, corpus_settings, database):
    form = chat_form(client)
    old = csrf.Signer(csrf.secret_key(corpus_settings.secret_key, corpus_settings.data_dir)).issue(now=time.time() - csrf.MAX_AGE - 60)
    response = client.post("/feedback", data={**form, "csrf_token": old})
    assert_danish_page(response, 403, "for gammel", "genindlæs siden")
    assert stored(database) == 0


def test_tokens_expire_and_resist_forgery():
    signer = csrf.Signer(b"k" * 32, max_age=100)
    token = signer.issue(now=1000)
    assert signer.problem(token, now=1050) is None
    assert signer.problem(token, now=1101) == "expired"
    assert signer.problem(token, now=800) == "invalid"  # from the future
    assert signer.problem(None) == signer.problem("") == "missing"
    assert signer.problem("not.a-token") == signer.problem("æ.ø.å") == "invalid"
    assert csrf.Signer(b"j" * 32, max_age=100).problem(token, now=1050) == "invalid"
    assert signer.issue(now=1000) != token  # random part


def test_the_key_is_made_once_private_and_kept(make_client, isolated_data):
    first = make_client()
    form = chat_form(first)
    key_file = isolated_data / csrf.KEY_FILE
    assert key_file.is_file() and len(key_file.read_bytes()) == csrf.KEY_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    second = make_client()  # a restart: the page rendered before it still posts
    assert second.post("/feedback", data=form).status_code == 200
    assert key_file.read_bytes() == key


def test_a_configured_key_is_used_instead_of_a_file(make_client, isolated_data):
    client = make_client(secret_key="configured key for several servers")
    form = chat_form(client)
    assert not (isolated_data / csrf.KEY_FILE).exists()
    assert csrf.Signer(b"configured key for several servers").problem(form["csrf_token"]) is None
    assert client.post("/feedback", data=form).status_code == 200


# --- the JSON API: same site only, JSON only -------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://testserver:8080"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": SITE, "Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_json_is_refused_and_not_stored(client, database, headers):
    response = client.post("/api/feedback", json=judgment(client), headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert body["errors"] == [] and "another site" in body["detail"]
    assert stored(database) == 0


def test_json_from_this_site_or_a_program_is_stored(client, database):
    body = judgment(client)
    assert client.post("/api/feedback", json=body, headers={"Origin": SITE, "Sec-Fetch-Site": "same-origin"}
                       ).status_code == 201
    assert client.post("/api/feedback", json=body).status_code == 201  # curl: no Origin at all
    assert stored(database) == 2


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_feedback_api_takes_only_json(client, database, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/feedback", content=str(judgment(client)).replace("'", '"').replace("True", "true"),
                           headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert stored(database) == 0


# --- the exports: off by default, then a bearer token, and pages -----------------------------------

def test_exports_are_off_until_a_token_is_set(client):
    for path in ("/api/feedback/qrels", "/api/feedback/queries"):
        for headers in ({}, {"Authorization": "Bearer anything"}):
            response = client.get(path, headers=headers)
            assert response.status_code == 403
            assert "switched off" in response.json()["detail"] and "PEERQA_EXPORT_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"bearer {TOKEN}x"])
def test_exports_need_the_bearer_token(make_client, authorization):
    client = make_client(export_token=TOKEN)
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/api/feedback/qrels", "/api/feedback/queries"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.json()["detail"]


def test_exports_come_in_pages_that_join_up(make_client, database):
    client = make_client(export_token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    store = FeedbackStore(database)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(9):
        for passage in ("a#1", "b#2", "c 3#4"):  # a passage id with a space pages too
            store.add(f"Spørgsmål {n}", passage, n % 2 == 0, "v1", now=when)
    store.add("Spørgsmål 0", "a#1", False, "v1", now=when)  # the latest judgment wins

    def pages(path: str, **params) -> list[str]:
        bodies, url = [], path
        while url:
            response = client.get(url, params=params if url == path else None, headers=auth)
            assert response.status_code == 200
            bodies.append(response.text)
            link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
            url = link.group(1) if link else None
        return bodies

    trec = pages("/api/feedback/qrels", limit=4)
    assert len(trec) == 7 and all(len(body.splitlines()) == 4 for body in trec[:-1])
    assert "".join(trec) == store.qrels()
    lines = "".join(trec).splitlines()
    assert len(lines) == 27 == len(set(lines)) and f"{query_id('Spørgsmål 0')} 0 a#1 0" in lines
    beir = pages("/api/feedback/qrels", limit=10, layout="beir")
    assert beir[0].startswith("query-id\tcorpus-id\tscore\n") and not beir[1].startswith("query-id")
    assert len("".join(beir).splitlines()) == 28
    queries = pages("/api/feedback/queries", limit=4)
    assert len(queries) == 3 and len("".join(queries).splitlines()) == 9
    assert client.get("/api/feedback/qrels", params={"limit": 10_001}, headers=auth).status_code == 422
    assert len(client.get("/api/feedback/qrels", headers=auth).text.splitlines()) == 27  # default: 1000 a page


# --- how often and how much ------------------------------------------------------------------------

def test_rate_limit_per_address_with_retry_after(make_client, database):
    client = make_client(feedback_rate_per_minute=3)
    body = judgment(client)
    assert [client.post("/api/feedback", json=body).status_code for _ in range(3)] == [201] * 3
    refused = client.post("/api/feedback", json=body)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "at most 3 a minute" in refused.json()["detail"]
    page = client.post("/feedback", data=chat_form(client))  # the form shares the address's budget
    assert_danish_page(page, 429, "For mange vurderinger", "Vent")
    assert 1 <= int(page.headers["retry-after"]) <= 60
    assert stored(database) == 3


def test_rate_limiter_slides_and_forgets():
    now = [0.0]
    limiter = RateLimiter(2, window=60, max_clients=2, clock=lambda: now[0])
    assert limiter.retry_after("a") is None
    now[0] = 10
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 50  # the first hit leaves the window at 60
    assert limiter.retry_after("b") is None  # per client
    now[0] = 60.5
    assert limiter.retry_after("a") is None
    for client in ("c", "d", "e"):
        limiter.retry_after(client)
    assert len(limiter._hits) <= 2  # memory stays bounded


def test_a_full_store_refuses_and_keeps_everything(make_client, database):
    client = make_client(feedback_max_rows=2)
    body = judgment(client)
    assert [client.post("/api/feedback", json=body).status_code for _ in range(2)] == [201, 201]
    full = client.post("/api/feedback", json=body)
    assert full.status_code == 503 and "retry-after" in full.headers
    assert "limit of 2 judgments" in full.json()["detail"] and "nothing was deleted" in full.json()["detail"]
    page = client.post("/feedback", data=chat_form(client))
    assert_danish_page(page, 503, "ikke plads til flere vurderinger", "intet er slettet")
    assert stored(database) == 2


# --- storage faults: a clear 503, never a 500, and no empty database in place of a lost one --------

def delete(database: Path, stack: ExitStack) -> None:
    database.unlink()


def lock(database: Path, stack: ExitStack) -> None:
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    stack.callback(holder.close)


def corrupt(database: Path, stack: ExitStack) -> None:
    database.write_bytes(b"this is not a database, only garbage " * 200)


def make_read_only(database: Path, stack: ExitStack) -> None:
    database.chmod(0o444)
    if os.geteuid() == 0:  # file modes do not bind root: mark the file read-only in SQLite's own header
        data = bytearray(database.read_bytes())
        data[18] = 3  # write version above 2: SQLite opens the database read-only
        database.write_bytes(bytes(data))
    stack.callback(database.chmod, 0o644)


FAULTS = {"deleted": (delete, "forsvundet"), "locked": (lock, "optaget"), "corrupt": (corrupt, "beskadiget"),
          "readonly": (make_read_only, "kan ikke skrives")}


@pytest.fixture(params=sorted(FAULTS))
def broken(request, make_client, database) -> Iterator[tuple[str, TestClient, str]]:
    """A client whose feedback database worked, then broke the way the parameter names."""
    client = make_client(export_token=TOKEN)
    assert client.post("/api/feedback", json=judgment(client)).status_code == 201
    client.app.state.feedback_store.busy_timeout = 0.2  # a lock is reported after 0.2 s, not 2 s
    breaker, words = FAULTS[request.param]
    with ExitStack() as stack:
        breaker(database, stack)
        yield request.param, client, words


def test_a_broken_database_is_a_503_for_the_api(broken, database):
    fault, client, _ = broken
    response = client.post("/api/feedback", json=judgment(client))
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["errors"] == [] and "feedback database" in response.json()["detail"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/api/feedback/qrels", "/api/feedback/queries"):  # a read-only database still exports
        assert client.get(path, headers=auth).status_code == (200 if fault == "readonly" else 503)
    if fault == "deleted":
        assert "disappeared" in response.json()["detail"]
        assert not database.exists()  # not created again empty


def test_a_broken_database_is_a_danish_503_page_for_the_form(broken, database):
    fault, client, words = broken
    response = client.post("/feedback", data=chat_form(client), headers={"Accept": "text/html"})
    assert_danish_page(response, 503, "Vurderingen blev ikke gemt", words)
    assert int(response.headers["retry-after"]) >= 1
    if fault == "deleted":
        assert not database.exists()


def test_the_first_database_is_created(client, database):
    assert not database.exists()
    assert client.post("/api/feedback", json=judgment(client)).status_code == 201
    assert stored(database) == 1
