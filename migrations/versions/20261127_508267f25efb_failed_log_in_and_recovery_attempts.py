"""failed log-in and recovery attempts

Revision ID: 508267f25efb
Revises: e96ef816c5d3
Create Date: 2026-11-27 05:11:57.263232
"""

import sqlalchemy as sa
from alembic import op

revision = "508267f25efb"
down_revision = "e96ef816c5d3"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "failed_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_attempts")),
    )
    with op.batch_alter_table("failed_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_failed_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_failed_attempts_key"), ["key"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("failed_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_attempts_key"))
        batch_op.drop_index(batch_op.f("ix_failed_attempts_at"))

    op.drop_table("failed_attempts")
