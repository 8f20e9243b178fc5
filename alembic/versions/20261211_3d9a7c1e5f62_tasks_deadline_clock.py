"""tasks.deadline_clock: a task budget counted on a case clock (``<tb:deadline clock="legal|committed">``)

A user task's budget may count on the case's 法定 or 承诺 clock instead of on its own: it runs only while that
clock runs (a 补正 or 特别程序 pause stops it too), an extension of the clock extends it, and it is never due
after the clock. The row records which clock, so the repository re-counts exactly those tasks when the clock
changes and the inbox shows them 已暂停 while it stands still. Every existing row counts on its own (NULL): no
shipped process declared another clock, and a budget declared with one was counted from creation until now.

Revision ID: 3d9a7c1e5f62
Revises: 8c3f1a6d2e47
Create Date: 2026-12-11 09:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '3d9a7c1e5f62'
down_revision: Union[str, None] = '8c3f1a6d2e47'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_clock', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('deadline_clock')
