"""sealed manifest of each account

Revision ID: 3c1f0a9d2b7e
Revises: 508267f25efb
Create Date: 2026-11-28 04:50:00

Existing accounts get none: it is made, from the signed ledger, the next time the person
is logged in (consent.services.ledger.adopt), since only their key can seal it.
"""

import sqlalchemy as sa
from alembic import op

revision = "3c1f0a9d2b7e"
down_revision = "508267f25efb"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_heads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manifest", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_heads", schema=None) as batch_op:
        batch_op.drop_column("manifest")
