"""ledger, platforms and uses

Revision ID: 0447c6f36b6e
Revises: 9fafa792d8d7
Create Date: 2026-11-27 04:24:14.677143
"""

import sqlalchemy as sa
from alembic import op

revision = "0447c6f36b6e"
down_revision = "9fafa792d8d7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_checkpoints_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("event", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "index", name=op.f("pk_ledger_entries")),
    )
    op.create_table(
        "ledger_heads",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_heads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_ledger_heads")),
    )
    op.create_table(
        "platforms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("private", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_platforms_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platforms")),
    )
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_platforms_user_id"), ["user_id"], unique=False)

    op.create_table(
        "uses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_uses_platform_id_platforms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_uses_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uses")),
    )
    with op.batch_alter_table("uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uses_platform_id"), ["platform_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_uses_user_id"), ["user_id"], unique=False)

    # Every existing account gets an empty ledger.
    heads = sa.table(
        "ledger_heads",
        sa.column("user_id", sa.Uuid()),
        sa.column("size", sa.Integer()),
        sa.column("frontier", sa.LargeBinary()),
    )
    users = sa.table("users", sa.column("id", sa.Uuid()))
    op.execute(
        heads.insert().from_select(
            ["user_id", "size", "frontier"], sa.select(users.c.id, sa.literal(0), sa.literal(b"", sa.LargeBinary()))
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uses_user_id"))
        batch_op.drop_index(batch_op.f("ix_uses_platform_id"))

    op.drop_table("uses")
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platforms_user_id"))

    op.drop_table("platforms")
    op.drop_table("ledger_heads")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_checkpoints")
