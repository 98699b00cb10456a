"""signing_key.use: the same storage and rotation for FranceConnect+ encryption keys (issue 10.5)

Revision ID: b_keys_key_use
Revises: b_keys_signs_from
"""
import sqlalchemy as sa
from alembic import op

revision = "b_keys_key_use"
down_revision = "b_keys_signs_from"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("use", sa.String(8), nullable=False, server_default="sig"))


def downgrade():
    op.execute("DELETE FROM signing_key WHERE use = 'enc'")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_column("use")
