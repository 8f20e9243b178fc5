"""access_log: append-only record of material downloads (who read which file of which case, when)

Revision ID: 311a5483eeb8
Revises: 4d8a2c6e1f90
Create Date: 2026-12-06 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types


revision: str = '311a5483eeb8'
down_revision: Union[str, None] = '4d8a2c6e1f90'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MESSAGE = "access_log is append-only (audit log): UPDATE and DELETE are refused"


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_access_log_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_actor_id'), ['actor', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_case_id_id'), ['case_id', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION tongban_access_log_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
            END $$""")
        op.execute("""
            CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
            FOR EACH ROW EXECUTE FUNCTION tongban_access_log_append_only()""")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER access_log_no_{action.lower()} BEFORE {action} ON access_log
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_log_append_only ON access_log")
        op.execute("DROP FUNCTION IF EXISTS tongban_access_log_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS access_log_no_{action}")
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_case_id_id'))
        batch_op.drop_index(batch_op.f('ix_access_log_actor_id'))
    op.drop_table('access_log')
