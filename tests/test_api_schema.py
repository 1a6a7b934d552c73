"""Schema-based testing: Schemathesis generates requests from the app's own OpenAPI document
and checks every response against it with all of its checks (no 5xx, status codes, bodies,
content types and headers as documented). Bounded and seeded, so every ``make test`` runs the
same cases."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from retrieval.searcher import Searcher

EXAMPLES = 30


@pytest.fixture
def api_schema(corpus_settings, corpus_searcher: Searcher):
    """The whole app (API and pages) on the real corpus, started (index loaded) for the run."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    app = create_app(corpus_settings, searcher_loader=lambda path: corpus_searcher)
    with TestClient(app):  # runs the lifespan: the searcher is loaded and stays for the run
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def test_the_schema_lists_the_api(api_schema):
    paths = {operation.path for operation in operations(api_schema)}
    assert {"/api/search", "/api/documents/{doc_id}", "/healthz", "/api/feedback"} <= paths


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda mode: mode.value)
def test_every_operation_behaves_as_documented(api_schema, mode):
    """Valid requests (positive) and requests that break the schema (negative) alike."""
    failures = []
    for operation in operations(api_schema):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers={"host": "testserver"})

        try:
            check()
        except Unsatisfiable:  # negative: nothing in this operation's schema can be broken (e.g. /healthz)
            continue
        except Exception as error:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
