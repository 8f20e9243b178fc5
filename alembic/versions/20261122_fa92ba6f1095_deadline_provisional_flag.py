"""deadline provisional flag

Revision ID: fa92ba6f1095
Revises: 957ea44f63b8
Create Date: 2026-11-22 05:16:07.357779
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'fa92ba6f1095'
down_revision: Union[str, None] = '957ea44f63b8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_provisional', sa.Boolean(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('deadline_provisional')

