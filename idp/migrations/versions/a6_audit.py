"""audit_event: the security audit trail (issue 6)

Revision ID: a6_audit
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "a6_audit"
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("nir_key", sa.String(64), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_nir_key", "audit_event", ["nir_key"])
    op.create_index("ix_audit_event_account_id", "audit_event", ["account_id"])


def downgrade():
    op.drop_table("audit_event")
