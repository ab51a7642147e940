"""thumbnails, paper_extracts (extracted keywords, generated summaries), github_repos (stars),
an index on papers.hidden (trend charts leave hidden papers out)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _paper_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f(f"fk_{table}_paper_id_papers"), ondelete="CASCADE")


def upgrade() -> None:
    op.create_index(op.f("ix_papers_hidden"), "papers", ["hidden"], unique=False)
    op.create_table(
        "thumbnails",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=True),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        _paper_fk("thumbnails"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_thumbnails")),
    )
    op.create_table(
        "paper_extracts",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=True),
        sa.Column("keywords_hash", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("summary_model", sa.String(length=128), nullable=True),
        sa.Column("summary_hash", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _paper_fk("paper_extracts"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_extracts")),
    )
    op.create_table(
        "github_repos",
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("repo", name=op.f("pk_github_repos")),
    )


def downgrade() -> None:
    op.drop_table("github_repos")
    op.drop_table("paper_extracts")
    op.drop_table("thumbnails")
    op.drop_index(op.f("ix_papers_hidden"), table_name="papers")
