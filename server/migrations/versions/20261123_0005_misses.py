"""Missed checks: the sweep's records and watermark, and pauses for stoppages

Revision ID: e1a2b3c4d5f6
Revises: d9a3b5c72e64
Create Date: 2026-11-23 22:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1a2b3c4d5f6'
down_revision = 'd9a3b5c72e64'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('missed_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Enum('shift', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', name='frequency', native_enum=False, length=16), nullable=False),
    sa.Column('period_key', sa.String(length=32), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('missed', 'done_late', name='missstatus', native_enum=False, length=16), nullable=False),
    sa.Column('late_check_id', sa.Uuid(), nullable=True),
    sa.Column('late_performed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_missed_checks_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['late_check_id'], ['checks.id'], name=op.f('fk_missed_checks_late_check_id_checks')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_missed_checks_post_id_posts')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_missed_checks_schedule_id_schedules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_checks')),
    sa.UniqueConstraint('schedule_id', 'period_key', name=op.f('uq_missed_checks_schedule_id_period_key'))
    )
    with op.batch_alter_table('missed_checks', schema=None) as batch_op:
        batch_op.create_index('ix_missed_checks_enterprise_status_closed', ['enterprise_id', 'status', 'closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_missed_checks_post_id'), ['post_id'], unique=False)

    op.create_table('pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(post_id IS NULL) <> (schedule_id IS NULL)', name=op.f('ck_pauses_one_target')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at >= starts_at', name=op.f('ck_pauses_ends_not_before_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_pauses_created_by_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_pauses_ended_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_pauses_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_pauses_post_id_posts')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_pauses_schedule_id_schedules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pauses'))
    )
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pauses_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pauses_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pauses_schedule_id'), ['schedule_id'], unique=False)

    op.create_table('sweep_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('watermark', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sweep_state'))
    )


def downgrade():
    op.drop_table('sweep_state')
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pauses_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_pauses_post_id'))
        batch_op.drop_index(batch_op.f('ix_pauses_enterprise_id'))
    op.drop_table('pauses')
    with op.batch_alter_table('missed_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missed_checks_post_id'))
        batch_op.drop_index('ix_missed_checks_enterprise_status_closed')
    op.drop_table('missed_checks')
