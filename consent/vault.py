"""Reads and writes a row's sealed fields with its owner's data key.

The associated data binds each ciphertext to its table, column and row, so a value
copied into another row or column (by a thief with write access to the database, say)
fails to open instead of passing for the real one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consent.keys import DataKey


class Vault:
    def __init__(self, key: DataKey) -> None:
        self._key = key

    def read(self, row: Any, field: str) -> str | None:
        sealed = getattr(row, field)
        if sealed is None:
            return None
        return self._key.open(sealed, aad=_context(row, field)).decode("utf-8")

    def write(self, row: Any, field: str, value: str | None) -> None:
        sealed = None if value is None else self._key.seal(value.encode("utf-8"), aad=_context(row, field))
        setattr(row, field, sealed)

    def read_bytes(self, row: Any, field: str) -> bytes:
        return self._key.open(getattr(row, field), aad=_context(row, field))

    def write_bytes(self, row: Any, field: str, value: bytes) -> None:
        setattr(row, field, self._key.seal(value, aad=_context(row, field)))


def _context(row: Any, field: str) -> bytes:
    mapper = sa.inspect(type(row))
    identity = []
    for column in mapper.primary_key:
        value = getattr(row, mapper.get_property_by_column(column).key)
        if value is None:
            raise ValueError(f"{mapper.local_table.name}.{field}: the row needs its primary key before sealing")
        identity.append(str(value))
    return f"{mapper.local_table.name}.{field}:{'/'.join(identity)}".encode()
