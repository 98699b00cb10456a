"""authorization_code.dpop_jkt: codes bound to the app's DPoP key (RFC 9449 §10, issue 14)

Revision ID: c_code_dpop_jkt
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "c_code_dpop_jkt"
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.drop_column("dpop_jkt")
