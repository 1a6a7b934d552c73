def test_search_answers_with_cited_passages(client):
    response = client.get("/api/search", params={"q": "Hvad er peerstøtte?", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 3
    assert body["results"][0]["doc"]["title"]
