"""a ledger event whose platform the person erased keeps its leaf hash, not its payload

Revision ID: c4e8a1f07d32
Revises: 5e7a0c2d9b14
Create Date: 2026-11-28 17:45:00

``ledger_entries.event`` may be NULL: the payload of an event redacted by a signed
``platform.erased`` event (docs/ledger-format.md). Existing entries all keep theirs.
"""

import sqlalchemy as sa
from alembic import op

revision = "c4e8a1f07d32"
down_revision = "5e7a0c2d9b14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("event", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # The older schema has no way to hold an erased event: refuse rather than invent one.
    erased = op.get_bind().execute(sa.text("SELECT count(*) FROM ledger_entries WHERE event IS NULL")).scalar()
    if erased:
        raise RuntimeError(
            f"{erased} ledger event(s) were erased by their owners: the revision before this one cannot hold them"
        )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("event", existing_type=sa.LargeBinary(), nullable=False)
