"""process_drafts: on SQLite, ids are never handed out again (AUTOINCREMENT)

A deployed or deleted draft's id was reused by the next draft on SQLite (a plain INTEGER PRIMARY KEY takes
max(id) + 1), so a browser tab still open on the old draft could save over, or deploy, another designer's
draft whose revision happened to match. PostgreSQL's sequences never reuse ids; SQLite needs AUTOINCREMENT,
which only a rebuilt table gets.

Revision ID: 9b4e2f6a1c37
Revises: 7e1a9c3d5b20
Create Date: 2026-12-08 09:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '9b4e2f6a1c37'
down_revision: Union[str, None] = '7e1a9c3d5b20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    with op.batch_alter_table("process_drafts", recreate="always",
                              table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    with op.batch_alter_table("process_drafts", recreate="always",
                              table_kwargs={"sqlite_autoincrement": False}):
        pass
