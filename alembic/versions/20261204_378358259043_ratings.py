"""ratings: 好差评 with 差评整改 follow-up; lookup throttling per address

Revision ID: 378358259043
Revises: 97e20b205332
Create Date: 2026-12-04 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types


revision: str = '378358259043'
down_revision: Union[str, None] = '97e20b205332'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('ratings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('matter_code', sa.String(length=64), nullable=True),
    sa.Column('district', sa.String(length=12), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('rated_by', sa.String(length=64), nullable=False),
    sa.Column('rated_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rectification_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('removed_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('removed_by', sa.String(length=64), nullable=True),
    sa.Column('removed_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ratings_case_id_cases')),
    sa.ForeignKeyConstraint(['rectification_case_id'], ['cases.id'], name=op.f('fk_ratings_rectification_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('case_id', name=op.f('uq_ratings_case_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_department_rated_at'), ['department', 'rated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_district_rated_at'), ['district', 'rated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_rectification_case_id'), ['rectification_case_id'], unique=False)

    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_source_at'), ['source', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_source_at'))

    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_rectification_case_id'))
        batch_op.drop_index(batch_op.f('ix_ratings_district_rated_at'))
        batch_op.drop_index(batch_op.f('ix_ratings_department_rated_at'))

    op.drop_table('ratings')
