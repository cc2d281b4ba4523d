"""A person's whole account as one file they take with them (issue 12).

``format``: the archive's files, its signature and how it is read safely (pure code).
``present``: its index.html and key card, in the person's language (templates).
``cli``: ``consent export-account`` and ``consent import-account``.
The use-cases live in consent.services.archive; docs/archive.md describes the format.
"""
