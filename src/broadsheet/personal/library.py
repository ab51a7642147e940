"""A member's library as a use case: named collections of saved papers (the first, "Saved", is
made on the first save), public or private, imported from a reference manager's export and
exported as BibTeX or JSON. ``Hub`` delegates here, one line each; the SQL is in
``storage/personal.py``, the parsing of imports in ``bibimport.py``.

Collections are addressed by their slug (``/library/SLUG``, ``/u/NAME/SLUG``); every lookup is
by owner and slug, so a member can never reach another member's collection through a slug of
theirs. A private collection is "not found" for anyone but its owner: a 404, never a 403 that
would tell it exists. Every write calls ``changed`` (the Hub's data version, which caches compare:
a collection made private drops out of the page cache at once).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..exceptions import ConflictError, InvalidInputError, NotFoundError, PaperNotFoundError, SourceError
from ..storage import Storage
from ..types import Collection, Paper, SyncReport, User
from .bibimport import ImportProblem, parse_library

DEFAULT_NAME = "Saved"
DEFAULT_SLUG = "saved"
MAX_NAME = 100  # characters of a collection's name
MAX_COLLECTIONS = 200  # collections one member may have
FETCH_MAX = 500  # papers one import asks arXiv for (5 requests of 100, paced 3 s apart)
# ... when someone waits for the answer (the web, the API): one request, one try
FETCH_MAX_INTERACTIVE = 100
PAGE = 50  # papers a collection page shows
UNREACHABLE = "arXiv could not be reached: import the file again later"

# Asks arXiv for papers not in the database and stores what it knows (``Hub`` passes one built on
# the paced arXiv edge); ``interactive``: someone waits, so no retries.
Fetcher = Callable[[Sequence[str], bool], SyncReport]


class CollectionNotFoundError(NotFoundError):
    """No such collection, or one the asker may not see (private and not theirs)."""


@dataclass(frozen=True, slots=True)
class SavedPaper:
    """A paper in a collection, and when it was put there."""

    paper: Paper
    added_at: datetime


@dataclass(frozen=True, slots=True)
class CollectionPage:
    """A collection and a page of its papers (most recently added first)."""

    collection: Collection
    papers: tuple[SavedPaper, ...]
    offset: int
    total: int


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What a save or remove left: the paper, the collection, whether the paper is in it now, and
    the slugs of every collection of the member that holds it."""

    arxiv_id: str
    collection: Collection
    saved: bool
    collections: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: entries read, papers added to the collection (``added``), matched but
    already in it (``already``), fetched from arXiv on the way (``fetched``), and every entry that
    did not come across with its line and reason."""

    collection: Collection
    format: str  # bibtex | list | json
    entries: int
    added: int
    already: int
    fetched: int
    problems: tuple[ImportProblem, ...]

    @property
    def matched(self) -> int:
        return self.added + self.already


# -- names (pure) --------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """A collection's name as shown: spaces collapsed; InvalidInputError when empty or too long."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInputError("a collection needs a name")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"a collection's name has at most {MAX_NAME} characters")
    if not slugify(name):
        raise InvalidInputError(f"a collection's name needs a letter or a digit: {name!r}")
    return name


