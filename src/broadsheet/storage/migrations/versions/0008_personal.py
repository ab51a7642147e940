"""a member's own research feed: collections of saved papers, follows, mutes, dismissals, private
feed tokens, and the personal sections of a subscription (For you, follow alerts)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _interests(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=f"fk_{name}_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint("user_id", "kind", "value", name=f"uq_{name}_user_kind_value"),
    )


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("is_public", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_collections_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
        sa.UniqueConstraint("user_id", "slug", name="uq_collections_user_slug"),
    )
    op.create_table(
        "collection_papers",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name="fk_collection_papers_collection_id_collections", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name="fk_collection_papers_paper_id_papers", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("collection_id", "paper_id", name="pk_collection_papers"),
    )
    op.create_index("ix_collection_papers_paper_id", "collection_papers", ["paper_id"])
    _interests("follows")
    _interests("mutes")
    op.create_table(
        "dismissals",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_dismissals_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name="fk_dismissals_paper_id_papers", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "paper_id", name="pk_dismissals"),
    )
    op.create_table(
        "feed_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_feed_tokens_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_feed_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_feed_tokens_token_hash"),
    )
    # Plain ADD COLUMN (no table rebuild on SQLite: a rebuild would cascade-delete the outbox rows).
    op.add_column("subscriptions", sa.Column("for_you_top", sa.Integer(), server_default="0", nullable=False))
    op.add_column("subscriptions", sa.Column("follow_alerts", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("follow_alerts")
        batch.drop_column("for_you_top")
    for name in ("feed_tokens", "dismissals", "mutes", "follows", "collection_papers", "collections"):
        op.drop_table(name)
