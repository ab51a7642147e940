"""The database schema as SQLAlchemy Core tables: what the storage code reads and writes.

Migrations (``migrations/versions``) create these tables; a test checks that the migrated
database matches this module, so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A paper, keyed by its arXiv id without version (or a local id, see broadsheet.ids).
papers = Table(
    "papers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("arxiv_id", String(64), nullable=False, unique=True),
    Column("version", Integer),  # latest version seen
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("primary_category", String(32)),
    Column("published", Date),
    Column("updated", Date),
    Column("doi", Text),
    Column("journal_ref", Text),
    Column("comments", Text),
    Column("github_repo", Text),
    Column("project_page", Text),
    Column("external_upvotes", Integer, nullable=False, server_default="0"),
    Column("hidden", Boolean, nullable=False, server_default="0"),
    # Provenance: which source last changed this paper, and where exactly.
    Column("source", String(32), nullable=False),
    Column("source_ref", Text, nullable=False),
    # Hash of the searchable text (title, abstract, authors): embeddings made from other text are stale.
    Column("content_hash", String(32), nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_changed", DateTime, nullable=False),
    # When the arXiv export API was last asked for this paper's metadata because it had none (a
    # Hugging Face record: no categories); NULL: never. A paper arXiv does not know is not asked again.
    Column("arxiv_checked", DateTime),
    # What Hugging Face shows beside the text (migration 0009): its picture's address, its model's
    # summary and keywords (a JSON list), the repository's stars, and the organization (its name:
    # the key of `organizations`, no foreign key so a paper can name one before it is stored).
    Column("thumbnail_url", Text),
    Column("ai_summary", Text),
    Column("ai_keywords", Text),
    Column("github_stars", Integer),
    Column("organization", String(128)),
    Index("ix_papers_published", "published"),
    Index("ix_papers_organization", "organization"),  # /organizations/{name} and org: filters
    Index("ix_papers_last_changed", "last_changed"),  # what changed since: search's in-memory index
    Index("ix_papers_hidden", "hidden"),  # the few hidden papers, which trend charts leave out (0010)
)

# Authors in order; name_key is the casefolded, accent-free name for /authors/{name}.
paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Index("ix_paper_authors_name_key", "name_key"),
)

# Categories in order; position 0 is the primary category when the source says which it is.
paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("category", String(32), nullable=False),
    Index("ix_paper_categories_category", "category", "paper_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("email", String(320), unique=True),
    Column("password_hash", Text),
    Column("api_token_hash", String(128), unique=True),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("created_at", DateTime, nullable=False),
)

# A login: the cookie carries a random token, the database only its SHA-256 (migration 0003).
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
)

# A paper on the daily feed of a date. Submitted by a local user, or by an external one (HF).
listings = Table(
    "listings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("listed_on", Date, nullable=False),
    Column("submitted_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("submitter_name", String(128)),
    # The external submitter's display name and avatar address, and whether an author takes part
    # (Hugging Face's isAuthorParticipating; NULL: the source does not say). Migration 0009.
    Column("submitter_fullname", String(256)),
    Column("submitter_avatar", Text),
    Column("author_participating", Boolean),
    Column("source", String(32), nullable=False),
    Column("source_ref", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("paper_id", "listed_on", name="uq_listings_paper_day"),
    Index("ix_listings_listed_on", "listed_on"),
)

# An organization papers are attributed to (Hugging Face's `organization`), by its handle `name`;
# `name_key` (casefolded) is what /organizations/{name} and org: look up. Migration 0009.
organizations = Table(
    "organizations",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("name_key", String(128), nullable=False),
    Column("fullname", Text),
    Column("avatar_url", Text),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_organizations_name_key", "name_key"),
)

votes = Table(
    "votes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_votes_paper_id", "paper_id"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="CASCADE")),
    Column("body", Text, nullable=False),
    Column("hidden", Boolean, nullable=False, server_default="0"),
    Column("created_at", DateTime, nullable=False),
    Index("ix_comments_paper_id", "paper_id"),
)

# An email subscription: how often, and what (trending top N and/or topics).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("frequency", String(16), nullable=False),  # daily | weekly
    Column("trending_top", Integer, nullable=False, server_default="0"),  # 0: no trending section
    Column("topics", Text, nullable=False, server_default="[]"),  # JSON list of saved queries
    Column("confirmed_at", DateTime),  # double opt-in: nothing is sent before this is set
    Column("created_at", DateTime, nullable=False),
    # A member's personal sections (0008): their top N "For you" papers, and alerts for what they follow.
    Column("for_you_top", Integer, nullable=False, server_default="0"),
    Column("follow_alerts", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("email", "frequency", name="uq_subscriptions_email_frequency"),
)

# -- a member's own research feed (0008) ------------------------------------------------------

# A named list of papers a member saved ("Saved" is made on the first save); private unless public.
collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("slug", String(100), nullable=False),  # the name in URLs: /u/NAME/SLUG
    Column("is_public", Boolean, nullable=False, server_default="0"),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "slug", name="uq_collections_user_slug"),
)

collection_papers = Table(
    "collection_papers",
    metadata,
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", DateTime, nullable=False),
    Index("ix_collection_papers_paper_id", "paper_id"),
)

# What a member follows (kind: author | category | search) or mutes (author | category | word);
# ``value`` is an author's name, a category or archive code, a query, or a word or phrase.
follows = Table(
    "follows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(500), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "kind", "value", name="uq_follows_user_kind_value"),
)

mutes = Table(
    "mutes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(500), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "kind", "value", name="uq_mutes_user_kind_value"),
)

# "Not interested": a negative example for the member's model, and hidden from their For you.
dismissals = Table(
    "dismissals",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)

# The secret in a member's private feed URLs (only its SHA-256 is kept); a new one revokes the old.
feed_tokens = Table(
    "feed_tokens",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

# The outbox of email: one row per subscription and period (a digest, a confirmation), sent exactly
# once; a message to an account (a password reset) has no subscription but a recipient (0006).
digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription_id", Integer, ForeignKey("subscriptions.id", ondelete="CASCADE")),
    Column("recipient", String(320)),  # the address when there is no subscription
    Column("period", String(64), nullable=False),  # e.g. "daily:2026-11-28", "weekly:2026-W48", "confirm:12:..."
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime),
    Column("last_error", Text),
    Column("message_id", String(255)),
    Column("message", LargeBinary),  # the rendered RFC 5322 message, so a retry sends the same bytes
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    UniqueConstraint("subscription_id", "period", name="uq_digests_subscription_period"),
    Index("ix_digests_status", "status"),
)

# Which papers each digest carried: a paper is never sent twice to one subscription.
digest_papers = Table(
    "digest_papers",
    metadata,
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
)

# A lease and a schedule record per job (migration 0004). A row's holder may act (send the digest
# outbox, run a scheduled job) until lease_until; `last_slot` is the scheduled time a job last ran
# for, so two workers never run one slot twice. See storage/digests.py `acquire_lease`.
jobs = Table(
    "jobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(255)),
    Column("lease_until", DateTime),
    Column("last_slot", String(32)),
    Column("last_started_at", DateTime),
    Column("last_finished_at", DateTime),
    Column("last_error", Text),
)

# One vector per paper and model, computed from the text whose hash it records. A rewritten vector
# gets a new id, so a server's in-memory index loads only rows with an id above the last it saw.
embeddings = Table(
    "embeddings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(128), nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    UniqueConstraint("paper_id", "model", name="uq_embeddings_paper_model"),
    Index("ix_embeddings_model_id", "model", "id"),
)

# The embedding backfill's work queue (migration 0011; docs/dev.md "Embedding across processes
# and machines"). A batch is a range of paper ids that needed a vector of `model` (a model's name,
# or its passages' key) when the plan was made; a worker claims one until `expires_at` (renewed
# while it works), and marks it done in the transaction that writes its last vectors.
embed_batches = Table(
    "embed_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model", String(128), nullable=False),
    Column("first_id", Integer, nullable=False),
    Column("last_id", Integer, nullable=False),
    Column("papers", Integer, nullable=False),  # papers that needed a vector when planned
    Column("worker", String(255)),
    Column("claimed_at", DateTime),
    Column("expires_at", DateTime),
    Column("done_at", DateTime),
    Column("written", Integer, nullable=False, server_default="0"),  # vectors its worker wrote
    Index("ix_embed_batches_model_done", "model", "done_at"),
)

# Each `broadsheet index` (and background embedding pass) that took part in a backfill: how many
# vectors it wrote and when it was last seen, for `broadsheet index --status` (rates, ETA).
embed_workers = Table(
    "embed_workers",
    metadata,
    Column("worker", String(255), primary_key=True),
    Column("model", String(128), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("written", Integer, nullable=False, server_default="0"),
    Column("state", String(16), nullable=False),  # working, waiting, finished, failed
)

# Where a resumable job (an OAI-PMH harvest, a sync) stopped: a JSON blob per key.
sync_state = Table(
    "sync_state",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# A paper's thumbnail (migration 0010): its first PDF page, or why there is none ("missing": no
# PDF to be had, "broken": a PDF that does not render). On PostgreSQL the picture is in `image`, so
# every app server sees it; on SQLite it is a file in the data folder and `image` is NULL.
thumbnails = Table(
    "thumbnails",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), nullable=False),  # ok | missing | broken
    Column("media_type", String(32)),
    Column("image", LargeBinary),
    Column("detail", Text),  # what went wrong, for `broadsheet thumbnails`
    Column("made_at", DateTime, nullable=False),
)

# What Broadsheet worked out about a paper itself (migration 0010): keyphrases extracted from the
# title and abstract, and a one-line summary from the configured model. Each records the hash of
# the text it was made from (papers.content_hash), so a changed abstract gets new ones.
paper_extracts = Table(
    "paper_extracts",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("keywords", Text),  # JSON list, best first
    Column("keywords_hash", String(32)),
    Column("summary", Text),
    Column("summary_model", String(128)),
    Column("summary_hash", String(32)),
    Column("updated_at", DateTime, nullable=False),
)

# GitHub repositories named by papers (migration 0010), with their stars as GitHub's API last said
# (`broadsheet sync github`). Keyed by the folded "owner/name": papers sharing a repository share one request.
github_repos = Table(
    "github_repos",
    metadata,
    Column("repo", String(255), primary_key=True),
    Column("stars", Integer),
    Column("status", String(16), nullable=False),  # ok | missing (404, gone)
    Column("checked_at", DateTime, nullable=False),
)

# Full-text index (SQLite FTS5) over normalised title, abstract and authors, rowid = papers.id.
# It is a virtual table, created by the migrations with raw SQL, and not part of `metadata`.
FTS_TABLE = "papers_fts"
