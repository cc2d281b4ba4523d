"""second factors, and what the logins page shows of each login

Revision ID: b7d41e2a9c05
Revises: 3c1f0a9d2b7e
Create Date: 2026-11-28 08:00:00

Existing logins are complete (not pending) and have no device description.
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d41e2a9c05"
down_revision = "3c1f0a9d2b7e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("logins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("factor_failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("factor_confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("device", sa.LargeBinary(), nullable=True))
    op.create_table(
        "second_factors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_second_factors_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factors")),
    )
    with op.batch_alter_table("second_factors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_second_factors_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("second_factors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_second_factors_user_id"))
    op.drop_table("second_factors")
    with op.batch_alter_table("logins", schema=None) as batch_op:
        batch_op.drop_column("device")
        batch_op.drop_column("factor_confirmed_at")
        batch_op.drop_column("factor_failures")
        batch_op.drop_column("pending")
