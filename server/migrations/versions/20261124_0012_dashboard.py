"""The dashboard: sign-in lockout on users, and managers' reviews of a check's evidence

Revision ID: f8b9c0d1e2a3
Revises: e7a8b9c0d1f2
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f8b9c0d1e2a3'
down_revision = 'e7a8b9c0d1f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))

    op.create_table('check_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Uuid(), nullable=False),
    sa.Column('verdict', sa.Enum('reviewed', 'questionable', name='reviewverdict', native_enum=False, length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_check_reviews_check_id_checks')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_check_reviews_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_check_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_reviews'))
    )
    with op.batch_alter_table('check_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_check_reviews_check_at', ['check_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_reviews_enterprise_id'), ['enterprise_id'], unique=False)


def downgrade():
    with op.batch_alter_table('check_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_reviews_enterprise_id'))
        batch_op.drop_index('ix_check_reviews_check_at')
    op.drop_table('check_reviews')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_sign_ins')
