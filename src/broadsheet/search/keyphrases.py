"""Keyphrases of a paper, extracted locally when its source gives none (KeyBERT's method, with the
embedder search already uses: no other model).

1. Candidates: runs of one to three words of the title and abstract that hold no stopword, no
   number alone and no punctuation (``candidates``, pure); the most promising ``MAX_CANDIDATES``
   are kept (in the title, frequent, longer), so embedding them stays cheap.
2. Each candidate is embedded, and scored by its cosine to the paper's own vector (the one search
   stored). Maximal marginal relevance picks ``TOP`` of them, each relevant to the paper and not a
   near-copy of one already picked (``pick``, pure over vectors).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..text import STOPWORDS, delatex

MAX_WORDS = 3
MAX_CANDIDATES = 40
TOP = 6
DIVERSITY = 0.5  # MMR: 0 = only relevance, 1 = only novelty
# Words that never start or end a keyphrase on top of the stopwords: the abstract's boilerplate.
FILLER = STOPWORDS | frozenset(
    """also based can however may new paper propose proposed show shows shown study using use used via well
    approach method results result work present presents existing several various novel first one two
    three different significantly significant further thus particular recent recently demonstrate demonstrates
    help helps along remain remains common commonly utilize utilizes utilizing enhance enhances integrate
    integrates without key achieve achieves achieving improve improves outperform outperforms introduce
    introduces provide provides enable enables allow allows require requires make makes given many much""".split()
)
_TOKEN = re.compile(r"[A-Za-z][\w\-]*[\w]|[A-Za-z]|[.,;:!?()\[\]{}\"]|\$[^$]*\$")


def candidates(title: str, abstract: str, limit: int = MAX_CANDIDATES) -> list[str]:
    """Candidate keyphrases, the most promising first (lower case unless written with capitals
    inside, as acronyms are)."""
    found: Counter[str] = Counter()
    first_at: dict[str, int] = {}
    in_title: set[str] = set()
    position = 0
    for part, is_title in ((title, True), (abstract, False)):
        run: list[str] = []
        for token in [*_TOKEN.findall(delatex(part)), "."]:
            word = token if token[:1].isalpha() else None
            if word is None or word.lower() in FILLER or len(word) < 2:
                for n in range(1, MAX_WORDS + 1):
                    for i in range(len(run) - n + 1):
                        phrase = " ".join(run[i : i + n])
                        found[phrase] += 1
                        first_at.setdefault(phrase, position)
                        if is_title:
                            in_title.add(phrase)
                run = []
                position += 1
            else:
                run.append(word if any(c.isupper() for c in word[1:]) else word.lower())
    ranked = sorted(found, key=lambda p: (p not in in_title, -found[p] * (1 + p.count(" ")), first_at[p]))
    return ranked[:limit]


def pick(doc: np.ndarray, phrases: Sequence[str], vectors: np.ndarray, top: int = TOP, diversity: float = DIVERSITY) -> list[str]:
    """The ``top`` phrases by maximal marginal relevance: cosine to ``doc`` (unit vectors) minus
    ``diversity`` times the largest cosine to a phrase already picked."""
    if not len(phrases):
        return []
    relevance = vectors @ doc
    chosen: list[int] = []
    left = list(range(len(phrases)))
    while left and len(chosen) < top:
        if chosen:
            redundancy = (vectors[left] @ vectors[chosen].T).max(axis=1)
            score = (1 - diversity) * relevance[left] - diversity * redundancy
        else:
            score = relevance[left]
        best = left[int(np.argmax(score))]
        chosen.append(best)
        left.remove(best)
    # Drop a phrase contained in a longer one picked ("diffusion" beside "diffusion models").
    picked = [phrases[i] for i in chosen]
    return [p for p in picked if not any(p != q and f" {p} " in f" {q} " for q in picked)]
