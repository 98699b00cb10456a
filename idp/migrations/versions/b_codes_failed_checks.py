"""one_time_code.failed_checks: a provisional code is void after a fixed number of wrong
tries in all (issue 11.6)

Revision ID: b_codes_failed_checks
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "b_codes_failed_checks"
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("one_time_code") as batch:
        batch.add_column(sa.Column("failed_checks", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("one_time_code") as batch:
        batch.drop_column("failed_checks")
