"""Settings: every field has a default and a help line.

Precedence: defaults < TOML file (``BROADSHEET_CONFIG`` or ``--config``) < ``BROADSHEET_*``
environment variables < explicit overrides (CLI flags). A secret may also be given as a file:
``BROADSHEET_SMTP_PASSWORD_FILE=/run/secrets/smtp``. Secrets (the ``secret=True`` settings and the
password of ``database_url``) are masked in ``repr`` and wherever they are shown (``shown_value``,
``mask_secrets``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from .exceptions import InvalidInputError

ENV_PREFIX = "BROADSHEET_"
MASK = "********"  # what a secret is shown as


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"help": help, "secret": secret}, repr=not secret)


def default_database_url() -> str:
    """A SQLite file in the user's data directory (created on first use)."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('broadsheet')) / 'broadsheet.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """Everything an operator can set. Field names are the TOML keys; env is BROADSHEET_<NAME>."""

    database_url: str = _setting(
        "", "SQLAlchemy URL of the database; empty means a SQLite file in the user's data directory."
    )
    base_url: str = _setting(
        "",
        "Public URL of the site (https://papers.example.org), for links in emails and other work outside a "
        "request; empty: pages and feeds link to the address each request came to, and emails cannot be sent.",
    )
    trusted_proxies: str = _setting(
        "127.0.0.1",
        "Addresses of reverse proxies (comma-separated; * for any) whose X-Forwarded-For and X-Forwarded-Proto "
        "headers `broadsheet serve` believes (the client address, https); empty: none.",
    )
    site_name: str = _setting("Broadsheet", "Name shown in page titles and emails.")
    ingest_batch_size: int = _setting(
        5000, "Papers written per transaction during ingest (larger is faster; other writers wait for a batch, about 2 s)."
    )
    ingest_max_document_mb: int = _setting(
        64, "Largest document (a JSON or XML file, an archive member) or JSON line `broadsheet ingest` reads, in MB; a larger one is reported and skipped."
    )
    page_size: int = _setting(50, "Papers per page on the feed pages (50: a whole day, as Hugging Face shows it; its busiest days list 50).")
    embedder: str = _setting(
        "minilm-int8",
        "Embedding model for semantic search: minilm-int8 (offline, shipped), "
        "sentence-transformers:NAME, or none (lexical only).",
    )
    lexical_index: str = _setting(
        "files",
        "Where lexical search ranks: files (a BM25 index kept as files in index_dir, memory-mapped and shared "
        "by every server process on the machine; built once, then kept up to date by whichever process holds "
        "its lock), memory (each server process builds its own BM25 index at start, about 30 s per 100k papers "
        "in the background), or database (FTS5's bm25() on SQLite, ts_rank over the weighted tsvector on "
        "PostgreSQL: nothing held per process). files and memory rank the same; until they hold every "
        "change, the database ranks.",
    )
    vector_index: str = _setting(
        "auto",
        "Where semantic search looks: files (an index kept in index_dir, memory-mapped and shared by "
        "every server process on the machine, followed from the database as vectors arrive), memory "
        "(each server process loads every vector: exact search, faiss IVF from 50k vectors), database "
        "(pgvector's HNSW index; PostgreSQL only), or auto (database on PostgreSQL, files on a SQLite "
        "file, memory on an in-memory SQLite).",
    )
    index_dir: str = _setting(
        "",
        "Folder of the search indexes kept as files (memory-mapped and shared by every server process on "
        "the machine); empty: DATABASE.index beside a SQLite database, else a folder per database in the "
        "user's cache directory.",
    )
    index_batch_size: int = _setting(
        256,
        "Papers embedded per transaction by `broadsheet index` (sorted by length within it); also the "
        "batch a worker claims when several share the work.",
    )
    index_lease_seconds: float = _setting(
        120.0,
        "How long a `broadsheet index` worker's claim on a batch lasts unless renewed (it renews a third of "
        "the way through); a killed worker's batch goes to another after this (at once on the same host).",
    )
    # -- live sources (`broadsheet sync ...`; docs/dev.md "Live sources") --
    contact_email: str = _setting(
        "", "Contact address sent in the User-Agent of every sync request (arXiv asks for one)."
    )
    arxiv_api_url: str = _setting("https://export.arxiv.org/api/query", "arXiv export API endpoint (`sync arxiv`, submissions).")
    arxiv_api_delay: float = _setting(3.0, "Seconds between two arXiv export API requests (arXiv's rule: at least 3).")
    arxiv_page_size: int = _setting(1000, "Results asked for per arXiv API request (the API serves at most 2,000).")
    arxiv_max_results: int = _setting(30000, "Results fetched per `sync arxiv` query at most (the API serves at most 30,000).")
    oai_url: str = _setting("https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint (`sync oai`).")
    oai_delay: float = _setting(3.0, "Seconds between two OAI-PMH requests.")
    hf_api_url: str = _setting(
        "https://huggingface.co/api/daily_papers", "Hugging Face daily papers API endpoint (`sync hf-daily`)."
    )
    hf_delay: float = _setting(1.0, "Seconds between two Hugging Face API requests.")
    hf_days: int = _setting(3, "Days `sync hf-daily` fetches when given no date: today and the days before (upvotes keep changing).")
    sync_retries: int = _setting(
        5, "Retries of one sync request after a connection reset, a timeout, a truncated body or a 5xx, before the sync stops and reports."
    )
    sync_timeout: float = _setting(60.0, "Seconds a sync request may take to connect or between two reads.")
    sync_max_wait: float = _setting(
        600.0, "Longest Retry-After (seconds) a sync honours; a server asking for longer stops the sync (re-run later)."
    )
    submit_fetch: bool = _setting(
        True, "Fetch a submitted paper that is not in the database from the arXiv API (`broadsheet serve`; off for servers without network)."
    )
    submit_fetch_timeout: float = _setting(
        4.0,
        "Seconds a web submission waits in all for arXiv when it fetches a paper that is not in the database "
        "(its turn after other arXiv requests included); no retries: past it the page asks to try again later.",
    )
    sync_embed: bool = _setting(True, "Embed the papers a sync added or changed right after it (else `broadsheet index` does).")
    background_embed: bool = _setting(
        True, "`serve` and `worker` embed papers that have no vector yet in a low-priority background thread (off: only `broadsheet index`)."
    )
    arxiv_enrich: bool = _setting(
        True,
        "After `sync hf-daily`, fetch arXiv metadata (categories, comments, DOI, journal reference, version) from the "
        "arXiv export API for the papers it brought without it (off: only `broadsheet enrich` does).",
    )
    ingest_enrich: bool = _setting(
        False,
        "Live fetching in `ingest`: after loading records without arXiv metadata (Hugging Face files), fetch it as "
        "`sync hf-daily` does. Off: `ingest` stays offline and says how many papers `broadsheet enrich` would complete.",
    )
    arxiv_enrich_batch: int = _setting(100, "Papers asked for per arXiv export API request when enriching (`id_list`; at most 2,000).")
    # -- what Broadsheet adds to papers (docs/dev.md "Thumbnails, keywords, summaries, stars, trends") --
    thumbnails: str = _setting(
        "auto",
        "Card pictures: local (each paper's first PDF page, fetched from arXiv and rendered here), source (the "
        "picture URL the source gave, hotlinked), off (a generated card), or auto (local when submit_fetch is on, "
        "else off). A paper without a picture always gets the generated card.",
    )
    arxiv_pdf_url: str = _setting("https://arxiv.org/pdf/", "Where thumbnails fetch a paper's PDF (the arXiv id is appended); paced like the arXiv API.")
    thumbnail_days: int = _setting(
        7, "`serve` and `worker` make thumbnails for the papers listed in this many last days (and submissions at once); `broadsheet thumbnails` does older ones."
    )
    extract_keywords: bool = _setting(
        True, "`serve` and `worker` extract keyphrases from embedded papers' titles and abstracts in the background (shown when the source gives none)."
    )
    summarizer_url: str = _setting(
        "", "OpenAI-compatible endpoint (https://host/v1) for one-line paper summaries made by the worker; empty: none."
    )
    summarizer_model: str = _setting("", "Model name sent to summarizer_url.")
    summarizer_key: str = _setting("", "API key for summarizer_url (or BROADSHEET_SUMMARIZER_KEY_FILE); empty: none sent.", secret=True)
    summarizer_timeout: float = _setting(60.0, "Seconds one summary request may take.")
    github_api_url: str = _setting("https://api.github.com", "GitHub REST API endpoint (`sync github`).")
    github_token: str = _setting(
        "", "GitHub token for `sync github` (or BROADSHEET_GITHUB_TOKEN_FILE): 5,000 requests an hour instead of 60; empty: none.", secret=True
    )
    github_delay: float = _setting(1.0, "Seconds between two GitHub API requests.")
    secret_key: str = _setting(
        "",
        "Key that signs the site's CSRF tokens; empty means a random key generated on first run "
        "into the data folder (file `secret_key`, mode 600). Set it (or BROADSHEET_SECRET_KEY_FILE) "
        "when several servers share a database.",
        secret=True,
    )
    session_days: int = _setting(30, "Days a login lasts (the session cookie and its database row).")
    password_reset_minutes: int = _setting(60, "Minutes a password reset link works (it works once; needs base_url and a mail server).")
    allow_signups: bool = _setting(True, "Whether anyone may create an account at /signup (else only `broadsheet user create`).")
    trending_days: int = _setting(7, "Days of listings the trending page ranks (ending at the last listed day).")
    trending_gravity: float = _setting(
        1.5, "How fast papers sink on trending: score = (upvotes + 1) / (hours since listed + 2)^gravity."
    )
    rate_signups: str = _setting("5/hour", "Sign-ups allowed per client address (N/second, N/minute, N/hour or N/day).")
    rate_votes: str = _setting("60/minute", "Votes (and vote withdrawals) allowed per user.")
    rate_comments: str = _setting("10/minute", "Comments allowed per user.")
    rate_submissions: str = _setting("20/hour", "Paper submissions allowed per user.")
    rate_library: str = _setting("120/minute", "Library changes allowed per user: saves, removals, collections made, renamed or deleted.")
    rate_imports: str = _setting("20/hour", "Library imports allowed per user (each may fetch papers from arXiv).")
    library_import_max_mb: int = _setting(5, "Largest library file (BibTeX, list of ids, JSON) an import from the web or the API accepts, in MB.")
    rate_logins: str = _setting("20/minute", "Log-in attempts allowed per client address.")
    login_failures_allowed: int = _setting(
        5, "Failed log-ins in a row for one account (from any address) before each further attempt must wait 2, 4, 8 … seconds."
    )
    login_delay_max_seconds: int = _setting(
        300, "Longest wait between log-in attempts for one account after failures (a success resets the wait)."
    )
    rate_api_anonymous: str = _setting(
        "500/5minutes",
        "Requests to the JSON API, feeds, markdown and BibTeX allowed per client address without an API token "
        "(as Hugging Face's 500 per 5 minutes); over it, 429 with Retry-After.",
    )
    rate_search_anonymous: str = _setting(
        "30/minute",
        "Searches (/search) allowed per client address for visitors who are not logged in; pages served "
        "from the page cache do not count. Over it, 429 with Retry-After.",
    )
    search_concurrency: int = _setting(
        0, "Searches (pages, API, feeds) that run at once (0: twice the CPU cores); others queue for search_queue_seconds."
    )
    search_queue_seconds: float = _setting(
        1.0, "Seconds a search waits for a free slot before the server answers 503 with Retry-After."
    )
    page_cache_seconds: float = _setting(
        10.0,
        "Seconds a page may be served whole from memory (0: never): one copy for visitors who are not logged in, "
        "one per member. Any write (a vote, a save, a comment, an ingest, by any process) shows at once: pages are keyed by the data version.",
    )

    # -- email digests (`broadsheet digest ...`, `broadsheet worker`; docs/dev.md "Digests") --
    smtp_host: str = _setting(
        "", "SMTP server that digests, confirmation and password-reset emails go through; empty: none (emails wait in the outbox)."
    )
    smtp_port: int = _setting(25, "SMTP server port (587 is usual with starttls, 465 with tls).")
    smtp_security: str = _setting("none", "SMTP connection security: none, starttls or tls.")
    smtp_user: str = _setting("", "SMTP user name; empty means no authentication.")
    smtp_password: str = _setting("", "SMTP password (or BROADSHEET_SMTP_PASSWORD_FILE).", secret=True)
    smtp_timeout: float = _setting(30.0, "Seconds an SMTP connection or reply may take.")
    mail_from: str = _setting(
        "", "From address of digests; empty means `<site_name> <broadsheet@HOST of base_url>`."
    )
    digest_trending_top: int = _setting(10, "Trending papers in a digest when a subscription does not say (0 to 50).")
    digest_topic_papers: int = _setting(10, "Papers per topic in a digest at most.")
    digest_topic_slack_days: int = _setting(
        2, "Days before a digest's period that a topic also looks at (arXiv papers arrive a day or two after their date); a paper is still never sent twice."
    )
    digest_confirm_days: int = _setting(7, "Days a subscription's confirmation link works.")
    digest_max_attempts: int = _setting(8, "Delivery attempts of one digest before it is marked failed (temporary SMTP failures only).")
    digest_retry_seconds: float = _setting(300.0, "Wait before the first retry of a temporarily failed digest; doubles with each attempt.")
    digest_lease_seconds: float = _setting(
        120.0, "How long a sender's claim on the outbox lasts without renewal; a sender that died releases it after this (at once on the same host)."
    )
    schedule: str = _setting(
        "digest-daily=07:00; digest-weekly=mon 07:30; sync-oai=01:30; sync-arxiv=02:00; sync-hf-daily=06:00",
        "What `broadsheet worker` runs and when (UTC): JOB=HH:MM daily, JOB=mon HH:MM weekly, or JOB=off; "
        "jobs: digest-daily, digest-weekly, sync-hf-daily, sync-oai, sync-arxiv.",
    )
    sync_oai_set: str = _setting(
        "", "OAI-PMH set the scheduled sync-oai job harvests (e.g. cs; * for all of arXiv: the first run takes many hours); empty: the job does nothing."
    )
    sync_arxiv_categories: str = _setting("", "Categories the scheduled sync-arxiv job asks for, comma-separated (e.g. cs.LG,cs.CL); empty: the job does nothing.")

    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()

    def data_dir(self) -> Path:
        """The folder for files the site makes itself (the generated secret key): the SQLite
        database's folder, else the user's data directory."""
        url = self.resolved_database_url()
        if url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:"):
            return Path(url.removeprefix("sqlite:///")).expanduser().parent
        from platformdirs import user_data_dir

        return Path(user_data_dir("broadsheet"))

    def resolved_index_dir(self) -> Path:
        """Where the search indexes' files live (the ``index_dir`` setting, or its default)."""
        if self.index_dir:
            return Path(self.index_dir).expanduser()
        url = self.resolved_database_url()
        if url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:"):
            db = Path(url.removeprefix("sqlite:///")).expanduser()
            return db.with_name(db.name + ".index")
        import hashlib

        from platformdirs import user_cache_dir

        return Path(user_cache_dir("broadsheet")) / ("index-" + hashlib.sha256(url.encode()).hexdigest()[:16])

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, typ: Any, raw: Any) -> Any:
    typ = typ if isinstance(typ, type) else {"int": int, "str": str, "bool": bool, "float": float}[typ]
    if isinstance(raw, typ):
        return raw
    if typ is float and isinstance(raw, int) and not isinstance(raw, bool):  # TOML `delay = 3`
        return float(raw)
    if not isinstance(raw, str):
        raise InvalidInputError(f"setting {name}: expected {typ.__name__}, got {raw!r}")
    try:
        if typ is bool:
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        return typ(raw)
    except ValueError:
        raise InvalidInputError(f"setting {name}: {raw!r} is not a valid {typ.__name__}") from None


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, a TOML file, the environment and overrides (in that order)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    known = {f.name: f for f in fields(Settings)}

    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise InvalidInputError(f"cannot read config file {path}: {e}") from None
        for key, raw in data.items():
            if key not in known:
                raise InvalidInputError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, known[key].type, raw)

    for name, f in known.items():
        env_name = ENV_PREFIX + name.upper()
        if env_name in env:
            values[name] = _coerce(name, f.type, env[env_name])
        elif env_name + "_FILE" in env:
            try:
                text = Path(env[env_name + "_FILE"]).read_text(encoding="utf-8").strip()
            except OSError as e:
                raise InvalidInputError(f"{env_name}_FILE: {e}") from None
            values[name] = _coerce(name, f.type, text)

    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def describe_settings() -> list[tuple[str, str, Any, str]]:
    """(name, environment variable, default, help) for every setting: for docs and `broadsheet config`."""
    return [
        (f.name, ENV_PREFIX + f.name.upper(), f.default, f.metadata["help"]) for f in fields(Settings)
    ]


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password if "://" in url else None
    except ValueError:
        return None


def shown_value(settings: Settings, name: str) -> Any:
    """A setting's value as it may be shown (CLI, logs, pages): a secret set to something is
    ``MASK``, and so is the password inside ``database_url``."""
    value = getattr(settings, name)
    meta = Settings.__dataclass_fields__[name].metadata
    if meta.get("secret") and value:
        return MASK
    if isinstance(value, str) and (password := _url_password(value)):
        return value.replace(f":{password}@", f":{MASK}@", 1)
    return value


def secret_values(settings: Settings) -> tuple[str, ...]:
    """The secrets in force (non-empty secret settings, the database password), longest first:
    what ``mask_secrets`` hides."""
    found: set[str] = set()
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.metadata.get("secret") and isinstance(value, str) and value:
            found.add(value)
        if isinstance(value, str) and (password := _url_password(value)):
            found.update({password, unquote(password)})
    return tuple(sorted((s for s in found if len(s) >= 3), key=len, reverse=True))


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``MASK``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text
