"""``/docs``: the interactive API documentation, served from local files (no CDN, works offline),
and the OpenAPI schema made to say what the service really answers.

The Swagger UI assets come from the PyPI package ``swagger-ui-bundle``. The page has no inline
script (its start-up settings are ``/docs/swagger-init.js``), so its Content-Security-Policy
allows scripts from this origin only; it may not be framed. (ReDoc is not served: it has no
offline bundle.)
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
INIT_SCRIPT = "/docs/swagger-init.js"
DOCS_SCHEMA = "/docs/openapi-3.0.json"  # what the bundled Swagger UI 4 reads (it cannot read 3.1)

#: Exactly what Swagger UI needs: its scripts, its stylesheet and images (some inline as data:
#: URLs) from this origin, and fetching the schema and "Try it out" requests from this origin.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_HEADERS = {"Content-Security-Policy": DOCS_CSP, "X-Frame-Options": "DENY"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{init}"></script>
</body>
</html>
"""

#: The error responses the whole service can give, beyond what each route declares.
HOST_ERROR = "The Host header names a host this service does not answer to (setting PEERQA_ALLOWED_HOSTS)."
INVALID_PARAMETERS = "Invalid parameters or body, with a message saying which and why."


def swagger_settings(openapi_url: str) -> dict[str, Any]:
    """Swagger UI's settings (FastAPI's defaults, with no call to the online validator)."""
    return {"url": openapi_url, "dom_id": "#swagger-ui", "layout": "BaseLayout", "deepLinking": True,
            "showExtensions": True, "showCommonExtensions": True, "validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = PAGE.format(title=escape(f"{app.title} – docs"), assets=ASSETS, init=INIT_SCRIPT)
        return HTMLResponse(page, headers=DOCS_HEADERS)

    @app.get(DOCS_SCHEMA, include_in_schema=False)
    def docs_schema() -> JSONResponse:
        return JSONResponse(openapi_30(app.openapi()))

    @app.get(INIT_SCRIPT, include_in_schema=False)
    def swagger_init() -> Response:
        settings = json.dumps(swagger_settings(DOCS_SCHEMA))
        script = (f"window.ui = SwaggerUIBundle(Object.assign({settings}, {{presets: "
                  "[SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}));\n")
        return Response(script, media_type="text/javascript; charset=utf-8")


def openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the OpenAPI 3.1 ``schema`` written in OpenAPI 3.0 for the bundled Swagger UI:
    ``anyOf [X, null]`` and ``type: [X, "null"]`` become ``X`` with ``nullable``, ``const``
    a one-value ``enum``, a list of JSON-schema ``examples`` its first as ``example``, numeric
    exclusive bounds the 3.0 boolean form. ``/openapi.json`` stays 3.1 for every other tool."""
    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: convert(value) for key, value in node.items()}
        for key in ("anyOf", "oneOf"):
            options = node.get(key)
            if isinstance(options, list) and {"type": "null"} in options:
                rest = [option for option in options if option != {"type": "null"}]
                del node[key]
                node.update(rest[0] if len(rest) == 1 else {key: rest})
                node["nullable"] = True
        if isinstance(node.get("type"), list):
            types = [t for t in node["type"] if t != "null"]
            node["nullable"] = len(types) < len(node["type"]) or node.get("nullable", False)
            node["type"] = types[0] if len(types) == 1 else types
        if "const" in node:
            node["enum"] = [node.pop("const")]
        if isinstance(node.get("examples"), list) and node["examples"]:
            node["example"] = node.pop("examples")[0]
        for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(node.get(bound), (int, float)) and not isinstance(node[bound], bool):
                node[plain], node[bound] = node[bound], True
        return node

    converted = convert(schema)
    converted["openapi"] = "3.0.3"
    return converted


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}


def describe_errors(schema: dict[str, Any], max_body_bytes: int) -> dict[str, Any]:
    """``schema`` (FastAPI's OpenAPI) with the errors as they are sent: FastAPI's own 422 model
    (``detail`` an array) replaced by ``ErrorResponse`` (``detail`` a string), and dropped where
    nothing can be invalid (no query parameters, no body); 400 (unknown host) on every
    operation; 413 (too large) and 422 on every operation with a body. (A route that refuses
    other media types than JSON declares its 415 itself.)"""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            generated = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if generated.get("$ref", "").endswith("/HTTPValidationError"):
                has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
                if has_query or "requestBody" in operation:
                    responses["422"] = _error(INVALID_PARAMETERS)
                else:
                    del responses["422"]
            responses.setdefault("400", _error(HOST_ERROR))
            if "requestBody" in operation:
                responses.setdefault("413", _error(f"The body is larger than {max_body_bytes} bytes "
                                                   "(setting PEERQA_MAX_BODY_BYTES)."))
                responses.setdefault("422", _error(INVALID_PARAMETERS))
            operation["responses"] = dict(sorted(responses.items()))
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI, max_body_bytes: int) -> None:
    """``app.openapi()`` (and ``/openapi.json``) with ``describe_errors`` applied, built once."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_errors(generate(), max_body_bytes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
