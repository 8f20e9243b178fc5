"""cases.calendar_generation: the oldest calendar a running case's instants were counted with, for the recount

``tongban calendar import`` recomputes every running case right after its commit. A case that a command wrote
with the old calendar after that recompute had passed it (opened while the import's transaction was open, on
PostgreSQL) kept an old deadline for good, as did every case the recompute had not reached when it was cut
short. From this revision each case records the oldest calendar generation its stored instants may count with,
and the worker recomputes running cases below the committed generation. Running cases that count days are
taken as counted with the calendar in force now (the import's recompute ran for them); the rest stay NULL
until a command counts days for them.

Revision ID: b4e2d7a91c05
Revises: 6a1f3c8e2b95
Create Date: 2026-12-13 09:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = 'b4e2d7a91c05'
down_revision: Union[str, None] = '6a1f3c8e2b95'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_generation', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_status_calendar_generation'), ['status', 'calendar_generation'],
                              unique=False)
    op.execute("""
        UPDATE cases SET calendar_generation = (SELECT count(*) FROM calendar_imports)
        WHERE status = 'running' AND (
            clocks IS NOT NULL
            OR EXISTS (SELECT 1 FROM timers WHERE timers.case_id = cases.id AND timers.state = 'waiting')
            OR EXISTS (SELECT 1 FROM tasks WHERE tasks.case_id = cases.id AND tasks.state = 'open'
                       AND tasks.due_at IS NOT NULL))
    """)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_status_calendar_generation'))
        batch_op.drop_column('calendar_generation')
