"""extension_requests.approver_role: the joint procedure's extension is approved by 本级人民政府负责人

行政许可法第四十二条第二款: the 45-day limit of 统一办理、联合办理、集中办理 is extended "经本级人民政府负责人批准".
A request now records, when it is made, whose approval it waits for: ``department_head`` (a head of the case's
承办部门, 第一款) or ``government_head`` (the district government's head, 第二款). Every request made before
was decided by a department head (for the joint procedure, the lead department's head stood in), so existing
rows get ``department_head``: they stay with whoever was asked then.

Revision ID: 8c3f1a6d2e47
Revises: 5e2b7d4c9a18
Create Date: 2026-12-10 09:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '8c3f1a6d2e47'
down_revision: Union[str, None] = '5e2b7d4c9a18'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approver_role', sa.String(length=32), nullable=True))
    op.execute(sa.text("UPDATE extension_requests SET approver_role = 'department_head'"))
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.alter_column('approver_role', existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.drop_column('approver_role')