def slugify(name: str) -> str:
    """The name in URLs: lower-case ASCII letters and digits joined by hyphens
    (``Reading group: LLMs`` -> ``reading-group-llms``; accents dropped, ``Poincaré`` -> ``poincare``)."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_NAME]


# -- the use case ----------------------------------------------------------------------------


class Library:
    """``changed()`` marks the data changed; ``fetch`` asks arXiv for missing papers."""

    def __init__(self, storage: Storage, now: Callable[[], datetime], changed: Callable[[], None], fetch: Fetcher) -> None:
        self._storage = storage
        self._store = storage.personal
        self._now = now
        self._changed = changed
        self._fetch = fetch

    # -- collections ----------------------------------------------------------------------

    def collections(self, user: User) -> list[Collection]:
        return self._store.collections(user.id)

    def collection(self, user: User, slug: str) -> Collection:
        """One of the member's own collections; CollectionNotFoundError."""
        found = self._store.collection(user.id, slug) if slug == slugify(slug) else None
        if found is None:
            raise CollectionNotFoundError(f"you have no collection {slug!r}")
        return found

    def public_collection(self, viewer: User | None, owner_name: str, slug: str) -> Collection:
        """``NAME``'s collection ``slug`` as ``viewer`` may see it: public, or the viewer's own.
        Anything else is not found, with the same message whether or not it exists."""
        row = self._storage.users.by_name(owner_name) if owner_name else None
        owner = row[0] if row else None
        found = self._store.collection(owner.id, slug) if owner and slug == slugify(slug) else None
        if owner is None or found is None or not (found.public or (viewer is not None and viewer.id == owner.id)):
            raise CollectionNotFoundError(f"{owner_name} has no public collection {slug!r}")
        return found

    def create(self, user: User, name: str, *, public: bool = False) -> Collection:
        name = clean_name(name)
        if len(self._store.collections(user.id)) >= MAX_COLLECTIONS:
            raise InvalidInputError(f"a member has at most {MAX_COLLECTIONS} collections")
        made = self._store.create_collection(user.id, name, slugify(name), public=public, now=self._now())
        self._changed()
        return made

    def update(self, user: User, slug: str, *, name: str | None = None, public: bool | None = None) -> Collection:
        """Rename (the slug follows the name: old links stop working) or make public/private."""
        current = self.collection(user, slug)
        new_name = clean_name(name) if name is not None else None
        new_slug = slugify(new_name) if new_name is not None else None
        if new_slug is not None and new_slug != current.slug and self._store.collection(user.id, new_slug):
            raise ConflictError(f"you have a collection called {new_name!r} already")
        self._store.update_collection(current.id, name=new_name, slug=new_slug, public=public)
        self._changed()
        return self.collection(user, new_slug or current.slug)

    def delete(self, user: User, slug: str) -> None:
        """Delete a collection (the papers stay in the hub and in other collections)."""
        self._store.delete_collection(self.collection(user, slug).id)
        self._changed()

    def _target(self, user: User, slug: str | None) -> Collection:
        """The collection a save goes to: the default one (made on first use) or a named one."""
        if not slug or slug == DEFAULT_SLUG:
            return self._store.ensure_collection(user.id, DEFAULT_NAME, DEFAULT_SLUG, now=self._now())
        return self.collection(user, slug)

    def _for_import(self, user: User, name: str | None) -> Collection:
        """The collection an import lands in: the default one, or the one of that name or slug
        (made if the member has none)."""
        if not name or not name.strip():
            return self._target(user, None)
        if found := self._store.collection(user.id, slugify(name)):
            return found
        if slugify(name) == DEFAULT_SLUG:
            return self._target(user, None)
        return self.create(user, name)

    # -- papers ---------------------------------------------------------------------------

    def _paper_id(self, user: User, arxiv_id: str) -> tuple[Paper, int]:
        from ..ids import parse_paper_id

        key, _ = parse_paper_id(arxiv_id)
        paper = self._storage.papers.get(key)
        if paper is None or (paper.hidden and not user.is_admin):
            raise PaperNotFoundError(key)
        return paper, self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]

    def save(self, user: User, arxiv_id: str, slug: str | None = None, *, on: bool = True) -> SaveResult:
        """Put a paper into a collection (``on``; the default one when ``slug`` is empty) or take it
        out. Saving twice or removing twice changes nothing."""
        paper, pid = self._paper_id(user, arxiv_id)
        target = self._target(user, slug)
        if on:
            self._store.add_to_collection(target.id, [pid], now=self._now())
        else:
            self._store.remove_from_collection(target.id, pid)
        self._changed()
        held = self._store.saved_among(user.id, [paper.arxiv_id]).get(paper.arxiv_id, [])
        return SaveResult(paper.arxiv_id, self.collection(user, target.slug), target.slug in held, tuple(held))

    def saved(self, user: User | None, arxiv_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """For a page of cards: which of these papers the member saved, and in which collections
        (slugs). One query; nothing for a visitor."""
        if user is None or not arxiv_ids:
            return {}
        return {a: tuple(slugs) for a, slugs in self._store.saved_among(user.id, arxiv_ids).items()}

    def page(self, collection: Collection, *, offset: int = 0, limit: int | None = PAGE, viewer: User | None = None) -> CollectionPage:
        """A page of a collection's papers (every one with ``limit=None``), the newest saves first.
        Papers an admin has hidden are left out, except for admins."""
        offset = max(0, offset)
        entries = self._store.collection_entries(collection.id, limit=limit, offset=offset)
        found = self._storage.papers.by_ids([pid for pid, _ in entries])
        show_hidden = viewer is not None and viewer.is_admin
        papers = tuple(
            SavedPaper(found[pid], when) for pid, when in entries if pid in found and (show_hidden or not found[pid].hidden)
        )
        return CollectionPage(collection, papers, offset, collection.papers)

    # -- import -------------------------------------------------------------------------------

    def import_library(
        self, user: User, data: bytes | str, collection: str | None = None, *, fetch: bool = False, interactive: bool = True
    ) -> ImportReport:
        """Read a BibTeX file, a list of arXiv ids or addresses, or a Hugging Face collection JSON
        (``bibimport``), and put every paper it names into ``collection`` (the default one when
        empty; made when the member has none of that name). Papers not in the database are asked
        of arXiv when ``fetch`` (at most ``FETCH_MAX``, in batches), else reported. Every entry
        that did not come across is in the report with its line and reason; the rest lands."""
        parsed = parse_library(data)
        target = self._for_import(user, collection)
        wanted = list(dict.fromkeys(e.arxiv_id for e in parsed.entries))
        ids = self._storage.papers.ids_of(wanted)
        missing = [a for a in wanted if a not in ids]
        why_missing: dict[str, str] = {}
        fetched = 0
        if missing and fetch:
            most = FETCH_MAX_INTERACTIVE if interactive else FETCH_MAX
            asked, skipped = missing[:most], missing[most:]
            try:
                report = self._fetch(asked, interactive)
                failure = "" if report.complete else UNREACHABLE
            except SourceError:
                failure = UNREACHABLE
            ids = self._storage.papers.ids_of(wanted)
            fetched = sum(1 for a in asked if a in ids)
            for a in asked:
                if a not in ids:
                    why_missing[a] = failure or f"arXiv has no paper {a}"
            for a in skipped:
                why_missing[a] = f"not in this hub yet (one import fetches at most {most} papers from arXiv): import the file again for the next ones"
        not_here = "not in this hub (this server does not fetch papers from arXiv)"
        problems = list(parsed.problems)
        for entry in parsed.entries:
            if entry.arxiv_id not in ids:
                reason = why_missing.get(entry.arxiv_id, f"arXiv {entry.arxiv_id} is {not_here}")
                problems.append(ImportProblem(entry.line, entry.label, reason))
        pids = [ids[a] for a in wanted if a in ids]
        added = self._store.add_to_collection(target.id, pids, now=self._now()) if pids else 0
        self._changed()
        problems.sort(key=lambda p: p.line)
        return ImportReport(
            collection=self.collection(user, target.slug),
            format=parsed.format,
            entries=len(parsed.entries) + len(parsed.problems),
            added=added,
            already=len(pids) - added,
            fetched=fetched,
            problems=tuple(problems),
        )
