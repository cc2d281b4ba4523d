"""A person's whole account as one file they take with them (issue 12: being built)."""
