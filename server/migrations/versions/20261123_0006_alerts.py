"""Alerts: the inbox, escalation along the chain, per-enterprise alert settings, user locale

Revision ID: f2b3c4d5e6a7
Revises: e1a2b3c4d5f6
Create Date: 2026-11-23 22:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2b3c4d5e6a7'
down_revision = 'e1a2b3c4d5f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), server_default='zh', nullable=False))

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('risk_level', sa.Enum('red', 'orange', 'yellow', 'blue', name='risklevel', native_enum=False, length=16), nullable=False),
    sa.Column('missed_check_id', sa.Integer(), nullable=True),
    sa.Column('check_id', sa.Uuid(), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('period_key', sa.String(length=32), nullable=True),
    sa.Column('title_zh', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('summary_zh', sa.Text(), nullable=False),
    sa.Column('summary_en', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'acknowledged', 'resolved', name='alertstatus', native_enum=False, length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_alerts_check_id_checks')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_alerts_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['missed_check_id'], ['missed_checks.id'], name=op.f('fk_alerts_missed_check_id_missed_checks')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_alerts_post_id_posts')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_alerts_schedule_id_schedules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('check_id', name=op.f('uq_alerts_check_id')),
    sa.UniqueConstraint('missed_check_id', name=op.f('uq_alerts_missed_check_id'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_enterprise_created', ['enterprise_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_post_id'), ['post_id'], unique=False)
        batch_op.create_index('ix_alerts_status_escalate_at', ['status', 'escalate_at'], unique=False)

    op.create_table('alert_recipients',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_recipients_alert_id_alerts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_recipients_user_id_users')),
    sa.PrimaryKeyConstraint('alert_id', 'user_id', name=op.f('pk_alert_recipients'))
    )
    with op.batch_alter_table('alert_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_alert_recipients_user_alert', ['user_id', 'alert_id'], unique=False)

    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_alert_events_actor_id_users')),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_events_alert_id_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events'))
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_events_alert_id'), ['alert_id'], unique=False)

    op.create_table('alert_settings',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('head_user_id', sa.Integer(), nullable=True),
    sa.Column('red_minutes', sa.Integer(), nullable=True),
    sa.Column('orange_minutes', sa.Integer(), nullable=True),
    sa.Column('yellow_minutes', sa.Integer(), nullable=True),
    sa.Column('blue_minutes', sa.Integer(), nullable=True),
    sa.Column('digest_hour', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_alert_settings_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['head_user_id'], ['users.id'], name=op.f('fk_alert_settings_head_user_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_alert_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_alert_settings'))
    )

    op.create_table('alert_digests',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_alert_digests_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_digests_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_alert_digests'))
    )
    with op.batch_alter_table('alert_digests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_digests_enterprise_id'), ['enterprise_id'], unique=False)


def downgrade():
    with op.batch_alter_table('alert_digests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_digests_enterprise_id'))
    op.drop_table('alert_digests')
    op.drop_table('alert_settings')
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_events_alert_id'))
    op.drop_table('alert_events')
    with op.batch_alter_table('alert_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_recipients_user_alert')
    op.drop_table('alert_recipients')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_status_escalate_at')
        batch_op.drop_index(batch_op.f('ix_alerts_post_id'))
        batch_op.drop_index('ix_alerts_enterprise_created')
    op.drop_table('alerts')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
