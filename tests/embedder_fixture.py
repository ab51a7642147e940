"""A small, fast embedder for tests that run `broadsheet index` as real processes: words hashed
into 64 dimensions (deterministic, no model to load). ``BROADSHEET_TEST_EMBED_DELAY`` (seconds a
text) slows it down so that a test can stop a worker in the middle of a batch, and
``BROADSHEET_TEST_EMBED_LOG`` names a folder where each process appends the texts it embedded to
a file named after its pid (a line each), so a test can check that no paper was embedded twice.

Set with the setting ``embedder = "python:embedder_fixture:HashEmbedder"`` (tests/ on PYTHONPATH)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence

import numpy as np


class HashEmbedder:
    name = "test-hash-64"
    dim = 64

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        delay = float(os.environ.get("BROADSHEET_TEST_EMBED_DELAY", "0") or 0)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
            if delay:
                time.sleep(delay)
        out[:, 0] += 1e-3  # no all-zero row
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        if log := os.environ.get("BROADSHEET_TEST_EMBED_LOG"):
            with open(os.path.join(log, f"{os.getpid()}.txt"), "a", encoding="utf-8") as f:  # noqa: PTH118, PTH123
                f.writelines(t.replace("\n", " ") + "\n" for t in texts)
        return out

    def tail_passages(self, title: str, abstract: str) -> list[str]:
        """A second passage for abstracts over 40 words, so that the passages pass has work too."""
        words = abstract.split()
        return [f"{title}. {' '.join(words[40:])}"] if len(words) > 40 else []
