"""the time zone each person chose for the times shown (sealed)

Revision ID: 5e7a0c2d9b14
Revises: b7d41e2a9c05
Create Date: 2026-11-28 14:00:00

Existing accounts have none: their times follow the browser, else UTC.
"""

import sqlalchemy as sa
from alembic import op

revision = "5e7a0c2d9b14"
down_revision = "b7d41e2a9c05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
