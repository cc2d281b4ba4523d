"""accounts, profiles and logins

Revision ID: 9fafa792d8d7
Revises:
Create Date: 2026-11-27 04:12:51.885788
"""

import sqlalchemy as sa
from alembic import op

revision = "9fafa792d8d7"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email_lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("password_salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("password_kdf", sa.String(length=40), nullable=False),
        sa.Column("dek_by_password", sa.LargeBinary(length=80), nullable=False),
        sa.Column("recovery_salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("dek_by_recovery", sa.LargeBinary(length=80), nullable=False),
        sa.Column("signing_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signing_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email_lookup", name=op.f("uq_users_email_lookup")),
    )
    op.create_table(
        "logins",
        sa.Column("lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_logins_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lookup", name=op.f("pk_logins")),
    )
    with op.batch_alter_table("logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_logins_user_id"), ["user_id"], unique=False)

    op.create_table(
        "profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("full_name", sa.LargeBinary(), nullable=True),
        sa.Column("postal_address", sa.LargeBinary(), nullable=True),
        sa.Column("correspondence_email", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("country", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_profiles_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_profiles")),
    )


def downgrade() -> None:

    op.drop_table("profiles")
    with op.batch_alter_table("logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_logins_user_id"))

    op.drop_table("logins")
    op.drop_table("users")
