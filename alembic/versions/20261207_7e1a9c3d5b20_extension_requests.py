"""extension_requests: a deadline extension waits for a department head's approval in the system

Revision ID: 7e1a9c3d5b20
Revises: 311a5483eeb8
Create Date: 2026-12-07 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types


revision: str = '7e1a9c3d5b20'
down_revision: Union[str, None] = '311a5483eeb8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('extension_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('clock', sa.String(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('told_to_applicant', sa.Boolean(), nullable=False),
    sa.Column('district', sa.String(length=12), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_extension_requests_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_requests'))
    )
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extension_requests_case_id_id'), ['case_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_requests_state_district_requested_at'), ['state', 'district', 'requested_at'], unique=False)
        batch_op.create_index('uq_extension_requests_open_case_clock', ['case_id', 'clock'], unique=True, postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))


def downgrade() -> None:
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_extension_requests_open_case_clock', postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))
        batch_op.drop_index(batch_op.f('ix_extension_requests_state_district_requested_at'))
        batch_op.drop_index(batch_op.f('ix_extension_requests_case_id_id'))
    op.drop_table('extension_requests')
