"""login_flow.result and .then_endpoint, journey_flow.data: the login's outcome waits on its flow row
(not in the cookie session), and FranceConnect's journey is a stored flow (issue 12)

Revision ID: b_flow_results
Revises: b_journey_flows
"""
import sqlalchemy as sa
from alembic import op

revision = "b_flow_results"
down_revision = "b_journey_flows"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_flow") as batch:
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("then_endpoint", sa.String(64), nullable=True))
    with op.batch_alter_table("journey_flow") as batch:
        batch.add_column(sa.Column("data", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("journey_flow") as batch:
        batch.drop_column("data")
    with op.batch_alter_table("login_flow") as batch:
        batch.drop_column("then_endpoint")
        batch.drop_column("result")
