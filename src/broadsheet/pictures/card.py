"""The picture a card shows when a paper has no rendered first page: an SVG with the title, the
first author and a band in the colour of the paper's field. Every text is XML-escaped."""

from __future__ import annotations

import hashlib
import textwrap
from html import escape  # escapes & < > " ' (xml.sax.saxutils would import urllib.request: 28 ms)

WIDTH, HEIGHT = 300, 388  # the proportions of a letter-size page, like a rendered first page

# Colours of the big arXiv archives (and of papers without a category); others get a hue from a hash.
COLOURS = {
    "cs": "#2563eb", "stat": "#7c3aed", "math": "#0f766e", "physics": "#c2410c", "astro-ph": "#1e3a8a",
    "cond-mat": "#b45309", "hep": "#be123c", "quant-ph": "#6d28d9", "q-bio": "#15803d", "q-fin": "#a16207",
    "eess": "#0369a1", "econ": "#9d174d", "gr-qc": "#4338ca", "nlin": "#0e7490", "": "#475569",
}  # fmt: skip


def category_colour(category: str | None) -> str:
    """A stable colour for a category's archive (``cs.LG`` -> cs's blue)."""
    archive = (category or "").split(".")[0]
    archive = "hep" if archive.startswith("hep-") else archive
    if archive in COLOURS:
        return COLOURS[archive]
    hue = int(hashlib.sha256(archive.encode()).hexdigest()[:4], 16) % 360
    return f"hsl({hue}, 55%, 38%)"


def _lines(text: str, width: int, most: int) -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), width=width, break_long_words=True) or [""]
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def card_svg(title: str, first_author: str | None, category: str | None) -> str:
    """A standalone SVG document (for ``<img src>``)."""
    colour = category_colour(category)
    title_lines = _lines(title, 22, 8)
    tspans = "".join(f'<tspan x="22" dy="{0 if i == 0 else 27}">{escape(line)}</tspan>' for i, line in enumerate(title_lines))
    author = escape(_lines(first_author or "", 30, 1)[0])
    label = escape(category or "paper")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f8fafc"/>'
        f'<rect width="{WIDTH}" height="56" fill="{colour}"/>'
        f'<text x="22" y="36" font-family="system-ui, sans-serif" font-size="18" font-weight="600" fill="#fff">{label}</text>'
        f'<text x="22" y="100" font-family="Georgia, serif" font-size="22" fill="#0f172a">{tspans}</text>'
        f'<rect x="22" y="{HEIGHT - 58}" width="40" height="3" fill="{colour}"/>'
        f'<text x="22" y="{HEIGHT - 28}" font-family="system-ui, sans-serif" font-size="16" fill="#334155">{author}</text>'
        "</svg>"
    )
