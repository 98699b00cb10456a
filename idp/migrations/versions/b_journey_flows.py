"""journey_flow: the account journeys (registration, password change) as stored flows
(issue 12)

Revision ID: b_journey_flows
Revises: a6_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "b_journey_flows"
down_revision = "a6_audit"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "journey_flow",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("journey", sa.String(32), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("step_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_journey_flow_expires_at", "journey_flow", ["expires_at"])


def downgrade():
    op.drop_table("journey_flow")
