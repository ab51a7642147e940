"""One-line summaries from an OpenAI-compatible chat endpoint (``summarizer_url``): the local
server of a self-hosted model (llama.cpp, vLLM, Ollama) or a hosted one. Off unless configured;
run by the worker, never while a page waits."""

from __future__ import annotations

import json

from ..exceptions import SourceError
from .http import HttpEdge

PROMPT = (
    "Summarise this research paper in one plain sentence of at most 30 words, for a reader skimming "
    "a list of papers. Answer with the sentence only."
)
MAX_CHARS = 300  # a longer answer is cut at a word


def read_summary(body: bytes) -> str:
    """The first choice's message of a chat-completions answer, on one line."""
    try:
        text = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise SourceError(f"not a chat completion: {e}") from e
    if not isinstance(text, str) or not text.strip():
        raise SourceError("the model answered with no text")
    line = " ".join(text.split()).strip("\"' ")
    if len(line) > MAX_CHARS:
        line = line[:MAX_CHARS].rsplit(" ", 1)[0] + "…"
    return line


def summarize(edge: HttpEdge, url: str, model: str, key: str, title: str, abstract: str) -> str:
    """A one-line summary of a paper; SourceError when the endpoint fails or answers nonsense."""
    endpoint = url.rstrip("/")
    if not endpoint.endswith("/chat/completions"):
        endpoint += "/chat/completions"
    payload = {
        "model": model,
        "messages": [{"role": "system", "content": PROMPT}, {"role": "user", "content": f"{title}\n\n{abstract}"}],
        "temperature": 0.2,
        "max_tokens": 80,
    }
    headers = {"Authorization": f"Bearer {key}"} if key else None
    return edge.post_json(endpoint, payload, read_summary, headers=headers)
