"""BEIR-layout collections (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``), for
evaluating search. Documents become papers with local ids ``beir-N`` (N = line number), since
BEIR document ids can be any string; ``document_ids`` maps the local ids a search returned back,
reading the corpus again rather than keeping a map of every document (millions in the larger
collections).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..exceptions import SourceError
from ..types import PaperData, Rejected, SourceItem
from ._common import collapse_ws

SOURCE = "beir"


def local_id(line: int) -> str:
    """The local paper id of the document on ``line`` (from 1) of ``corpus.jsonl``."""
    return f"beir-{line}"


def line_of(local: str) -> int | None:
    """The corpus line of a local id made by ``local_id``; None for another id."""
    head, _, n = local.partition("-")
    return int(n) if head == "beir" and n.isdigit() else None


def read_corpus(folder: Path, ids: dict[str, str] | None = None) -> Iterator[SourceItem]:
    """Papers from ``corpus.jsonl``; fills ``ids`` (if given) with local id → BEIR document id."""
    path = folder / "corpus.jsonl"
    try:
        f = path.open(encoding="utf-8")
    except OSError as e:
        raise SourceError(f"{path}: {e}") from None
    with f:
        for n, line in enumerate(f, 1):
            ref = f"{path.name}:{n}"
            try:
                row = json.loads(line)
                doc_id, title, body = str(row["_id"]), collapse_ws(row.get("title")), collapse_ws(row.get("text"))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                yield Rejected(ref, f"not a BEIR corpus row: {e}")
                continue
            if not (title or body):
                yield Rejected(ref, "empty document")
                continue
            local = local_id(n)
            if ids is not None:
                ids[local] = doc_id
            # Many collections have no titles (FiQA, Quora, ...): a document keeps an empty one rather
            # than a made-up title that BM25 would weigh as one and the embedder would read twice.
            yield PaperData(arxiv_id=local, title=title, abstract=body, source=SOURCE, source_ref=ref)


def document_ids(folder: Path, lines: Iterable[int]) -> dict[int, str]:
    """The BEIR document id on each of these lines of ``corpus.jsonl`` (one pass over the file,
    only those lines decoded): what a ranking of local ids maps back through."""
    wanted = set(lines)
    out: dict[int, str] = {}
    path = folder / "corpus.jsonl"
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if n in wanted:
                    out[n] = str(json.loads(line)["_id"])
                    if len(out) == len(wanted):
                        break
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SourceError(f"{path}: {e}") from None
    return out


def read_queries(folder: Path) -> dict[str, str]:
    path = folder / "queries.jsonl"
    try:
        with path.open(encoding="utf-8") as f:
            return {str(r["_id"]): r["text"] for r in map(json.loads, f) if r.get("text")}
    except (OSError, ValueError, KeyError) as e:
        raise SourceError(f"{path}: {e}") from None


def read_qrels(folder: Path, split: str) -> dict[str, dict[str, int]]:
    """query id → {document id: relevance}, from ``qrels/<split>.tsv`` (header line optional)."""
    path = folder / "qrels" / f"{split}.tsv"
    qrels: dict[str, dict[str, int]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f, delimiter="\t"):
                if len(row) < 3 or not row[2].lstrip("-").isdigit():
                    continue  # the header, or a blank line
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    except OSError as e:
        raise SourceError(f"{path}: {e}") from None
    return qrels
