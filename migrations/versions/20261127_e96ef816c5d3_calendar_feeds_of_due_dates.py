"""calendar feeds of due dates

Revision ID: e96ef816c5d3
Revises: 900ef346dc83
Create Date: 2026-11-27 04:58:57.280593
"""

import sqlalchemy as sa
from alembic import op

revision = "e96ef816c5d3"
down_revision = "900ef346dc83"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_by_token", sa.LargeBinary(length=80), nullable=False),
        sa.Column("key_by_dek", sa.LargeBinary(length=80), nullable=False),
        sa.Column("include_names", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("lookup", name=op.f("uq_calendar_feeds_lookup")),
    )


def downgrade() -> None:

    op.drop_table("calendar_feeds")
