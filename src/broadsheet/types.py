"""Frozen dataclasses that cross layers.

``PaperData`` and ``ListingData`` are what sources produce (a record as one source reports it);
``Paper``, ``Listing``, ``User``, ``Comment`` are what the Hub returns (a record as stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization a paper is attributed to (Hugging Face's ``organization``): ``name`` is its
    handle (``google``, the key in URLs), ``fullname`` how it writes itself, ``avatar_url`` its
    logo's address as the source gave it (may be relative to huggingface.co)."""

    name: str
    fullname: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaperData:
    """One paper as a source reports it, before it meets the database.

    ``None`` means "this source does not say"; it never erases what another source said.
    """

    arxiv_id: str  # without version; see broadsheet.ids
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    version: int | None = None
    categories: tuple[str, ...] = ()  # primary first when known
    primary_category: str | None = None
    published: date | None = None
    updated: date | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    github_repo: str | None = None
    project_page: str | None = None
    external_upvotes: int | None = None  # votes counted elsewhere (Hugging Face)
    thumbnail_url: str | None = None  # the source's picture of the paper (HF: a social card PNG)
    ai_summary: str | None = None  # a one-paragraph summary written by the source's model (HF)
    ai_keywords: tuple[str, ...] = ()  # keywords the source's model picked (HF)
    github_stars: int | None = None  # stars of ``github_repo`` when the source counted them
    organization: Organization | None = None
    # Fields the source stated as an explicit null ("no organization any more"): they are
    # cleared, where a field merely absent from the record keeps its stored value (ingest.merge).
    cleared: tuple[str, ...] = ()
    source: str = ""  # which kind of source: "arxiv-jsonl", "hf-daily", "arxiv-api", "oai-pmh", ...
    source_ref: str = ""  # where exactly: "file.jsonl.gz:123", a URL, "archive.tar.gz/2024-05-27.json:4"


@dataclass(frozen=True, slots=True)
class ListingData:
    """A paper shown on the daily feed of a date, as a source reports it."""

    arxiv_id: str
    listed_on: date
    submitter: str | None = None  # the external submitter's user name (HF), if any
    submitter_fullname: str | None = None  # their display name (HF ``fullname``)
    submitter_avatar: str | None = None  # their avatar's address as the source gave it
    author_participating: bool | None = None  # an author of the paper takes part (HF's flag)
    source: str = ""
    source_ref: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record a source could not read: where it was, and why."""

    source_ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Malformed input that was read anyway (e.g. Python repr() strings decoded): worth telling."""

    source_ref: str
    message: str


# What a source yields, in order: papers, listings (which follow their paper), rejects, notices.
SourceItem = PaperData | ListingData | Rejected | Notice


@dataclass(frozen=True, slots=True)
class TrendMonth:
    month: str  # YYYY-MM
    papers: int
    upvotes: int


@dataclass(frozen=True, slots=True)
class Trend:
    """Papers and upvotes per month of a set of papers (a search, an author, a category): the
    months shown (at most ``trends.WINDOW``, ending at the last month with a paper), and totals
    over every month."""

    label: str
    months: tuple[TrendMonth, ...]
    total_papers: int
    total_upvotes: int
    first_month: str | None  # the earliest month with a paper, shown or not


@dataclass(frozen=True, slots=True)
class PaperExtras:
    """What Broadsheet made for a paper itself (not the source's): the rendered first page, keyphrases
    extracted from the title and abstract, a one-line summary from the configured model, and the
    stars of its GitHub repository as GitHub's API last said (``broadsheet sync github``)."""

    thumbnail: bool = False
    keywords: tuple[str, ...] = ()
    summary: str | None = None
    github_stars: int | None = None


NO_EXTRAS = PaperExtras()


