"""account_action and letter: signed links' records and the postal letters queue (issue 4)

Revision ID: a4_account_life
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "a4_account_life"
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_action",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("nir", sa.String(13), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_action_account_id", "account_action", ["account_id"])
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nir", sa.String(13), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_letter_nir", "letter", ["nir"])


def downgrade():
    op.drop_index("ix_letter_nir", table_name="letter")
    op.drop_table("letter")
    op.drop_index("ix_account_action_account_id", table_name="account_action")
    op.drop_table("account_action")
