"""papers.arxiv_checked: when the arXiv export API was asked for a paper's metadata (enrichment)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("arxiv_checked", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("arxiv_checked")
