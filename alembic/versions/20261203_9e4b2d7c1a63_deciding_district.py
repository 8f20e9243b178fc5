"""cases.deciding_district: the receiving district that decides under a 就地批办 grant

Revision ID: 9e4b2d7c1a63
Revises: 6c2e9a4b7d18
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '9e4b2d7c1a63'
down_revision = '6c2e9a4b7d18'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('deciding_district', sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('deciding_district')
