"""``eval-recs`` (``Hub.evaluate_recommendations``): on a small interaction file shaped like the
real ones, where the answer is known, on both backends; bad lines are reported by number and the
rest is measured; the CLI prints the JSON. The slow test builds the real HF-submitter set with
the bench script and checks the targets of docs/benchmarks.md."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from broadsheet.exceptions import InvalidInputError
from broadsheet.types import ListingData

from helpers import Clock, close_hubs, hub_at, paper

REPO = Path(__file__).resolve().parents[1]
CUTOFF = date(2026, 10, 1)
TOPICS = {
    "protein": "protein folding structure prediction residues amino acid sequence backbone",
    "graph": "graph neural network message passing node embeddings edges aggregation",
    "galaxy": "galaxy cluster dark matter halo gravitational lensing redshift survey",
}
WORDS = ["robust", "efficient", "scalable", "novel", "accurate", "fast", "simple", "large"]


def _aid(topic: str, n: int, new: bool) -> str:
    return f"26{'10' if new else '09'}.{list(TOPICS).index(topic)}{n:04d}"


def _papers():
    """Eight papers a topic listed in September (before the cutoff), eight in October (after);
    the galaxy papers of October are the most upvoted (popularity gets them wrong)."""
    items = []
    for t, words in TOPICS.items():
        vocab = words.split()
        for n in range(16):
            new = n >= 8
            aid = _aid(t, n, new)
            chosen = [vocab[(n + k) % len(vocab)] for k in range(5)]
            day = (CUTOFF if new else CUTOFF - timedelta(days=30)) + timedelta(days=n % 8)
            items.append(
                paper(
                    aid,
                    title=f"A {WORDS[n % 8]} approach to {' '.join(chosen[:3])}",
                    abstract=f"We study {' '.join(chosen)} and show {WORDS[(n + 3) % 8]} results.",
                    published=day,
                    external_upvotes=100 + n if t == "galaxy" and new else n,
                )
            )
            items.append(ListingData(aid, day, source="test", source_ref=f"test:{aid}"))
    return items


def _interactions(path: Path) -> Path:
    lines = []
    for user, topic in (("ada", "protein"), ("bob", "graph")):
        lines += [{"user": user, "arxiv_id": _aid(topic, n, False), "time": f"2026-09-0{n + 1}"} for n in range(6)]
        lines += [{"user": user, "arxiv_id": _aid(topic, n, True), "time": "2026-10-05T10:00:00Z"} for n in (9, 12)]
    # too little history: counted out
    lines += [{"user": "cy", "arxiv_id": _aid("galaxy", n, False), "time": "2026-09-02"} for n in range(3)]
    lines += [{"user": "cy", "arxiv_id": _aid("galaxy", 10, True), "time": "2026-10-03"}]
    lines.append({"user": "ada", "arxiv_id": "2601.99999", "time": "2026-09-03"})  # not in the database
    text = "\n".join(json.dumps(r) for r in lines)
    text += '\n{"user": "ada", "arxiv_id": "2609.00001"}\nnot json\n{"user": "bob", "arxiv_id": "2609.10001", "time": "yesterday"}\n'
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, Clock())
    h.add_papers(_papers())
    yield h
    close_hubs(db_url)


def test_known_answer(hub, tmp_path: Path) -> None:
    result = hub.evaluate_recommendations(_interactions(tmp_path / "i.jsonl"), CUTOFF, k=8)
    assert (result.users, result.candidates) == (2, 24)
    assert result.scores["shipped"]["recall"] == 1.0  # both users' October papers are in their top 8
    assert result.scores["shipped"]["ndcg"] > 0.5
    assert result.scores["centroid-tfidf"]["recall"] == 1.0
    assert result.scores["popularity"]["recall"] == 0.0  # the top 8 by upvotes are galaxy papers
    assert "centroid-emb" not in result.scores  # no vectors stored: the embedding rankers are left out
    assert result.skipped["bad lines"] == 3
    assert result.skipped["interactions with papers not in the database"] == 1
    assert result.skipped["users with too little history or nothing after the cutoff"] == 1
    assert [p.split(":")[1] for p in result.problems] == ["22", "23", "24"]
    assert "missing 'time'" in result.problems[0] and "i.jsonl:22" in result.problems[0]
    report = result.as_dict()
    assert report["best_baseline"]["name"] in ("centroid-tfidf", "popularity", "recency")
    assert report["shipped_vs_popularity"] is None  # popularity scored 0: no ratio


def test_bad_input(hub, tmp_path: Path) -> None:
    path = _interactions(tmp_path / "i.jsonl")
    with pytest.raises(InvalidInputError, match="no papers were first listed"):
        hub.evaluate_recommendations(path, date(2030, 1, 1))
    with pytest.raises(InvalidInputError, match="no user has 5 interactions"):
        hub.evaluate_recommendations(path, date(2026, 9, 3))
    with pytest.raises(InvalidInputError, match="cannot open"):
        hub.evaluate_recommendations(tmp_path / "absent.jsonl", CUTOFF)


def test_cli_json(hub, db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the CLI run is the same on both backends; once is enough")
    path = _interactions(tmp_path / "i.jsonl")
    out = subprocess.run(
        [sys.executable, "-m", "broadsheet", "--db", db_url.removeprefix("sqlite:///"), "eval-recs", str(path),
         "--cutoff", CUTOFF.isoformat(), "--k", "8", "--json", "--allow-authors"],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(out.stdout)
    assert report["users"] == 2 and report["k"] == 8
    assert report["scores"]["shipped"]["recall"] == 1.0
    assert "shipped+authors" in report["scores"]
    bad = subprocess.run(
        [sys.executable, "-m", "broadsheet", "--db", db_url.removeprefix("sqlite:///"), "eval-recs", str(path), "--cutoff", "soon"],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert bad.returncode == 2 and "--cutoff" in bad.stderr


HF_ARCHIVE = "hf-daily-papers-2024-05_2026-08.tar.gz"
HF_CUTOFF = date(2025, 10, 1)  # as in docs/benchmarks.md ("Recommendations")


@pytest.mark.slow
@pytest.mark.timeout(3600)  # ingests 9,877 papers and embeds about 3,000 of them
def test_targets_hold_on_the_real_hf_submitters(shared_data: Path, tmp_path: Path) -> None:
    from broadsheet.personal import evaluate as E

    archive = shared_data / HF_ARCHIVE
    interactions = tmp_path / "hf-submitters.jsonl"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "recs_hf_submitters.py"), "--data", str(archive), "--out", str(interactions)],
        check=True, capture_output=True, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    url = f"sqlite:///{tmp_path / 'hf.sqlite3'}"
    hub = hub_at(url)
    try:
        hub.ingest_paths([archive])
        s = E.split(hub._storage, interactions, HF_CUTOFF)
        wanted = {c.paper_id for c in s.candidates} | {p for u in s.users for p in s.before[u]}
        wanted |= set(hub._storage.recs.background(HF_CUTOFF, E.BACKGROUND))
        hub.index_embeddings(arxiv_ids=[p.arxiv_id for p in hub._storage.papers.by_ids(sorted(wanted)).values()])
        result = hub.evaluate_recommendations(interactions, HF_CUTOFF).as_dict()
    finally:
        close_hubs(url)
    assert result["users"] >= 25 and result["candidates"] > 500
    assert "centroid-emb" in result["scores"]  # the embedding baseline was measured
    assert result["shipped_vs_best_baseline"] >= 1.05, result
    assert result["shipped_vs_popularity"] >= 2, result
