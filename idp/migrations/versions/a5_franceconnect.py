"""franceconnect_login: the upstream ID token of logins made through FranceConnect

Revision ID: a5_franceconnect
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "a5_franceconnect"
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "franceconnect_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("auth_time", sa.DateTime(), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_franceconnect_login_account_time", "franceconnect_login",
                    ["account_id", "auth_time"])
    op.create_index("ix_franceconnect_login_created_at", "franceconnect_login", ["created_at"])


def downgrade():
    op.drop_index("ix_franceconnect_login_created_at", table_name="franceconnect_login")
    op.drop_index("ix_franceconnect_login_account_time", table_name="franceconnect_login")
    op.drop_table("franceconnect_login")
