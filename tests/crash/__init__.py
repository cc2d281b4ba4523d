"""A crash harness in the style of SQLite's crash tests (issue 9): writers append
decisions and log each acknowledged one outside the database; a supervisor kills them
with SIGKILL at random moments; then nothing acknowledged may be lost, no signed
checkpoint may have forked, every checkpoint verifies, the projection equals a rebuild
from the events, and SQLite's integrity check passes.

`python -m tests.crash --kills 200` runs it long (`make crash-test`); tests/test_crash.py
runs it short inside `make test`."""
