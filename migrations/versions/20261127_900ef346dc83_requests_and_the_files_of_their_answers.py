"""requests and the files of their answers

Revision ID: 900ef346dc83
Revises: da3d18113fe8
Create Date: 2026-11-27 04:53:54.606169
"""

import sqlalchemy as sa
from alembic import op

revision = "900ef346dc83"
down_revision = "da3d18113fe8"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_requests_platform_id_platforms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_requests_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_platform_id"), ["platform_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_user_id"), ["user_id"], unique=False)

    op.create_table(
        "request_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_request_files_request_id_requests"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_request_files_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_files")),
    )
    with op.batch_alter_table("request_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_files_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_files_user_id"), ["user_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("request_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_files_user_id"))
        batch_op.drop_index(batch_op.f("ix_request_files_request_id"))

    op.drop_table("request_files")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_user_id"))
        batch_op.drop_index(batch_op.f("ix_requests_platform_id"))

    op.drop_table("requests")
