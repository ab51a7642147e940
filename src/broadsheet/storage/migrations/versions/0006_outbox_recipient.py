"""outbox recipient: a message may go to an address without a subscription (password resets),
and ``period`` holds 64 characters (a confirmation's key outgrew 32 from subscription 10 on)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite rebuilds the table, and dropping the old one deletes (ON DELETE CASCADE, foreign keys
    # are on) which papers each digest carried: those rows are kept aside and put back.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE keep_digest_papers AS SELECT digest_id, paper_id FROM digest_papers")
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=320), nullable=True))
        batch_op.alter_column('subscription_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('period', existing_type=sa.String(length=32), type_=sa.String(length=64), existing_nullable=False)
    if sqlite:
        op.execute("INSERT OR IGNORE INTO digest_papers (digest_id, paper_id) SELECT digest_id, paper_id FROM keep_digest_papers")
        op.execute("DROP TABLE keep_digest_papers")


def downgrade() -> None:
    op.execute("DELETE FROM digests WHERE subscription_id IS NULL")
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.alter_column('period', existing_type=sa.String(length=64), type_=sa.String(length=32), existing_nullable=False)
        batch_op.alter_column('subscription_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('recipient')
