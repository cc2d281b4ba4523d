"""Alembic environment. The app passes its connection in (consent.migrate); the `alembic`
command line gets the database URL from the app's own configuration."""

from typing import Any

import sqlalchemy as sa
from alembic import context

from consent.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Write the app's column types as the plain SQL type beneath them, so a migration
    stays valid however the Python-side types change later."""
    if kind == "type" and isinstance(item, sa.TypeDecorator):
        return f"sa.{item.impl_instance!r}"
    return False


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, render_item=_render_item
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from consent import create_app
    from consent.db import make_engine

    url = create_app().config["DATABASE_URL"]
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        with make_engine(url).begin() as conn:
            _run(conn)
