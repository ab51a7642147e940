"""Avatars drawn on this server: ``/avatars/NAME.svg``, a disc in a colour picked by a hash of the
name with the name's initials on it (pure functions; no external service, no stored image).

Why generated, and why pages never hotlink Hugging Face's pictures: an ``<img>`` from
huggingface.co would tell that site who reads which page, would be broken offline (a demo, an
air-gapped server), and would need the Content-Security-Policy to allow another origin. The
source's avatar addresses are stored and served by the API where huggingface.co puts them; the
pages always show the generated one. The same name always gives the same bytes, so the response
can be cached for a year (``immutable``).

Hostile names are harmless: the initials are escaped for XML (``xml.sax.saxutils``), the name
only picks the colour, and the title carries the escaped name.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote
from xml.sax.saxutils import escape

# Backgrounds with white text at a contrast ratio of 4.5:1 or more (WCAG AA).
PALETTE = (
    "#b3261e", "#8e3a00", "#6d5c00", "#2e6b00", "#00695c", "#006783",
    "#1f5fa8", "#4f4fb5", "#7b3fa0", "#a0306e", "#5d6169", "#6b4e3a",
)  # fmt: skip
MAX_NAME = 128
CACHE_CONTROL = "public, max-age=31536000, immutable"
_PARTS = re.compile(r"[^\W_]+")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not allowed in XML 1.0
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def avatar_path(name: str) -> str:
    """The address of ``name``'s avatar on this server (relative, as huggingface.co's are)."""
    return f"/avatars/{quote(name[:MAX_NAME], safe='')}.svg"


def initials(name: str) -> str:
    """One or two capitals: of the first two words (``Ada Lovelace`` → ``AL``), else of a camel-
    cased handle (``ShanghaiAiLab`` → ``SA``), else the first letter; ``?`` for no letters."""
    words = _PARTS.findall(name)
    if len(words) == 1:
        words = _CAMEL.findall(words[0]) or words
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[1][:1]).upper()


def colour(name: str) -> str:
    """A palette colour chosen by the SHA-256 of the name (casefolded: ``Ada`` and ``ada`` match)."""
    digest = hashlib.sha256(name.casefold().encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def avatar_svg(name: str) -> str:
    """The avatar of ``name`` as a 64×64 SVG document (characters XML cannot hold are dropped)."""
    name = _NOT_XML.sub("", name[:MAX_NAME])
    letters = escape(initials(name))
    size = 26 if len(letters) > 1 else 30
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" '
        'role="img" aria-label="avatar">'
        f"<title>{escape(name)}</title>"
        f'<circle cx="32" cy="32" r="32" fill="{colour(name)}"/>'
        f'<text x="32" y="32" dy=".35em" text-anchor="middle" fill="#ffffff" font-size="{size}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-weight="600">'
        f"{letters}</text></svg>"
    )
