"""arXiv OAI-PMH harvesting (``ListRecords``), resumable across runs.

After each page is stored, the page's resumption token is saved under the harvest's key (its
endpoint, format, set and dates) in ``sync_state``; a run with the same arguments starts from the
saved token, so a killed harvest goes on from the page after the last one it stored. A page that
was stored but whose token was not yet saved is fetched again on resume and finds its papers
unchanged: no duplicates, no gaps.

Tokens expire (arXiv's live for hours): a ``badResumptionToken`` answer restarts the harvest from
its first page once, which is safe for the same reason. When a harvest ends, the first page's
``responseDate`` is kept as the next run's default ``from``: a daily run fetches only what changed.

Why not ``sickle``: it parses pages with lxml's ``recover=True``, so a page cut short in transit
reads as a shorter page without a resumption token, and the harvest ends early, silently (page00
cut in half gives 506 records and no token). Its client is ``requests`` without retries of resets,
and its state lives in the iterator. The loop here is short; docs/dev.md has the longer note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import httpx
from lxml import etree

from ..exceptions import InvalidInputError, OaiPmhError, SourceError
from ..sources._common import XML_PARSER
from ..sources.oai_pmh import SOURCE, parse_oai_pmh, resumption_token
from ..types import SourceItem, SyncReport
from ._run import OnProgress, PageSink, StateStore, Tally
from .http import HttpEdge

FORMATS = ("arXiv", "oai_dc")
MAX_RESTARTS = 1  # after an expired token; a second one in the same run is reported


@dataclass(frozen=True, slots=True)
class Harvest:
    """What to harvest: ``ListRecords`` arguments."""

    base_url: str
    metadata_prefix: str = "arXiv"
    set_spec: str | None = None
    from_: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.metadata_prefix not in FORMATS:
            raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, not {self.metadata_prefix!r}")
        if self.from_ and self.until and self.until < self.from_:
            raise InvalidInputError(f"--until {self.until} is before --from {self.from_}")

    @property
    def key(self) -> str:
        """Where this harvest keeps its place in ``sync_state``."""
        return "oai:" + "|".join(
            (self.base_url, self.metadata_prefix, self.set_spec or "", _day(self.from_), _day(self.until))
        )

    @property
    def done_key(self) -> str:
        """Where the last finished harvest of this endpoint, format and set is recorded."""
        return "oai-done:" + "|".join((self.base_url, self.metadata_prefix, self.set_spec or ""))

    def first_params(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.metadata_prefix}
        if self.set_spec:
            params["set"] = self.set_spec
        if self.from_:
            params["from"] = self.from_.isoformat()
        if self.until:
            params["until"] = self.until.isoformat()
        return params


def _day(d: date | None) -> str:
    return d.isoformat() if d else ""


@dataclass(frozen=True, slots=True)
class OaiPage:
    items: tuple[SourceItem, ...]
    token: str | None
    size: int | None  # completeListSize
    response_date: str | None


def read_page(body: bytes, name: str) -> OaiPage:
    """A whole page parsed; raises SourceError (OaiPmhError for a protocol error) before anything
    is stored when it cannot be read."""
    items = tuple(parse_oai_pmh(body, name))
    token, size, _cursor = resumption_token(body)
    root = etree.fromstring(body, XML_PARSER)
    response_date = root.findtext("{http://www.openarchives.org/OAI/2.0/}responseDate")
    return OaiPage(items, token, size, (response_date or "").strip() or None)


def next_step(token: str | None, previous: str | None) -> str:
    """After a page: ``"next"`` (ask for ``token``), ``"done"`` (no token, or an empty one: the
    list is complete), or ``"stuck"`` (the server handed back the token it was just given: asking
    again would loop)."""
    if not token:
        return "done"
    if token == previous:
        return "stuck"
    return "next"


def default_from(done: dict | None) -> date | None:
    """The ``from`` a harvest given none starts at: the day the last finished one began."""
    if not done or not done.get("response_date"):
        return None
    try:
        return date.fromisoformat(done["response_date"][:10])
    except ValueError:
        return None


def harvest(
    edge: HttpEdge, job: Harvest, state: StateStore, store: PageSink, on_progress: OnProgress = None
) -> SyncReport:
    """Harvest ``job`` from where its saved state says, page by page, saving the place as it goes."""
    tally = Tally(SOURCE, edge, on_progress)
    saved = state.get(job.key) or {}
    token: str | None = saved.get("token")
    resumed_from = token
    first_date: str | None = saved.get("response_date")
    if saved.get("size"):
        tally.expected = saved["size"]
    problems: list[str] = []
    restarts = 0
    complete = False
    while True:
        params = {"verb": "ListRecords", "resumptionToken": token} if token else job.first_params()
        name = f"{job.base_url}?{httpx.QueryParams(params)}"
        try:
            page = edge.get(job.base_url, params, lambda body, name=name: read_page(body, name))
        except OaiPmhError as exc:
            if exc.code == "badResumptionToken" and token and restarts < MAX_RESTARTS:
                restarts += 1
                edge.retried.append(f"{name}: {exc}; restarting the harvest from its first page")
                state.delete(job.key)
                token, first_date = None, None
                continue
            problems.append(str(exc))
            break
        except SourceError as exc:
            problems.append(str(exc))
            break
        first_date = first_date or page.response_date
        tally.expected = page.size or tally.expected
        tally.store(store, page.items)
        step = next_step(page.token, token)
        if step == "done":
            state.delete(job.key)
            state.put(job.done_key, {"response_date": first_date, "from": _day(job.from_), "until": _day(job.until)})
            complete = True
            break
        if step == "stuck":
            problems.append(f"{name}: the server answered with resumption token {page.token!r} again; stopped")
            break
        token = page.token
        state.put(job.key, {"token": token, "size": tally.expected, "response_date": first_date})
    return tally.report(complete=complete, problems=problems, resumed_from=resumed_from)
