"""embed_batches and embed_workers: the embedding backfill's work queue, claimed batch by batch
by any number of `broadsheet index` processes on one database, and what each of them wrote

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embed_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("papers", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("written", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embed_batches")),
    )
    op.create_index("ix_embed_batches_model_done", "embed_batches", ["model", "done_at"], unique=False)
    op.create_table(
        "embed_workers",
        sa.Column("worker", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("written", sa.Integer(), server_default="0", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_embed_workers")),
    )


def downgrade() -> None:
    op.drop_table("embed_workers")
    op.drop_index("ix_embed_batches_model_done", table_name="embed_batches")
    op.drop_table("embed_batches")
