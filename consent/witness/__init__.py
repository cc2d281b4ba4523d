"""A tlog witness for consent ledgers (c2sp.org/tlog-witness), and the client that asks one.

- ``protocol``: the add-checkpoint request and the 409 size answer, both ways (pure).
- ``store``: the witness's SQLite database; check-and-update of a log in one transaction.
- ``server``: the WSGI app (Flask) answering ``POST /add-checkpoint``.
- ``client``: `cosign`, which the ledger service calls; standard library only.
- ``cli``: ``consent witness init | add-log | serve``.

Nothing is imported here, so that the client loads neither Flask nor the server.
docs/witness.md says how to run a witness, and what trusting one means.
"""
