"""Smoke test of the API as a caller uses it: ask, read the answer, follow its citation."""


def test_search_answers_with_cited_passages(client):
    response = client.get("/api/search", params={"q": "Hvad er peerstøtte?", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert not body["abstain"]
    assert [hit["rank"] for hit in body["results"]] == [1, 2, 3]
    assert len({hit["passage_id"] for hit in body["results"]}) == 3

    first = body["results"][0]
    assert first["doc"]["id"] == "peerstoette-tema"
    assert first["section"] == "Baggrundsviden › Definition"
    highlighted = [first["text"][span["start"]:span["end"]] for span in first["highlights"]]
    assert highlighted[0].startswith("Peerstøtte er støtte til forandring")

    for hit in body["results"]:
        document = client.get(f"/api/documents/{hit['doc']['id']}").json()
        # the citation names the document as the document endpoint does
        assert hit["doc"] == {key: document[key] for key in ("id", "title", "publisher", "source_url")}
        # the passage is the document's text at the cited offsets, listed among its passages
        assert document["body"][hit["start"]:hit["end"]] == hit["text"]
        assert {"id": hit["passage_id"], "section": hit["section"], "start": hit["start"],
                "end": hit["end"]} in document["passages"]
        # each highlight is a whole sentence inside the passage that mentions the subject
        for span in hit["highlights"]:
            assert 0 <= span["start"] < span["end"] <= len(hit["text"])
            sentence = hit["text"][span["start"]:span["end"]]
            assert sentence == sentence.strip() and "peerstøtte" in sentence.casefold().replace("-", "")
