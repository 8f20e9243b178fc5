"""calendar_replaced_days: keep the schedule a calendar import replaced, so replay reads what was in force

Replacing a year (``tongban calendar import --replace``) deleted its ``calendar_days`` rows; the import log kept
only their hash. A case that had read the old schedule then replayed against the new one and diverged (another
deemed-acceptance date, another provisional flag), and could even be reported as an edited case row. From this
revision the replaced rows move here with the instant they stopped counting. Years replaced before it stay
lost: replay finds them in ``calendar_imports`` (a ``replaced`` load without rows here) and refuses a command
that consults such a year while its lost version was in force (``HISTORY_CALENDAR_REPLACED``).

Revision ID: 6a1f3c8e2b95
Revises: 3d9a7c1e5f62
Create Date: 2026-12-12 09:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import engine.persistence.types


revision: str = '6a1f3c8e2b95'
down_revision: Union[str, None] = '3d9a7c1e5f62'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('calendar_replaced_days',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('loaded_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.Column('replaced_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_replaced_days'))
    )
    with op.batch_alter_table('calendar_replaced_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_replaced_days_year'), ['year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_replaced_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_replaced_days_year'))
    op.drop_table('calendar_replaced_days')
