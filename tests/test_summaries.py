"""One-line summaries from an OpenAI-compatible endpoint: a fake one at the network edge (a tiny
local HTTP server), the key read from a secret file, off by default, a failure stores nothing;
shown on cards and paper pages marked as a model's; both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import FakeEdge, Clock, hub_at, paper

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.types import ListingData
from broadsheet.web import create_app


class FakeModel(FakeEdge):
    """POST /v1/chat/completions: answers "Summary of <title>." (or ``status`` when set)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.status = 200
        super().__init__()
        self.url += "/v1"

    def handle(self, request) -> None:  # noqa: ANN001
        body = json.loads(request.rfile.read(int(request.headers["Content-Length"])))
        self.requests.append({"path": request.path, **body})
        self.auth.append(request.headers.get("Authorization"))
        title = body["messages"][-1]["content"].split("\n")[0]
        answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": f'  "Summary of {title}.\n"  '}}]}
        data = json.dumps(answer if self.status == 200 else {"error": "overloaded"}).encode()
        self.reply(request, self.status, data, "application/json")


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel()
    yield fake
    fake.close()


def _papers(hub) -> None:  # noqa: ANN001
    hub.add_papers([
        paper("2401.00001", title="Listed one"), ListingData("2401.00001", date(2026, 11, 27)),
        paper("2401.00002", title="Listed <two>"), ListingData("2401.00002", date(2026, 11, 28)),
        paper("2401.00003", title="Never listed"),
    ])  # fmt: skip


def test_summaries_are_off_by_default(db_url: str, model: FakeModel) -> None:
    hub = hub_at(db_url, embedder="none")
    _papers(hub)
    assert hub.make_summaries().made == 0 and model.requests == []


def test_listed_papers_get_a_summary_with_the_key_from_a_secret_file(db_url: str, model: FakeModel, tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("sk-test-secret\n")
    env = {"BROADSHEET_SUMMARIZER_KEY_FILE": str(key), "BROADSHEET_SUMMARIZER_URL": model.url, "BROADSHEET_SUMMARIZER_MODEL": "tiny-llm"}
    hub = make_hub(load_settings(env=env, database_url=db_url, embedder="none"), now=Clock())
    try:
        _papers(hub)
        report = hub.make_summaries()
        assert report.made == 2 and not report.problems
        assert [r["path"] for r in model.requests] == ["/v1/chat/completions"] * 2
        assert {r["model"] for r in model.requests} == {"tiny-llm"} and set(model.auth) == {"Bearer sk-test-secret"}
        assert model.requests[0]["messages"][-1]["content"].startswith("Listed <two>")  # the latest listing first
        assert hub.get_paper("2401.00002").extras.summary == "Summary of Listed <two>."
        assert hub.get_paper("2401.00003").extras.summary is None
        assert hub.make_summaries().made == 0 and len(model.requests) == 2  # done once per text

        client = TestClient(create_app(hub))
        page = client.get("/papers/date/2026-11-28").text
        assert "Summary of Listed &lt;two&gt;." in page and "model summary" in page
        assert "Summary of Listed &lt;two&gt;." in client.get("/papers/2401.00002").text
        assert client.get("/api/v1/papers/2401.00001").json()["generatedSummary"] == "Summary of Listed one."

        # A changed abstract is summarised again.
        hub.add_papers([paper("2401.00001", title="Listed one", abstract="A new abstract.")])
        assert hub.make_summaries().made == 1
    finally:
        hub.close()


def test_a_failing_endpoint_stores_nothing_and_says_why(db_url: str, model: FakeModel) -> None:
    model.status = 503
    hub = hub_at(db_url, embedder="none", summarizer_url=model.url, summarizer_model="m")
    _papers(hub)
    report = hub.make_summaries()
    assert report.made == 0 and "HTTP 503" in report.problems[0] and len(model.requests) == 1
    assert hub.get_paper("2401.00002").extras.summary is None
    model.status = 200
    assert hub.make_summaries().made == 2
