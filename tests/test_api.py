"""The search API contract of design.md, and clear 4xx errors for bad input."""

import pytest


def test_get_search_follows_the_contract(client):
    response = client.get("/api/search", params={"q": "  Hvad er peerstøtte?  "})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "Hvad er peerstøtte?"
    assert isinstance(body["took_ms"], float) and body["abstain"] is False and 0 < body["confidence"] <= 1
    assert len(body["results"]) == 5  # k defaults to 5
    first = body["results"][0]
    assert set(first) >= {"rank", "score", "passage_id", "text", "highlights", "doc", "section", "start", "end"}
    assert set(first["doc"]) >= {"id", "title", "publisher", "source_url"}
    assert [r["rank"] for r in body["results"]] == [1, 2, 3, 4, 5]
    for hit in body["results"]:
        for span in hit["highlights"]:
            assert 0 <= span["start"] < span["end"] <= len(hit["text"])


def test_post_search_and_passage_offsets_point_into_the_document(client):
    response = client.post("/api/search", json={"q": "Hvad fokuserer WRAP på?", "k": 3})
    assert response.status_code == 200
    hit = response.json()["results"][0]
    document = client.get(f"/api/documents/{hit['doc']['id']}").json()
    assert document["body"][hit["start"]:hit["end"]] == hit["text"]
    assert any(p["id"] == hit["passage_id"] for p in document["passages"])


@pytest.mark.parametrize("params, field, message", [
    ({"q": "   "}, "q", "the question is empty"),
    ({"q": "x" * 1001}, "q", "shorten it to at most 1000"),
    ({"q": "peer", "k": 0}, "k", "must be between 1 and 50"),
    ({"q": "peer", "k": 51}, "k", "must be between 1 and 50"),
    ({"q": "peer", "k": "fem"}, "k", "must be a whole number"),
    ({}, "q", "is required"),
])
def test_bad_parameters_get_422_with_an_actionable_message(client, params, field, message):
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    body = response.json()
    assert message in body["detail"]
    assert body["errors"][0]["field"] == field


def test_bad_json_bodies_get_422(client):
    response = client.post("/api/search", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]
    response = client.post("/api/search", json={"q": "peer", "size": 3})
    assert response.status_code == 422
    assert "size: is not a known field" in response.json()["detail"]
    response = client.post("/api/search", json=["q"])
    assert response.status_code == 422


@pytest.mark.parametrize("question", ["!!!", "og i at", "😀", "x" * 1000, "\u0000nul"])
def test_a_question_without_a_known_word_abstains_with_zero_confidence(client, question):
    """No content word (punctuation, stop words, an emoji) or only words the corpus never uses:
    nothing of the question is covered, yet the closest passages are still listed."""
    response = client.get("/api/search", params={"q": question, "k": 50})
    assert response.status_code == 200
    body = response.json()
    assert body["abstain"] is True and body["confidence"] == 0.0
    distinct = client.app.state.searchers.get().manifest["distinct_passages"]
    assert len(body["results"]) == min(50, distinct)


def test_markup_in_a_question_is_searched_as_words_and_abstains(client):
    body = client.get("/api/search", params={"q": "<script>alert(1)</script>"}).json()
    assert body["query"] == "<script>alert(1)</script>"
    assert body["abstain"] is True
    assert 0 < body["confidence"] < client.app.state.searchers.get().abstain_threshold()  # "1" is in the corpus


def test_an_answered_question_does_not_abstain(client):
    body = client.get("/api/search", params={"q": "Hvad fokuserer WRAP på?"}).json()
    assert body["abstain"] is False and body["confidence"] >= client.app.state.searchers.get().abstain_threshold()


def test_unknown_document_is_404_with_known_ids(client):
    response = client.get("/api/documents/findes-ikke")
    assert response.status_code == 404
    assert "no document with id 'findes-ikke'" in response.json()["detail"]
    assert "peerstoette-tema" in response.json()["detail"]


def test_health_and_openapi(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["passages"] > 0
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/documents/{doc_id}", "/healthz"} <= set(schema["paths"])
    assert "SearchResponse" in schema["components"]["schemas"]


def test_explain_shows_why_a_passage_ranked(client):
    body = client.get("/api/search", params={"q": "Hvad er peerstøtte?", "explain": "true"}).json()
    explain = body["results"][0]["explain"]
    assert "peerstøt" in explain["matched_terms"]
    assert set(explain["field_scores"]) == {"stems", "grams", "headings", "sentences"}
    assert explain["lexical_rank"] >= 1
