"""Use-cases: plain arguments in, one transaction, a domain error out. No Flask here."""
