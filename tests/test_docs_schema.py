"""``/docs`` reads an OpenAPI 3.0 copy of the schema (the bundled Swagger UI cannot read 3.1),
which says the same as ``/openapi.json``."""

from __future__ import annotations

from service.docs import openapi_30


def test_nullable_constants_examples_and_bounds_are_written_the_30_way():
    schema = {"openapi": "3.1.0", "components": {"schemas": {"X": {"properties": {
        "a": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "description": "d"},
        "b": {"type": ["integer", "null"], "exclusiveMinimum": 0},
        "c": {"const": "ok"},
        "d": {"type": "string", "examples": ["first", "second"]},
    }}}}}
    converted = openapi_30(schema)["components"]["schemas"]["X"]["properties"]
    assert converted["a"] == {"type": "string", "maxLength": 3, "nullable": True, "description": "d"}
    assert converted["b"] == {"type": "integer", "nullable": True, "minimum": 0, "exclusiveMinimum": True}
    assert converted["c"] == {"enum": ["ok"]} and converted["d"]["example"] == "first"
    assert schema["openapi"] == "3.1.0" and "anyOf" in schema["components"]["schemas"]["X"]["properties"]["a"]


def test_the_docs_read_the_30_copy_of_the_served_schema(client):
    served = client.get("/openapi.json").json()
    copy = client.get("/docs/openapi-3.0.json").json()
    assert copy["openapi"] == "3.0.3" and served["openapi"].startswith("3.1")
    assert set(copy["paths"]) == set(served["paths"])
    assert "/docs/openapi-3.0.json" in client.get("/docs/swagger-init.js").text
    assert not list(null_types(copy))  # no 3.1-only null types left


def null_types(node):
    """Every place a 3.1-only ``null`` type is written in ``node``."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "null" or isinstance(kind, list):
            yield node
        for value in node.values():
            yield from null_types(value)
    elif isinstance(node, list):
        for item in node:
            yield from null_types(item)
