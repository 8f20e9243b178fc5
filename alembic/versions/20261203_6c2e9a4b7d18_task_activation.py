"""tasks.activation: the multi-instance activation a task belongs to, for separation of duties (职责分离)

Revision ID: 6c2e9a4b7d18
Revises: 4a9d2c7e1f30
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '6c2e9a4b7d18'
down_revision = '4a9d2c7e1f30'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite supports it without rebuilding the table (and its partial indexes).
    op.add_column('tasks', sa.Column('activation', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch_op:
        batch_op.drop_column('activation')
