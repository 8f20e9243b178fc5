"""intake: cases know their matter; applications and case_materials

Revision ID: 4a9d2c7e1f30
Revises: 8a3f6d2e1c57
Create Date: 2026-12-03 10:21:52.242526
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types
from sqlalchemy.dialects import postgresql

revision: str = '4a9d2c7e1f30'
down_revision: Union[str, None] = '8a3f6d2e1c57'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('applications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('matter_code', sa.String(length=64), nullable=False),
    sa.Column('matter_version', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('applicant_kind', sa.String(length=16), nullable=False),
    sa.Column('applicant_name', sa.String(length=128), nullable=False),
    sa.Column('applicant_id_type', sa.String(length=8), nullable=False),
    sa.Column('applicant_id_number', sa.String(length=32), nullable=False),
    sa.Column('legal_representative', sa.String(length=64), nullable=True),
    sa.Column('agent_kind', sa.String(length=16), nullable=True),
    sa.Column('agent_name', sa.String(length=64), nullable=True),
    sa.Column('agent_id_type', sa.String(length=8), nullable=True),
    sa.Column('agent_id_number', sa.String(length=32), nullable=True),
    sa.Column('agent_authorization', sa.String(length=128), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('form_data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('missing', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tolerance', sa.Boolean(), nullable=False),
    sa.Column('query_code_hash', sa.String(length=160), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.Column('received_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_applications_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('case_id', name=op.f('uq_applications_case_id'))
    )
    op.create_table('case_materials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_key', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('media_type', sa.String(length=64), nullable=True),
    sa.Column('original_filename', sa.String(length=255), nullable=True),
    sa.Column('license_ref', sa.String(length=128), nullable=True),
    sa.Column('verified_by', sa.String(length=64), nullable=True),
    sa.Column('verified_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('received_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_materials_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_materials')),
    sa.UniqueConstraint('case_id', 'material_key', name=op.f('uq_case_materials_case_id_material_key'))
    )
    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_materials_sha256'), ['sha256'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matter_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('matter_version', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_matter_code'), ['matter_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_matter_code'))
        batch_op.drop_column('matter_version')
        batch_op.drop_column('matter_code')

    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_materials_sha256'))

    op.drop_table('case_materials')
    op.drop_table('applications')
