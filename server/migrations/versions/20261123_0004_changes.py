"""Change log for sync pull: a per-enterprise counter and the changes it numbers

Revision ID: d9a3b5c72e64
Revises: c2e8f4a61b53
Create Date: 2026-11-23 21:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd9a3b5c72e64'
down_revision = 'c2e8f4a61b53'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('change_counters',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('horizon', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_change_counters_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_change_counters'))
    )
    op.create_table('changes',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_changes_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('enterprise_id', 'seq', name=op.f('pk_changes'))
    )
    # Every existing enterprise gets its counter now, so that two first writers never race to
    # create it. Entities that exist already have no change rows: devices start with a snapshot.
    op.execute("INSERT INTO change_counters (enterprise_id, value, horizon) SELECT id, 0, 0 FROM enterprises")


def downgrade():
    op.drop_table('changes')
    op.drop_table('change_counters')
