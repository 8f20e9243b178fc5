"""login attempts

Revision ID: 3b1c7e2a9d40
Revises: 3b7c1d2e9a40
Create Date: 2026-12-03 09:50:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types


revision: str = '3b1c7e2a9d40'
down_revision: Union[str, None] = '3b7c1d2e9a40'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'login_attempts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('at', engine.persistence.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts')),
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_username_source_at'),
                              ['username', 'source', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_username_source_at'))
    op.drop_table('login_attempts')
