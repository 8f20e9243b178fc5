"""applicant accounts (全程网办): real-name identity on users, the applying account on applications

Revision ID: 4d8a2c6e1f90
Revises: 6c1e9a3f5b27
Create Date: 2026-12-05 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types


revision: str = '4d8a2c6e1f90'
down_revision: Union[str, None] = '6c1e9a3f5b27'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_type', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('id_verified_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_verified_at', engine.persistence.types.UtcDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_applications_account'), ['account'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_account'))
        batch_op.drop_column('account')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('id_verified_at')
        batch_op.drop_column('id_verified_by')
        batch_op.drop_column('id_type')
