"""What Hugging Face shows beside the text: thumbnail, AI summary and keywords, GitHub stars,
organization (papers, organizations); the submitter's display name and avatar and whether an
author takes part (listings)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_PAPER_COLUMNS = (
    ("thumbnail_url", sa.Text()),
    ("ai_summary", sa.Text()),
    ("ai_keywords", sa.Text()),
    ("github_stars", sa.Integer()),
    ("organization", sa.String(length=128)),
)
_LISTING_COLUMNS = (
    ("submitter_fullname", sa.String(length=256)),
    ("submitter_avatar", sa.Text()),
    ("author_participating", sa.Boolean()),
)


def upgrade() -> None:
    for name, type_ in _PAPER_COLUMNS:
        op.add_column("papers", sa.Column(name, type_, nullable=True))
    op.create_index("ix_papers_organization", "papers", ["organization"])
    for name, type_ in _LISTING_COLUMNS:
        op.add_column("listings", sa.Column(name, type_, nullable=True))
    op.create_table(
        "organizations",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_key", sa.String(length=128), nullable=False),
        sa.Column("fullname", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_organizations"),
    )
    op.create_index("ix_organizations_name_key", "organizations", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_organizations_name_key", table_name="organizations")
    op.drop_table("organizations")
    with op.batch_alter_table("listings") as batch:
        for name, _ in reversed(_LISTING_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_papers_organization", table_name="papers")
    with op.batch_alter_table("papers") as batch:
        for name, _ in reversed(_PAPER_COLUMNS):
            batch.drop_column(name)
