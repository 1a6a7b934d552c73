"""``/api/feedback``: validation, what is stored (and what is not), qrels and queries export; and
the feedback a card fetched by the chat script (``/fragments/turn``) sends. The exports here run
with an export token (tests/test_feedback_hardening.py covers them switched off and refused)."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from conftest import hashing_settings

from service.feedback_store import FeedbackStore, normalise_question, query_id

EXPORT_TOKEN = "test-export-token"
EXPORT = {"Authorization": f"Bearer {EXPORT_TOKEN}"}  #: headers of an export request


@pytest.fixture
def corpus_settings(isolated_data):
    """As in conftest, with the exports switched on."""
    return hashing_settings(isolated_data, export_token=EXPORT_TOKEN)


def some_passages(client, question: str = "Hvad er peerstøtte?", k: int = 3) -> list[str]:
    return [hit["passage_id"] for hit in client.get("/api/search", params={"q": question, "k": k}).json()["results"]]


def fragment_forms(client, question: str, index: int) -> list[dict[str, str]]:
    """The hidden fields of each card's feedback form in a fetched turn."""
    text = client.get("/fragments/turn", params={"q": question, "i": index}).text
    forms = re.findall(r'<form class="feedback".*?</form>', text, flags=re.DOTALL)
    fields = r'type="hidden" name="(\w+)" value="([^"]*)"'
    return [{name: html.unescape(value) for name, value in re.findall(fields, form)} for form in forms]


def test_a_fetched_cards_feedback_is_what_the_api_takes(client):
    """app.js posts the form's question and passage id to /api/feedback as JSON."""
    forms = fragment_forms(client, "  Hvad er WRAP?  ", 2)
    assert [form["question"] for form in forms] == ["Hvad er WRAP?"] * len(forms)
    assert [form["passage_id"] for form in forms] == some_passages(client, "Hvad er WRAP?", len(forms))
    response = client.post("/api/feedback", json={"question": forms[1]["question"],
                                                  "passage_id": forms[1]["passage_id"], "helpful": False})
    assert response.status_code == 201
    qrels = client.get("/api/feedback/qrels", headers=EXPORT).text
    assert qrels.split() == [query_id("Hvad er WRAP?"), "0", forms[1]["passage_id"], "0"]


def test_a_fetched_cards_form_without_the_script_returns_to_the_card(client):
    """Should the form be sent as a plain form after all, the way back is the stored conversation."""
    form = fragment_forms(client, "Hvad er WRAP?", 2)[0]
    response = client.post("/feedback", data={**form, "helpful": "1"})
    assert response.status_code == 200 and "Tak for din vurdering" in response.text
    assert 'href="/#t2-r1"' in response.text


def test_feedback_is_stored_with_index_version_and_utc_time_only(client, isolated_data):
    passage = some_passages(client)[0]
    response = client.post("/api/feedback", json={"question": "  Hvad er peerstøtte?  ", "passage_id": passage,
                                                  "helpful": True})
    assert response.status_code == 201
    body = response.json()
    version = client.get("/healthz").json()["index_version"]
    assert body["passage_id"] == passage and body["helpful"] is True
    assert body["index_version"] == version
    assert body["query_id"] == query_id("Hvad er peerstøtte?")
    assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 0

    database = isolated_data / "feedback.sqlite3"
    assert database.is_file()
    with sqlite3.connect(database) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(feedback)")]
        rows = connection.execute("SELECT question, passage_id, helpful, index_version FROM feedback").fetchall()
    assert columns == ["id", "created_at", "query_id", "question", "passage_id", "helpful", "index_version"]
    assert rows == [("Hvad er peerstøtte?", passage, 1, version)]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"question": "   ", "passage_id": "x", "helpful": True}, "question", "empty"),
    ({"question": "x" * 1001, "passage_id": "x", "helpful": True}, "question", "1001 characters"),
    ({"question": "Hvad?", "passage_id": "x"}, "helpful", "required"),
    ({"question": "Hvad?", "passage_id": "x", "helpful": "yes"}, "helpful", "true or false"),
    ({"question": "Hvad?", "passage_id": "x", "helpful": True, "extra": 1}, "extra", "not a known field"),
    ({"passage_id": "x", "helpful": False}, "question", "required"),
])
def test_invalid_feedback_is_a_422_naming_the_field(client, body, field, words):
    response = client.post("/api/feedback", json=body)
    assert response.status_code == 422
    detail = response.json()
    assert any(e["field"] == field and words in e["message"] for e in detail["errors"]), detail


