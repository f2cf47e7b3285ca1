"""Insert sentinels on alerts and hazards: many rows in one INSERT … RETURNING, in order

SQLite cannot promise the order of the ids a multi-row ``INSERT … RETURNING`` gives back, so
SQLAlchemy inserted alerts and hazard drafts one statement per row to pair each id with its row.
A sentinel column (filled by SQLAlchemy with the row's position in the batch, returned with the
id) lets it send one statement and still pair them. PostgreSQL does not need it; it does no harm.

Revision ID: d6f7a8b9c0e1
Revises: c5e6f7a8b9d0
Create Date: 2026-11-24 00:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd6f7a8b9c0e1'
down_revision = 'c5e6f7a8b9d0'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('alerts', 'hazards'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('insert_sentinel', sa.Integer(), nullable=True))


def downgrade():
    for table in ('hazards', 'alerts'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('insert_sentinel')
