"""inbox columns: denormalized case facts, stored due instants, partial indexes; 退回 reopens a spiff task

Revision ID: 3b7e1c9d2a40
Revises: 7d4e0b9c2a15
Create Date: 2026-12-03 09:40:00

The inbox filters and sorts on the tasks table alone: case number, applicant, stage and the instants its
light comes from are copied onto each row; each candidate row also carries whether its task is open and
unclaimed and the task's due and created instants, for the per-group partial indexes. ``spiff_task_id`` is unique among open rows only, because a task
returned to (退回) is the same SpiffWorkflow task made ready again and gets a new inbox row.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types


revision: str = '3b7e1c9d2a40'
down_revision: Union[str, None] = '7d4e0b9c2a15'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = sa.text("state = 'open'")
UNCLAIMED = sa.text("state = 'open' AND assignee IS NULL")
NO_DEADLINE = "9999-12-31 00:00:00"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_no', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('applicant_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('inbox_due_at', engine.persistence.types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('inbox_yellow_at', engine.persistence.types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.drop_constraint('uq_tasks_spiff_task_id', type_='unique')

    # Existing rows: copy the case facts and the instants the inbox used to compute per row.
    sentinel = f"'{NO_DEADLINE}+00'" if dialect == 'postgresql' else f"'{NO_DEADLINE}.000000'"
    op.execute(
        "UPDATE tasks SET "
        "case_no = (SELECT c.case_no FROM cases c WHERE c.id = tasks.case_id), "
        "stage = (SELECT c.stage FROM cases c WHERE c.id = tasks.case_id), "
        "inbox_due_at = COALESCE(tasks.due_at, (SELECT c.committed_due_at FROM cases c WHERE c.id = tasks.case_id), "
        f"{sentinel}), "
        "inbox_yellow_at = CASE WHEN tasks.due_at IS NOT NULL THEN tasks.yellow_at "
        "ELSE (SELECT c.committed_yellow_at FROM cases c WHERE c.id = tasks.case_id) END")

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('inbox_due_at', existing_type=engine.persistence.types.UtcDateTime(timezone=True),
                              nullable=False)
        batch_op.create_index(batch_op.f('ix_tasks_case_id_spiff_task_id'), ['case_id', 'spiff_task_id'],
                              unique=False)
        batch_op.create_index('uq_tasks_open_spiff_task_id', ['spiff_task_id'], unique=True,
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index(batch_op.f('ix_tasks_inbox_due_at_id'), ['inbox_due_at', 'id'], unique=False,
                              postgresql_where=UNCLAIMED, sqlite_where=UNCLAIMED)
        batch_op.create_index(batch_op.f('ix_tasks_created_at_id'), ['created_at', 'id'], unique=False,
                              postgresql_where=UNCLAIMED, sqlite_where=UNCLAIMED)
        batch_op.create_index(batch_op.f('ix_tasks_assignee_inbox_due_at_id'), ['assignee', 'inbox_due_at', 'id'],
                              unique=False, postgresql_where=OPEN, sqlite_where=OPEN)

    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('available', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('inbox_due_at', engine.persistence.types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('inbox_yellow_at', engine.persistence.types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('created_at', engine.persistence.types.UtcDateTime(timezone=True),
                                      nullable=True))
    op.execute(
        "UPDATE task_candidates SET "
        "available = (SELECT t.state = 'open' AND t.assignee IS NULL FROM tasks t WHERE t.id = task_candidates.task_id), "
        "inbox_due_at = (SELECT t.inbox_due_at FROM tasks t WHERE t.id = task_candidates.task_id), "
        "inbox_yellow_at = (SELECT t.inbox_yellow_at FROM tasks t WHERE t.id = task_candidates.task_id), "
        "created_at = (SELECT t.created_at FROM tasks t WHERE t.id = task_candidates.task_id)")
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        for column in ('inbox_due_at', 'created_at'):
            batch_op.alter_column(column, existing_type=engine.persistence.types.UtcDateTime(timezone=True),
                                  nullable=False)
        batch_op.alter_column('available', existing_type=sa.Boolean(), nullable=False)
        batch_op.create_index('ix_task_candidates_available_due', ['group_key', 'inbox_due_at', 'task_id'],
                              unique=False, postgresql_where=sa.text('available'),
                              sqlite_where=sa.text('available = 1'))
        batch_op.create_index('ix_task_candidates_available_created', ['group_key', 'created_at', 'task_id'],
                              unique=False, postgresql_where=sa.text('available'),
                              sqlite_where=sa.text('available = 1'))


def downgrade() -> None:
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidates_available_created')
        batch_op.drop_index('ix_task_candidates_available_due')
        batch_op.drop_column('created_at')
        batch_op.drop_column('inbox_yellow_at')
        batch_op.drop_column('inbox_due_at')
        batch_op.drop_column('available')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_assignee_inbox_due_at_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_created_at_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_inbox_due_at_id'))
        batch_op.drop_index('uq_tasks_open_spiff_task_id')
        batch_op.drop_index(batch_op.f('ix_tasks_case_id_spiff_task_id'))
        batch_op.create_unique_constraint('uq_tasks_spiff_task_id', ['spiff_task_id'])
        batch_op.drop_column('inbox_yellow_at')
        batch_op.drop_column('inbox_due_at')
        batch_op.drop_column('stage')
        batch_op.drop_column('applicant_name')
        batch_op.drop_column('case_no')
