"""process_drafts: designers' unfinished edits of processes and their forms

Revision ID: 6c1e9b3d2f80
Revises: 6c1e9f3a7b52
Create Date: 2026-12-04 09:12:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types
from sqlalchemy.dialects import postgresql

revision: str = '6c1e9b3d2f80'
down_revision: Union[str, None] = '6c1e9f3a7b52'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('process_drafts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('process_key', sa.String(length=128), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('base_hash', sa.String(length=64), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('created_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_drafts'))
    )
    with op.batch_alter_table('process_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_drafts_process_key'), ['process_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('process_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_drafts_process_key'))
    op.drop_table('process_drafts')
