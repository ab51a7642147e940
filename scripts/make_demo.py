"""Build ``src/broadsheet/demo/papers.json``, the built-in demo data, from the seed page.

The seed page (``../shared/seed/daily-papers-page.txt``) is a text capture of the Hugging Face
Daily Papers page for "Aug 26", the one piece of third-party data the project ships. Its layout:

    a header (``new``, ``Subscribe``, ``Daily Papers``, ...) ending with the date line ``Aug 26``,
    then for each paper a title paragraph followed by an abstract paragraph, blank-line separated.

The capture has 64 papers, and every one of them has its title line. Captures of this page can
lose a title line, though; the decision for that case: an abstract that directly follows another
abstract gets a title derived from its first sentence, clipped to ``TITLE_CLIP`` characters at a
word boundary, so no paper of the page is dropped. A title with no abstract after it is an error,
because a demo paper without an abstract cannot be searched.

The page gives no year, no arXiv ids and no authors: papers get local ids ``demo-01`` ..
``demo-64`` in page order, ``authors`` is empty, and ``listed_on`` is the page's "Aug 26" in
``DEMO_YEAR`` (2025-08-26). The output is deterministic (sorted keys, ``indent=1``), so running this
again on the same page reproduces the committed file byte for byte; a test checks that.

Usage: ``python scripts/make_demo.py [PAGE] [-o OUT]``
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PAGE = REPO.parent / "shared" / "seed" / "daily-papers-page.txt"
DEFAULT_OUT = REPO / "src" / "broadsheet" / "demo" / "papers.json"

DEMO_YEAR = 2025  # the page says "Aug 26" without a year
TITLE_MAX = 300  # longer paragraphs are abstracts (titles on the page are at most 140 characters)
TITLE_CLIP = 100  # length of a title derived from an abstract

_DATE_LINE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}$")  # "Aug 26"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each with its whitespace collapsed."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def split_header(paras: list[str]) -> tuple[date, list[str]]:
    """The page's date and the paragraphs after the header's date line."""
    for i, para in enumerate(paras):
        if _DATE_LINE.match(para):
            listed_on = datetime.strptime(f"{para} {DEMO_YEAR}", "%b %d %Y").date()
            return listed_on, paras[i + 1 :]
    raise ValueError("no date line such as 'Aug 26' in the page header")


def title_from_abstract(abstract: str) -> str:
    """The abstract's first sentence, clipped at a word boundary to TITLE_CLIP characters."""
    sentence = _SENTENCE_END.split(abstract, maxsplit=1)[0].rstrip(".")
    if len(sentence) <= TITLE_CLIP:
        return sentence
    return sentence[:TITLE_CLIP].rsplit(" ", 1)[0] + "…"


def pair_papers(body: list[str]) -> list[tuple[str, str]]:
    """(title, abstract) pairs in page order; see the module docstring for missing titles."""
    papers: list[tuple[str, str]] = []
    title: str | None = None
    for para in body:
        if len(para) <= TITLE_MAX:
            if title is not None:
                raise ValueError(f"title without an abstract: {title!r}")
            title = para
        else:
            papers.append((title or title_from_abstract(para), para))
            title = None
    if title is not None:
        raise ValueError(f"title without an abstract: {title!r}")
    return papers


def demo_records(page_text: str) -> list[dict[str, object]]:
    """The JSON records of papers.json, from the seed page's text."""
    listed_on, body = split_header(paragraphs(page_text))
    return [
        {
            "id": f"demo-{n:02d}",
            "title": title,
            "abstract": abstract,
            "authors": [],
            "listed_on": listed_on.isoformat(),
        }
        for n, (title, abstract) in enumerate(pair_papers(body), start=1)
    ]


def render(records: list[dict[str, object]]) -> str:
    """papers.json's exact text: sorted keys, indent=1, UTF-8 as is, final newline."""
    return json.dumps(records, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", type=Path, default=DEFAULT_PAGE, help="the seed page text")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT, help="papers.json to write")
    args = parser.parse_args(argv)
    records = demo_records(args.page.read_text(encoding="utf-8"))
    args.out.write_text(render(records), encoding="utf-8")
    print(f"wrote {len(records)} papers to {args.out}")


if __name__ == "__main__":
    main()
