"""Stemming from many threads at once, as a web server's request threads do: snowballstemmer's
stemmer objects keep state between calls, so sharing one between threads garbles stems (or raises
IndexError; found by bench/web.py)."""

from __future__ import annotations

import random
import string
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from broadsheet import text
from broadsheet.search import explain


def _words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    suffixes = [
        "",
        "s",
        "es",
        "ed",
        "ing",
        "ation",
        "ational",
        "ness",
        "fulness",
        "ly",
        "ies",
    ]
    return [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        + rng.choice(suffixes)
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    "stem", [text.index_term.__wrapped__, explain._stem.__wrapped__], ids=["index_term", "explain"]
)
def test_stemming_is_thread_safe(stem) -> None:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        batches = [_words(3000, seed) for seed in range(8)]
        expected = [[stem(w) for w in batch] for batch in batches]
        with ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(lambda batch: [stem(w) for w in batch], batches))
    finally:
        sys.setswitchinterval(old)
    assert got == expected
