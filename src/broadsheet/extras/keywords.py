"""Keywords for papers whose source gives none: keyphrases extracted from the title and abstract,
ranked by the embedder search uses (``search/keyphrases.py``), stored as *extracted* (the source's
own, Hugging Face's ``ai_keywords``, are kept apart and win on the page)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..search.embedders import Embedder
    from ..storage import Storage


def extract_keywords(
    storage: Storage,
    embedder: Embedder | None,
    now: Callable[[], datetime],
    *,
    arxiv_ids: Sequence[str] | None = None,
    limit: int = 100,
    listed_only: bool = False,
) -> int:
    """Extract and store keywords for up to ``limit`` papers that need them and have a vector
    (none without an embedder, or before papers are embedded: they wait); return how many."""
    if embedder is None:
        return 0
    rows = storage.extras.lacking_keywords(embedder.name, limit, arxiv_ids, listed_only=listed_only)
    if not rows:
        return 0
    import numpy as np

    from ..search.keyphrases import candidates, pick

    done = []
    for pid, title, abstract, content_hash, blob in rows:
        phrases = candidates(title, abstract)
        doc = np.frombuffer(blob, dtype="<f4")
        keywords = pick(doc, phrases, embedder.embed(phrases)) if phrases and doc.shape[0] == embedder.dim else []
        done.append((pid, keywords, content_hash))
    storage.extras.put_keywords(done, now())
    return len(done)
