"""Contract fuzz: schemathesis generates requests from /openapi.json (valid and invalid
parameters, bodies, tokens) against the app in-process; no answer may be a 5xx.

Bounded for CI: a few examples per operation, no shrinking database, no deadline (2 busy cores).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from helpers import Clock
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app
from broadsheet.web.api_v1 import TOKEN_GETS

EXAMPLES = 15  # per operation: about 25 operations, ~375 requests


@pytest.fixture(scope="module")
def fuzz_hub(module_db_url: str) -> Iterator[Hub]:
    h = site_hub(module_db_url,
        Clock(NOW),
        rate_api_anonymous="1000000/minute",
        rate_votes="1000000/minute",
        rate_comments="1000000/minute",
        rate_submissions="1000000/minute",
        rate_library="1000000/minute",
        rate_imports="1000000/minute",
    )
    ada = h.get_user("ada")
    h.save_paper(ada, "2611.00001")  # a collection (`saved`, the slug's example) with a paper
    yield h
    h.close()


def operations() -> list[str]:
    """The operations' labels (``GET /api/daily_papers``), read from a throwaway app's schema."""
    from fastapi.testclient import TestClient

    return sorted(
        f"{method.upper()} {path}"
        for path, item in TestClient(create_app(_bare_hub()))
        .get("/openapi.json")
        .json()["paths"]
        .items()
        for method in item
    )


def _bare_hub() -> Hub:
    import tempfile

    from helpers import hub_at

    return hub_at(f"sqlite:///{Path(tempfile.mkdtemp(prefix='bs-fuzz-')) / 'hub.sqlite3'}", embedder="none")


@pytest.fixture(scope="module")
def api_schema(fuzz_hub: Hub) -> object:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_hub))


@pytest.mark.parametrize("label", operations())
def test_no_server_errors(label: str, api_schema: object, fuzz_hub: Hub) -> None:
    method, path = label.split(" ", 1)
    operation = next(
        r.ok()
        for r in api_schema.get_all_operations()  # type: ignore[attr-defined]
        if r.ok().method.upper() == method and r.ok().path == path
    )
    token = fuzz_hub.new_api_token(fuzz_hub.get_user("ada"))

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        if path.startswith("/api/v1/") and (
            method != "GET" or path in TOKEN_GETS or path.startswith("/api/v1/library")
        ):  # writes (and the member's own reads: library, For you) get past authentication
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        case.call_and_validate(checks=[not_a_server_error])

    check()
