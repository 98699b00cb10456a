"""signing_key.signs_from: a rotated-in key is published before it signs (issue 10.1)

Revision ID: b_keys_signs_from
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "b_keys_signs_from"
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signs_from", sa.DateTime(), nullable=True))
    # The keys already there signed from their creation.
    op.execute("UPDATE signing_key SET signs_from = created_at")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.alter_column("signs_from", existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_column("signs_from")