@dataclass(frozen=True, slots=True)
class Paper:
    """A paper as stored."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    version: int | None
    categories: tuple[str, ...]
    primary_category: str | None
    published: date | None
    updated: date | None
    doi: str | None
    journal_ref: str | None
    comments: str | None
    github_repo: str | None
    project_page: str | None
    external_upvotes: int
    upvotes: int  # external + local votes
    num_comments: int
    source: str
    source_ref: str
    first_seen: datetime
    last_changed: datetime
    hidden: bool = False
    thumbnail_url: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    github_stars: int | None = None
    organization: Organization | None = None
    extras: PaperExtras = NO_EXTRAS


@dataclass(frozen=True, slots=True)
class Listing:
    """A paper on the daily feed of a date."""

    paper: Paper
    listed_on: date
    submitter: str | None  # a local user's name, or the external submitter's name
    submitted_at: datetime | None = None
    submitter_fullname: str | None = None  # the external submitter's display name
    submitter_avatar: str | None = None  # the external submitter's avatar address (HF)
    author_participating: bool | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    email: str | None
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    arxiv_id: str
    author: str
    body: str  # markdown as the author wrote it; renderers sanitise
    created_at: datetime
    parent_id: int | None = None  # replies are one level deep: the parent is a top-level comment
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Period:
    """A span of days a feed page shows: a day, an ISO week or a month (see ``broadsheet.periods``)."""

    kind: str  # "date" | "week" | "month"
    first: date
    last: date

    @property
    def slug(self) -> str:
        """The period as its URL writes it: ``2024-05-17``, ``2024-W20`` or ``2024-05``."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        return self.first.isoformat()


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A paper on a feed page: where it was listed, by whom, and its trending score there."""

    paper: Paper
    listed_on: date
    submitter: str | None
    score: float  # trending score at the feed's ``as_of`` time (broadsheet.trending)
    age_hours: float  # hours from the start of ``listed_on`` to ``as_of``
    submitter_fullname: str | None = None
    submitter_avatar: str | None = None
    author_participating: bool | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    """One page of the listings between ``first`` and ``last``, sorted by ``sort``.

    ``previous_day`` / ``next_day`` are the nearest days outside the span that have listings, for
    previous/next navigation that never lands on an empty page.
    """

    entries: tuple[FeedEntry, ...]
    total: int  # entries in the whole span, not only this page
    first: date
    last: date
    sort: str  # "top" | "trending" | "newest" (broadsheet.trending.SORTS)
    as_of: datetime  # the time trending scores are computed at
    previous_day: date | None = None
    next_day: date | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """What ``Hub.submit_paper`` did. ``status``: ``listed`` (added to the day's list, fetched
    first if it was missing), ``already_listed`` (it was on that day's list), ``not_found`` (not in
    the database, and this server fetches nothing), ``not_on_arxiv`` (arXiv has no such paper) or
    ``unreachable`` (arXiv could not be reached: try again later)."""

    arxiv_id: str
    status: str
    listed_on: date
    paper: Paper | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search query (see ``broadsheet.search.query`` for the language).

    ``text`` is what semantic search embeds: the words and phrases.
    """

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # words or phrases
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    raw: str = field(default="", compare=False)
    organizations: tuple[str, ...] = ()  # org:NAME, any of them (names compared in any case)

    @property
    def text(self) -> str:
        return " ".join((*self.phrases, *self.words))

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.authors or self.categories or self.organizations or self.since or self.until)

    @property
    def filters(self) -> bool:
        """Whether anything besides ranked words narrows the results (what ``allowed_ids`` applies)."""
        return bool(self.categories or self.organizations or self.since or self.until or self.authors or self.excluded or self.phrases)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Filters given beside the query text (the web form's fields); they add to the query's own."""

    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None


# A snippet of text as segments: (text, matched). Renderers escape each segment and mark the
# matched ones, so no markup ever travels inside text.
Snippet = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result and why it matched.

    ``lexical_rank``/``semantic_rank`` are 1-based ranks in each retriever's list (None when that
    retriever did not return the paper); ``lexical_score`` is BM25 (higher is better),
    ``semantic_score`` the cosine similarity; ``score`` the fused score that ordered the results,
    with ``lexical_share`` the part of it that came from the lexical side (0..1).
    """

    paper: Paper
    score: float
    title: Snippet
    snippet: Snippet
    matched_terms: tuple[str, ...] = ()
    lexical_rank: int | None = None
    lexical_score: float | None = None
    semantic_rank: int | None = None
    semantic_score: float | None = None
    lexical_share: float = 0.0
    # The paper has no vector yet: its semantic part was imputed by the fusion (from the weakest
    # candidate's cosine, or from its words), not measured.
    semantic_imputed: bool = False


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of search results; pass ``next_cursor`` back to get the next page. ``total``: how
    many results the search has, or at least has when ``total_capped`` (it stops counting).
    ``mode``: the mode asked for; when no paper has a vector of the model yet, a hybrid or
    semantic search runs on words alone and ``not_embedded`` says how many papers wait."""

    hits: tuple[SearchHit, ...]
    mode: str
    next_cursor: str | None = None
    total: int = 0
    total_capped: bool = False
    # Papers that meaning search cannot see yet (no vector, or one made from older text), counted
    # for a semantic search, or a hybrid one with a hit that has no vector; else 0 (and always in
    # lexical mode, or when search has no semantic side at all: ``semantic`` False).
    not_embedded: int = 0
    semantic: bool = True


@dataclass(frozen=True, slots=True)
class EmbeddingStatus:
    """How far embedding for semantic search is: ``embedded`` of ``papers`` have an up-to-date
    vector; ``background`` is what this process's background embedder does (``off``, ``idle``,
    ``embedding``, ``waiting``: another process holds the embedding lock, ``stopped``, or
    ``disabled``: no embedder); ``holder`` is the process holding that lock, if any; ``rate`` the
    papers per second of the last pass, ``error`` its last failure."""

    model: str | None
    papers: int
    embedded: int
    background: str = "off"
    holder: str | None = None
    rate: float | None = None
    error: str | None = None

    @property
    def waiting(self) -> int:
        """Papers without an up-to-date vector (0 without an embedder: nothing will embed them)."""
        return self.papers - self.embedded if self.model else 0


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What one ingest batch writes: decided by ``ingest.plan_batch``, written by storage."""

    new: tuple[PaperData, ...] = ()
    changed: tuple[PaperData, ...] = ()
    listings: tuple[ListingData, ...] = ()
    unchanged: int = 0
    rejected: tuple[Rejected, ...] = ()
    notices: tuple[Notice, ...] = ()
    # Every organization the batch's records name, as the last record stated it: stored whether
    # or not its papers changed (a paper refers to an organization by name only).
    organizations: tuple[Organization, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    listings_added: int = 0
    rejected: tuple[Rejected, ...] = ()
    notices: tuple[Notice, ...] = ()
    # rejected records and notices beyond those kept above (an ingest of files keeps the first
    # ``ingest.REJECTS_KEPT``, so that a file of a million bad lines is not a million objects)
    rejected_more: int = 0
    notices_more: int = 0

    @property
    def seen(self) -> int:
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts shown by ``broadsheet info``."""

    database: str
    schema_version: str | None
    papers: int
    listings: int
    users: int
    votes: int
    comments: int
    subscriptions: int
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CopyProgress:
    """Where a running ``copy-db`` is: rows of ``table`` copied so far, of ``total``."""

    table: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """Where a running `broadsheet index` is."""

    done: int
    total: int


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Where a running sync is: for progress bars. ``expected`` is the source's own count of what
    the whole run will bring (arXiv's totalResults, OAI-PMH's completeListSize), None when unknown."""

    source: str
    pages: int
    records: int
    expected: int | None = None
    added: int = 0
    updated: int = 0
    phase: str = "fetching"  # fetching | embedding
    note: str = ""  # the last fault survived ("503, waited 2 s"), for the status line


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync run did (``Hub.sync_arxiv``, ``sync_oai``, ``sync_hf_daily``).

    ``complete`` is False when the run stopped before the end (``problems`` says why); what it had
    fetched until then is stored, and an OAI-PMH harvest resumes from there on the next run.
    ``retried`` lists the faults the run survived (a 503, a reset, a truncated page).
    """

    source: str  # "arxiv-api", "oai-pmh", "hf-daily"
    complete: bool
    pages: int = 0
    requests: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    listings_added: int = 0
    rejected: tuple[Rejected, ...] = ()
    notices: tuple[Notice, ...] = ()
    retried: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    changed_ids: tuple[str, ...] = ()  # arXiv ids added or changed: what needs (re-)embedding
    embedded: int = 0
    resumed_from: str | None = None  # OAI-PMH: the stored resumption token the run started from
    enriched: int = 0  # papers given their arXiv metadata after the sync (sync/enrich.py)


# -- email digests (broadsheet.digest) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    """An email subscription: how often (``daily`` | ``weekly``) and what: the top
    ``trending_top`` trending papers (0: none) and papers matching ``topics`` (search queries;
    ``cat:cs.LG`` and ``author:"Name"`` are topics too). Nothing is sent before ``confirmed_at``."""

    id: int
    email: str
    frequency: str
    trending_top: int
    topics: tuple[str, ...]
    confirmed_at: datetime | None
    created_at: datetime
    user_id: int | None = None
    # Members only: the top N of their For you recommendations of the period (0: none), and a
    # section per follow with its new papers (personal/alerts.py).
    for_you_top: int = 0
    follow_alerts: bool = False


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    """The days one digest covers, and its key in the outbox (``daily:2026-11-27``,
    ``weekly:2026-W48``): one digest per subscription and key."""

    frequency: str
    first: date
    last: date
    key: str


@dataclass(frozen=True, slots=True)
class DigestSection:
    """A part of a digest: ``Trending`` or one topic, with its papers in order."""

    title: str
    papers: tuple[Paper, ...]
    topic: str | None = None  # the query, for a topic section (links to its search page)
    reasons: tuple[str, ...] = ()  # why each paper is there (personal sections), "" for none


@dataclass(frozen=True, slots=True)
class Digest:
    """What one subscriber gets for one period (``broadsheet.digest.compose``)."""

    subscription: Subscription
    period: DigestPeriod
    sections: tuple[DigestSection, ...]

    @property
    def papers(self) -> tuple[Paper, ...]:
        return tuple(p for s in self.sections for p in s.papers)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A row of the outbox: one rendered email, pending until an SMTP server accepts it. A message
    to an account (a password reset) has no subscription (``subscription_id`` None)."""

    id: int
    subscription_id: int | None
    email: str
    period: str
    status: str  # pending | sent | failed
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    message_id: str | None
    message: bytes
    created_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestRun:
    """What one ``Hub.send_digests`` did."""

    period: str
    queued: int = 0  # digests composed and stored in the outbox by this run
    empty: int = 0  # subscribers with nothing new to get
    already: int = 0  # subscribers whose digest for this period was already in the outbox
    sent: int = 0
    retry_later: int = 0  # temporary failures (kept pending, retried with backoff)
    failed: int = 0  # permanent failures (or too many attempts)
    pending: int = 0  # messages still in the outbox after this run (waiting for a retry)
    busy: bool = False  # another sender held the outbox: this run composed and sent nothing
    errors: tuple[str, ...] = ()
    previews: tuple[Digest, ...] = ()  # with dry_run: what would have been queued


# -- a member's own research feed ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Collection:
    """A named list of papers a member saved; ``papers`` is how many it holds."""

    id: int
    owner: str  # the member's name
    name: str
    slug: str  # the name in URLs: /u/OWNER/SLUG
    public: bool
    created_at: datetime
    papers: int = 0


@dataclass(frozen=True, slots=True)
class Interest:
    """Something a member follows (kind: author | category | search) or mutes (author | category |
    word): an author's name, a category or archive code, a query, or a word or phrase."""

    id: int
    kind: str
    value: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Signals:
    """What a member's recommendations learn from: papers they saved or upvoted (positives, with
    when), papers they dismissed (negatives), and what they follow."""

    positives: tuple[tuple[int, datetime], ...]  # (paper id, when saved or upvoted), newest first
    negatives: tuple[tuple[int, datetime], ...]
    follows: tuple[Interest, ...]


# -- recommendations ("For you") -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A paper recommended to a member, with why: the saved or upvoted papers it is closest to
    (``(arxiv_id, title)``), the follows it matches, and the words that weighed most."""

    paper: Paper
    score: float
    closest: tuple[tuple[str, str], ...] = ()
    follows: tuple[Interest, ...] = ()
    words: tuple[str, ...] = ()
    trending: bool = False  # chosen as trending (cold start), not by the member's model

    @property
    def reasons(self) -> tuple[str, ...]:
        """The explanation as short lines of text (for the CLI, feeds and digests)."""
        out = []
        if self.closest:
            out.append("close to " + "; ".join(f"{title} ({aid})" for aid, title in self.closest))
        out += [f"you follow {f.kind} {f.value}" for f in self.follows]
        if self.words:
            out.append("words: " + ", ".join(self.words))
        if self.trending:
            out.append("trending")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class RecommendationPage:
    """A member's "For you" for a window of days (``today``, ``week``, ``month`` up to ``last``)."""

    items: tuple[Recommendation, ...]
    window: str
    first: date
    last: date
    cold_start: bool  # nothing saved or upvoted yet: trending (in followed categories, if any)
    hidden_by_mutes: int  # candidates left out because they match a mute
    candidates: int  # papers new in the window that were ranked
    model: str  # the ranker that ordered the page
