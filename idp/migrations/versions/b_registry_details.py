"""person: the details "Mes informations" shows (issue 13.3): rights and CEAM end dates,
complementary insurer, doctor, postal address, landline

Revision ID: b_registry_details
Revises: b_journey_flows
"""
import sqlalchemy as sa
from alembic import op

revision = "b_registry_details"
down_revision = "b_journey_flows"
branch_labels = None
depends_on = None

COLUMNS = (("rights_until", sa.Date()), ("ceam_until", sa.Date()),
           ("complementary", sa.String(128)), ("doctor", sa.String(256)),
           ("address", sa.String(256)), ("city", sa.String(128)), ("landline", sa.String(20)))


def upgrade():
    with op.batch_alter_table("person") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade():
    with op.batch_alter_table("person") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
