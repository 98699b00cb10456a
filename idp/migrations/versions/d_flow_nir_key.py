"""login_flow.nir_key: the keyed hash of the flow's NIR, so that a step's read of its flow
brings the NIR's code-quota lock in the same statement (issue 15)

A flow made before this column has none: its steps read the lock alone, as before (a flow
lives at most ``Policy.interaction_ttl``).

Revision ID: d_flow_nir_key
Revises: b_flow_results
"""
import sqlalchemy as sa
from alembic import op

revision = "d_flow_nir_key"
down_revision = "b_flow_results"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_flow") as batch:
        batch.add_column(sa.Column("nir_key", sa.String(64), nullable=True))


def downgrade():
    with op.batch_alter_table("login_flow") as batch:
        batch.drop_column("nir_key")