def test_unknown_passage_is_a_404_that_says_what_to_do(client):
    response = client.post("/api/feedback", json={"question": "Hvad?", "passage_id": "peerstoette-tema#999",
                                                  "helpful": True})
    assert response.status_code == 404
    assert "peerstoette-tema#999" in response.json()["detail"]
    assert "fresh search response" in response.json()["detail"]
    assert client.get("/api/feedback/qrels", headers=EXPORT).text == ""


def test_qrels_export_latest_judgment_per_question_and_passage(client):
    first, second, third = some_passages(client)
    other = some_passages(client, "Hvad er WRAP?", 1)[0]
    for question, passage, helpful in [("Hvad er peerstøtte?", first, True),
                                       ("Hvad er peerstøtte?", second, True),
                                       ("hvad er  PEERSTØTTE", second, False),  # same question: latest wins
                                       ("Hvad er WRAP?", other, True),
                                       ("Hvad er WRAP?", third, False)]:
        assert client.post("/api/feedback", json={"question": question, "passage_id": passage,
                                                  "helpful": helpful}).status_code == 201
    response = client.get("/api/feedback/qrels", headers=EXPORT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    peer, wrap = query_id("Hvad er peerstøtte?"), query_id("Hvad er WRAP?")
    expected = sorted([f"{peer} 0 {first} 1", f"{peer} 0 {second} 0", f"{wrap} 0 {other} 1", f"{wrap} 0 {third} 0"])
    assert response.text.splitlines() == expected
    assert all(len(line.split()) == 4 for line in response.text.splitlines())

    beir = client.get("/api/feedback/qrels", params={"layout": "beir"}, headers=EXPORT).text.splitlines()
    assert beir[0] == "query-id\tcorpus-id\tscore"
    assert sorted(beir[1:]) == sorted(line.replace(" 0 ", "\t").replace(" ", "\t") for line in expected)
    assert client.get("/api/feedback/qrels", params={"layout": "csv"}, headers=EXPORT).status_code == 422

    queries = [json.loads(line) for line in client.get("/api/feedback/queries", headers=EXPORT).text.splitlines()]
    assert queries == sorted([{"_id": peer, "text": "hvad er  PEERSTØTTE"}, {"_id": wrap, "text": "Hvad er WRAP?"}],
                             key=lambda q: q["_id"])


def test_export_can_be_limited_to_one_index_version(client):
    passage = some_passages(client, k=1)[0]
    client.post("/api/feedback", json={"question": "Hvad er peerstøtte?", "passage_id": passage, "helpful": True})
    version = client.get("/healthz").json()["index_version"]
    assert client.get("/api/feedback/qrels", params={"index_version": version}, headers=EXPORT).text.strip()
    assert client.get("/api/feedback/qrels", params={"index_version": "older-build"}, headers=EXPORT).text == ""
    assert client.get("/api/feedback/queries", params={"index_version": "older-build"}, headers=EXPORT).text == ""


def test_question_ids_ignore_case_spacing_and_end_punctuation():
    assert normalise_question("  Hvad   er\tPEERSTØTTE ?? ") == "hvad er peerstøtte"
    assert query_id("Hvad er peerstøtte?") == query_id("hvad er peerstøtte") != query_id("Hvad er WRAP?")
    assert query_id("x").startswith("fb-") and len(query_id("x")) == 15


def test_store_is_safe_from_many_threads(tmp_path):
    store = FeedbackStore(tmp_path / "new" / "feedback.sqlite3")
    assert store.qrels() == ""  # no file yet: nothing to export, nothing created

    def judge(n: int) -> None:
        store.add(f"Spørgsmål {n}", f"doc#{n}", n % 2 == 0, "v1", now=datetime(2026, 1, 1, tzinfo=UTC))

    threads = [threading.Thread(target=judge, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.judgments()) == 20
    assert {j.created_at for j in store.judgments()} == {"2026-01-01T00:00:00+00:00"}
