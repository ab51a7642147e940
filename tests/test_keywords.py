"""Extracted keywords: candidate phrases (pure), maximal marginal relevance (pure, on vectors made
here), and end to end with the search embedder on real demo papers, skipping papers without a
vector; both backends."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from helpers import hub_at

from broadsheet.demo import load_demo_papers
from broadsheet.search.keyphrases import FILLER, candidates, pick
from broadsheet.web import create_app

TITLE = "Denoising Diffusion Probabilistic Models for Image Synthesis"
ABSTRACT = (
    "We present high quality image synthesis results using diffusion probabilistic models, a class of latent "
    "variable models inspired by considerations from nonequilibrium thermodynamics. On CIFAR10 we obtain an FID of 3.17."
)


def _unit(v: list[float]) -> np.ndarray:
    a = np.array(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_candidates_are_short_runs_without_stopwords_title_first() -> None:
    found = candidates(TITLE, ABSTRACT)
    assert found[0] == "diffusion probabilistic models"  # in the title, and repeated in the abstract
    assert "image synthesis" in found[:5] and "latent variable models" in found
    assert "CIFAR10" in found  # written with capitals inside: kept as written
    for phrase in found:
        words = phrase.split()
        assert 1 <= len(words) <= 3 and words[0].lower() not in FILLER and words[-1].lower() not in FILLER
        assert not any(w.lower() in {"the", "of", "for", "a", "we"} for w in words)
    assert candidates("", "") == [] and len(candidates(TITLE, ABSTRACT, limit=5)) == 5


def test_mmr_prefers_a_new_aspect_to_a_near_copy() -> None:
    doc = _unit([1, 0, 0])
    vectors = np.stack([_unit([0.9, 0.43, 0]), _unit([0.88, 0.47, 0]), _unit([0.8, -0.3, 0.5])])
    assert pick(doc, ["alpha", "alpha twin", "gamma"], vectors, top=2) == ["alpha", "gamma"]
    assert pick(doc, ["alpha", "alpha twin", "gamma"], vectors, top=2, diversity=0.0) == ["alpha twin"]  # "alpha" is inside the longer phrase: dropped
    # A phrase inside a longer one picked is dropped.
    two = np.stack([_unit([1, 0.1, 0]), _unit([0.6, 0, 0.8])])
    assert pick(doc, ["diffusion models", "diffusion"], two, top=2) == ["diffusion models"]
    assert pick(doc, [], np.empty((0, 3)), top=2) == []


@pytest.fixture
def demo_ids(db_url: str) -> list[str]:
    hub = hub_at(db_url)
    pairs = load_demo_papers()[:3]
    hub.add_papers(item for pair in pairs for item in pair)
    return [p.arxiv_id for p, _ in pairs]


def test_keywords_need_a_vector_and_come_from_the_paper(db_url: str, demo_ids: list[str]) -> None:
    hub = hub_at(db_url)
    assert hub.extract_keywords() == 0  # no vectors yet: nothing to rank against, nothing done
    assert hub_at(db_url, embedder="none").extract_keywords() == 0
    hub.index_embeddings(arxiv_ids=demo_ids[:2])
    assert hub.extract_keywords() == 2
    for aid in demo_ids[:2]:
        p = hub.get_paper(aid)
        assert 3 <= len(p.extras.keywords) <= 6, p.extras.keywords
        text = (p.title + " " + p.abstract).lower()
        assert all(k.lower() in " ".join(text.replace("-", " ").split()) or k.lower() in text for k in p.extras.keywords)
    assert hub.get_paper(demo_ids[2]).extras.keywords == ()
    assert hub.extract_keywords() == 0  # done once per text

    client = TestClient(create_app(hub))
    page = client.get("/papers/" + demo_ids[0]).text
    first = hub.get_paper(demo_ids[0]).extras.keywords[0]
    assert f'<span class="kw">{first}</span>' in page and ">extracted</span>" in page
    assert client.get("/api/v1/papers/" + demo_ids[0]).json()["extractedKeywords"] == list(hub.get_paper(demo_ids[0]).extras.keywords)
