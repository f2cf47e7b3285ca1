"""Follow-up of failed checks: a check's failed items raise their alert and drafts just after it is stored

Revision ID: b0d1e2f3a4c5
Revises: a9c0d1e2f3b4
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b0d1e2f3a4c5'
down_revision = 'a9c0d1e2f3b4'
branch_labels = None
depends_on = None


def upgrade():
    # Checks stored before this revision had their failed items followed up in the same
    # transaction, so none is pending: the column starts false everywhere.
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_checks_follow_up', ['received_at'], unique=False,
                              sqlite_where=sa.text('follow_up'), postgresql_where=sa.text('follow_up'))


def downgrade():
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_index('ix_checks_follow_up', sqlite_where=sa.text('follow_up'), postgresql_where=sa.text('follow_up'))
        batch_op.drop_column('follow_up')
