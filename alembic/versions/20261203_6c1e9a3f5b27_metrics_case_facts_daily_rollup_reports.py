"""metrics: case facts, daily rollup, reports

The facts each case carries for the dashboards (department, channel, acceptance, 补正/容缺, visits, working
days used against each limit), the daily rollup with its watermark, and the periodic reports (通报). Cases
written before this revision keep facts_version NULL until `tongban migrate` backfills them.

Revision ID: 6c1e9a3f5b27
Revises: 378358259043
Create Date: 2026-12-03 12:22:50.845207
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import engine.persistence.types
from sqlalchemy.dialects import postgresql

revision: str = '6c1e9a3f5b27'
down_revision: Union[str, None] = '378358259043'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('metric_daily',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('owning_district', sa.String(length=12), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('matter_code', sa.String(length=64), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('cross_district', sa.Integer(), nullable=False),
    sa.Column('one_visit', sa.Integer(), nullable=False),
    sa.Column('corrected', sa.Integer(), nullable=False),
    sa.Column('tolerated', sa.Integer(), nullable=False),
    sa.Column('late_legal', sa.Integer(), nullable=False),
    sa.Column('late_committed', sa.Integer(), nullable=False),
    sa.Column('legal_cases', sa.Integer(), nullable=False),
    sa.Column('legal_used_sum', sa.BigInteger(), nullable=False),
    sa.Column('legal_limit_sum', sa.BigInteger(), nullable=False),
    sa.Column('committed_cases', sa.Integer(), nullable=False),
    sa.Column('committed_used_sum', sa.BigInteger(), nullable=False),
    sa.Column('committed_limit_sum', sa.BigInteger(), nullable=False),
    sa.Column('legal_hist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('committed_hist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_daily'))
    )
    with op.batch_alter_table('metric_daily', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_daily_day_owning_district'), ['day', 'owning_district'], unique=False)

    op.create_table('metric_city_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('cross_district', sa.Integer(), nullable=False),
    sa.Column('one_visit', sa.Integer(), nullable=False),
    sa.Column('corrected', sa.Integer(), nullable=False),
    sa.Column('tolerated', sa.Integer(), nullable=False),
    sa.Column('late_legal', sa.Integer(), nullable=False),
    sa.Column('late_committed', sa.Integer(), nullable=False),
    sa.Column('legal_cases', sa.Integer(), nullable=False),
    sa.Column('legal_used_sum', sa.BigInteger(), nullable=False),
    sa.Column('legal_limit_sum', sa.BigInteger(), nullable=False),
    sa.Column('committed_cases', sa.Integer(), nullable=False),
    sa.Column('committed_used_sum', sa.BigInteger(), nullable=False),
    sa.Column('committed_limit_sum', sa.BigInteger(), nullable=False),
    sa.Column('legal_hist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('committed_hist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_metric_city_daily'))
    )
    op.create_table('metric_watermarks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('updated_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_metric_watermarks'))
    )
    op.create_table('reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('district', sa.String(length=12), nullable=False),
    sa.Column('period_key', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('kind', 'district', 'period_key', name=op.f('uq_reports_kind_district_period_key'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_kind_period_start'), ['kind', 'period_start'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', engine.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('corrections', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tolerance', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('visits', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('legal_used_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('legal_limit_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('legal_late', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('committed_used_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('committed_limit_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('committed_late', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('facts_version', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_accepted_at'), ['accepted_at'], unique=False)
        batch_op.create_index('ix_cases_completed_metrics', ['ended_at'], unique=False, postgresql_include=['owning_district', 'department', 'matter_code', 'legal_used_days', 'committed_used_days'], postgresql_where=sa.text("status = 'completed'"), sqlite_where=sa.text("status = 'completed'"))
        batch_op.create_index('ix_cases_running_metrics', ['started_at'], unique=False, postgresql_include=['owning_district', 'department', 'matter_code', 'legal_due_at', 'legal_yellow_at', 'committed_due_at', 'committed_yellow_at', 'id'], postgresql_where=sa.text("status = 'running'"), sqlite_where=sa.text("status = 'running'"))
        batch_op.create_index(batch_op.f('ix_cases_started_at'), ['started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_started_at'))
        batch_op.drop_index('ix_cases_running_metrics', postgresql_include=['owning_district', 'department', 'matter_code', 'legal_due_at', 'legal_yellow_at', 'committed_due_at', 'committed_yellow_at', 'id'], postgresql_where=sa.text("status = 'running'"), sqlite_where=sa.text("status = 'running'"))
        batch_op.drop_index('ix_cases_completed_metrics', postgresql_include=['owning_district', 'department', 'matter_code', 'legal_used_days', 'committed_used_days'], postgresql_where=sa.text("status = 'completed'"), sqlite_where=sa.text("status = 'completed'"))
        batch_op.drop_index(batch_op.f('ix_cases_accepted_at'))
        batch_op.drop_column('facts_version')
        batch_op.drop_column('committed_late')
        batch_op.drop_column('committed_limit_days')
        batch_op.drop_column('committed_used_days')
        batch_op.drop_column('legal_late')
        batch_op.drop_column('legal_limit_days')
        batch_op.drop_column('legal_used_days')
        batch_op.drop_column('visits')
        batch_op.drop_column('tolerance')
        batch_op.drop_column('corrections')
        batch_op.drop_column('accepted_at')
        batch_op.drop_column('channel')
        batch_op.drop_column('department')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_kind_period_start'))

    op.drop_table('reports')
    op.drop_table('metric_watermarks')
    op.drop_table('metric_city_daily')
    with op.batch_alter_table('metric_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_daily_day_owning_district'))

    op.drop_table('metric_daily')
