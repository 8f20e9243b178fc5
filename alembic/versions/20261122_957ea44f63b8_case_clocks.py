"""case clocks

Revision ID: 957ea44f63b8
Revises: 4d7cf8461218
Create Date: 2026-11-22 04:54:36.093103
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types
from sqlalchemy.dialects import postgresql

revision: str = '957ea44f63b8'
down_revision: Union[str, None] = '4d7cf8461218'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_yellow_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('committed_yellow_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clocks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('yellow_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('yellow_at')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('clocks')
        batch_op.drop_column('committed_yellow_at')
        batch_op.drop_column('legal_yellow_at')

