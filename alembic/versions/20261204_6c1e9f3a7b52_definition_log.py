"""definition_log: append-only audit of deploys and case migrations

Revision ID: 6c1e9f3a7b52
Revises: 6c1e9b3f4d20
Create Date: 2026-12-04 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types
from sqlalchemy.dialects import postgresql

revision: str = '6c1e9f3a7b52'
down_revision: Union[str, None] = '6c1e9b3f4d20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MESSAGE = "definition_log is append-only (audit log): UPDATE and DELETE are refused"


def upgrade() -> None:
    op.create_table('definition_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_log'))
    )
    with op.batch_alter_table('definition_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_log_kind_key_id'), ['kind', 'key', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION tongban_definition_log_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
            END $$""")
        op.execute("""
            CREATE TRIGGER definition_log_append_only BEFORE UPDATE OR DELETE ON definition_log
            FOR EACH ROW EXECUTE FUNCTION tongban_definition_log_append_only()""")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER definition_log_no_{action.lower()} BEFORE {action} ON definition_log
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS definition_log_append_only ON definition_log")
        op.execute("DROP FUNCTION IF EXISTS tongban_definition_log_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS definition_log_no_{action}")
    with op.batch_alter_table('definition_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_log_kind_key_id'))
    op.drop_table('definition_log')
