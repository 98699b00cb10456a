"""passkey, passkey_challenge and account.passkey_offer: the ameli app's biometric sign-in
as a passkey (issue 14)

Revision ID: b_passkeys
Revises: 242bbd20541a
"""
import sqlalchemy as sa
from alembic import op

revision = "b_passkeys"
# Like the other b_ revisions: it needs only the account table of the initial schema, and
# ``init-db`` (and the tests) upgrade to "heads".
down_revision = "242bbd20541a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "passkey",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(1364), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("user_handle", sa.String(128), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id"),
    )
    op.create_index("ix_passkey_account_id", "passkey", ["account_id"])
    op.create_index("ix_passkey_user_handle", "passkey", ["user_handle"])
    op.create_table(
        "passkey_challenge",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("challenge_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("user_handle", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("challenge_hash"),
    )
    op.create_index("ix_passkey_challenge_account_id", "passkey_challenge", ["account_id"])
    op.create_index("ix_passkey_challenge_expires_at", "passkey_challenge", ["expires_at"])
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("passkey_offer", sa.String(8), nullable=False,
                                   server_default="ask"))


def downgrade():
    with op.batch_alter_table("account") as batch:
        batch.drop_column("passkey_offer")
    op.drop_table("passkey_challenge")
    op.drop_table("passkey")
