"""directory of companies and authorities; complaint authority in the profile

Revision ID: da3d18113fe8
Revises: 0447c6f36b6e
Create Date: 2026-11-27 04:43:33.625176
"""

import sqlalchemy as sa
from alembic import op

revision = "da3d18113fe8"
down_revision = "0447c6f36b6e"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "directory_authorities",
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_directory_authorities")),
    )
    op.create_table(
        "directory_controllers",
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_directory_controllers")),
    )
    op.create_table(
        "directory_packs",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("companies", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_directory_packs")),
    )
    op.create_table(
        "directory_redirects",
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("redirect_to", sa.String(length=200), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_directory_redirects")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authority", sa.LargeBinary(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_column("authority")

    op.drop_table("directory_redirects")
    op.drop_table("directory_packs")
    op.drop_table("directory_controllers")
    op.drop_table("directory_authorities")
