"""users.session_generation: logging out ends every copy of the page session

A page session is a signed cookie naming its user; logging out only cleared the cookie of the browser that
logged out, so a copy of it stayed valid for the cookie's 8 hours. A session now carries the user's
generation read at login and is refused once logging out has moved the generation on.

Revision ID: 5e2b7d4c9a18
Revises: 9b4e2f6a1c37
Create Date: 2026-12-09 09:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '5e2b7d4c9a18'
down_revision: Union[str, None] = '9b4e2f6a1c37'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
