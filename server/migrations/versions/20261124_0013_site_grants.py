"""Site grants: a supervisor may be granted whole sites beyond the posts they supervise

Revision ID: a9c0d1e2f3b4
Revises: f8b9c0d1e2a3
Create Date: 2026-11-24 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9c0d1e2f3b4'
down_revision = 'f8b9c0d1e2a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_grants',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_site_grants_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_site_grants_granted_by_id_users')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_grants_site_id_sites')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_site_grants_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_site_grants'))
    )
    with op.batch_alter_table('site_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_grants_enterprise_id'), ['enterprise_id'], unique=False)


def downgrade():
    with op.batch_alter_table('site_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_grants_enterprise_id'))
    op.drop_table('site_grants')
