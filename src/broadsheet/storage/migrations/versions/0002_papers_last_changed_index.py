"""index papers.last_changed (the in-memory lexical index asks what changed since it last looked)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_last_changed", "papers", ["last_changed"])


def downgrade() -> None:
    op.drop_index("ix_papers_last_changed", table_name="papers")
