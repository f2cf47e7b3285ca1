"""Hazards: the closed loop (隐患闭环) — hazards, their append-only history, numbering

Revision ID: c5e6f7a8b9d0
Revises: b4d5e6f7a8c9
Create Date: 2026-11-23 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e6f7a8b9d0'
down_revision = 'b4d5e6f7a8c9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hazards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('reported', 'confirmed', 'rejected', 'assigned', 'rectified', 'closed', name='hazardstatus', native_enum=False, length=32), nullable=False),
    sa.Column('source', sa.Enum('daily', 'comprehensive', 'specialized', 'seasonal', 'holiday', 'accident_analogy', 'resumption', 'external_expert', 'control_measure', 'report', 'other', name='hazardsource', native_enum=False, length=32), nullable=False),
    sa.Column('type', sa.Enum('safety', 'process', 'electrical', 'instrument', 'fire', 'equipment', 'other', name='hazardtype', native_enum=False, length=32), nullable=False),
    sa.Column('grade', sa.Enum('general', 'major', name='hazardgrade', native_enum=False, length=32), nullable=True),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('found_by_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('check_id', sa.Uuid(), nullable=True),
    sa.Column('check_item_id', sa.String(length=64), nullable=True),
    sa.Column('photos_before', sa.JSON(), nullable=False),
    sa.Column('photos_after', sa.JSON(), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('funds', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('emergency_measures', sa.Text(), nullable=False),
    sa.Column('responsible_department', sa.String(length=200), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mode', sa.Enum('on_the_spot', 'by_deadline', name='rectifymode', native_enum=False, length=32), nullable=True),
    sa.Column('rectified_by_id', sa.Integer(), nullable=True),
    sa.Column('rectification_note', sa.Text(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cost', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('verifier_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verification_passed', sa.Boolean(), nullable=True),
    sa.Column('verification_note', sa.Text(), nullable=False),
    sa.Column('overdue_alert_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_hazards_check_id_checks')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_hazards_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['found_by_id'], ['users.id'], name=op.f('fk_hazards_found_by_id_users')),
    sa.ForeignKeyConstraint(['overdue_alert_id'], ['alerts.id'], name=op.f('fk_hazards_overdue_alert_id_alerts')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_hazards_post_id_posts')),
    sa.ForeignKeyConstraint(['rectified_by_id'], ['users.id'], name=op.f('fk_hazards_rectified_by_id_users')),
    sa.ForeignKeyConstraint(['responsible_id'], ['users.id'], name=op.f('fk_hazards_responsible_id_users')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_hazards_site_id_sites')),
    sa.ForeignKeyConstraint(['verifier_id'], ['users.id'], name=op.f('fk_hazards_verifier_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazards')),
    sa.UniqueConstraint('check_id', 'check_item_id', name=op.f('uq_hazards_check_id_check_item_id')),
    sa.UniqueConstraint('client_id', name=op.f('uq_hazards_client_id')),
    sa.UniqueConstraint('enterprise_id', 'number', name=op.f('uq_hazards_enterprise_id_number'))
    )
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.create_index('ix_hazards_enterprise_status_found', ['enterprise_id', 'status', 'found_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazards_post_id'), ['post_id'], unique=False)
        batch_op.create_index('ix_hazards_status_deadline', ['status', 'deadline'], unique=False)

    op.create_table('hazard_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_hazard_events_actor_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_hazard_events_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id'], name=op.f('fk_hazard_events_hazard_id_hazards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_events'))
    )
    with op.batch_alter_table('hazard_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_events_hazard_id'), ['hazard_id'], unique=False)

    op.create_table('hazard_counters',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_hazard_counters_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('enterprise_id', 'year', name=op.f('pk_hazard_counters'))
    )


def downgrade():
    op.drop_table('hazard_counters')
    with op.batch_alter_table('hazard_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hazard_events_hazard_id'))

    op.drop_table('hazard_events')
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.drop_index('ix_hazards_status_deadline')
        batch_op.drop_index(batch_op.f('ix_hazards_post_id'))
        batch_op.drop_index('ix_hazards_enterprise_status_found')

    op.drop_table('hazards')
