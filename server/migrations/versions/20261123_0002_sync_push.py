"""Sync push: device_seq per device, photo slots of checks, device clocks of checks

Revision ID: b7d1e2f30a41
Revises: c43e557a22b9
Create Date: 2026-11-23 21:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d1e2f30a41'
down_revision = 'c43e557a22b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_seq', sa.BigInteger(), nullable=True))

    op.create_table('check_photos',
    sa.Column('check_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_check_photos_check_id_checks')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_check_photos_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('check_id', 'sha256', name=op.f('pk_check_photos'))
    )
    with op.batch_alter_table('check_photos', schema=None) as batch_op:
        batch_op.create_index('ix_check_photos_enterprise_sha256', ['enterprise_id', 'sha256'], unique=False)

    op.create_table('device_seqs',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('highest', sa.BigInteger(), nullable=False),
    sa.Column('gaps', sa.JSON(), nullable=False),
    sa.Column('open_gaps', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_seqs_device_id_devices')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_device_seqs_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_device_seqs'))
    )
    with op.batch_alter_table('device_seqs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_seqs_enterprise_id'), ['enterprise_id'], unique=False)


def downgrade():
    with op.batch_alter_table('device_seqs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_seqs_enterprise_id'))
    op.drop_table('device_seqs')
    with op.batch_alter_table('check_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_check_photos_enterprise_sha256')
    op.drop_table('check_photos')
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_column('device_seq')
