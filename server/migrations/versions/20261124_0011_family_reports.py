"""Family reports (家属举报): reports, their photos, triage history and rewards; report settings
(public link, contact readers) and the append-only contact log

No table here has a column for an IP address, user agent or any other trace of the reporter's
browser; the receipt code is kept only as its SHA-256, a contact only sealed (Fernet).

Revision ID: e7a8b9c0d1f2
Revises: d6f7a8b9c0e1
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a8b9c0d1f2'
down_revision = 'd6f7a8b9c0e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('family_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('receipt_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('received', 'confirmed', 'fixing', 'fixed', 'not_hazard', name='reportstatus', native_enum=False, length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('contact_sealed', sa.Text(), nullable=True),
    sa.Column('concerns_supervisor', sa.Boolean(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_family_reports_alert_id_alerts')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_family_reports_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id'], name=op.f('fk_family_reports_hazard_id_hazards')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_family_reports_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_reports')),
    sa.UniqueConstraint('hazard_id', name=op.f('uq_family_reports_hazard_id')),
    sa.UniqueConstraint('receipt_hash', name=op.f('uq_family_reports_receipt_hash'))
    )
    with op.batch_alter_table('family_reports', schema=None) as batch_op:
        batch_op.create_index('ix_family_reports_enterprise_created', ['enterprise_id', 'created_at'], unique=False)

    op.create_table('family_report_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('display_key', sa.String(length=200), nullable=False),
    sa.Column('thumb_key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_family_report_photos_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['report_id'], ['family_reports.id'], name=op.f('fk_family_report_photos_report_id_family_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_report_photos')),
    sa.UniqueConstraint('report_id', 'sha256', name=op.f('uq_family_report_photos_report_id_sha256'))
    )

    op.create_table('family_report_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_family_report_events_actor_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_family_report_events_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['report_id'], ['family_reports.id'], name=op.f('fk_family_report_events_report_id_family_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_report_events'))
    )
    with op.batch_alter_table('family_report_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_report_events_report_id'), ['report_id'], unique=False)

    op.create_table('family_report_rewards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.Enum('granted', 'paid', name='rewardstatus', native_enum=False, length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_family_report_rewards_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_family_report_rewards_granted_by_id_users')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_family_report_rewards_paid_by_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['family_reports.id'], name=op.f('fk_family_report_rewards_report_id_family_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_report_rewards'))
    )
    with op.batch_alter_table('family_report_rewards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_report_rewards_report_id'), ['report_id'], unique=False)

    op.create_table('family_report_settings',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('link_token', sa.String(length=64), nullable=False),
    sa.Column('link_rotated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contact_reader_ids', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_family_report_settings_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_family_report_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_family_report_settings')),
    sa.UniqueConstraint('link_token', name=op.f('uq_family_report_settings_link_token'))
    )

    op.create_table('family_report_contact_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_family_report_contact_log_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['report_id'], ['family_reports.id'], name=op.f('fk_family_report_contact_log_report_id_family_reports')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_family_report_contact_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_report_contact_log'))
    )
    with op.batch_alter_table('family_report_contact_log', schema=None) as batch_op:
        batch_op.create_index('ix_family_report_contact_log_enterprise_at', ['enterprise_id', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('family_report_contact_log', schema=None) as batch_op:
        batch_op.drop_index('ix_family_report_contact_log_enterprise_at')

    op.drop_table('family_report_contact_log')
    op.drop_table('family_report_settings')
    with op.batch_alter_table('family_report_rewards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_report_rewards_report_id'))

    op.drop_table('family_report_rewards')
    with op.batch_alter_table('family_report_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_report_events_report_id'))

    op.drop_table('family_report_events')
    op.drop_table('family_report_photos')
    with op.batch_alter_table('family_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_family_reports_enterprise_created')

    op.drop_table('family_reports')
