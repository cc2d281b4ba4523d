"""Password policy and password hashing (Argon2id).

Follows NIST SP 800-63B section 3.1.1.2: a minimum length, a generous maximum, no
composition rules, and a check against passwords that attackers try first. The check uses
zxcvbn, whose lists hold the most common passwords, names and keyboard patterns.
"""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from consent.errors import WeakPassword
from consent.keys import Argon2Params

MIN_LENGTH = 12
MAX_LENGTH = 256
#: zxcvbn score 3 means "safely unguessable: moderate protection from offline attacks"
#: (about 10^8 guesses or more); anything below is refused.
_MIN_SCORE = 3
#: zxcvbn refuses longer input and its cost grows with length; the first 72 characters
#: decide whether a password is a common one.
_ZXCVBN_MAX = 72


def check_new_password(password: str, *, context: Iterable[str] = ()) -> None:
    """Raise WeakPassword unless ``password`` may be used; ``context`` holds words of the
    account (its e-mail) that a password should not be built from."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("too_short", f"expected at least {MIN_LENGTH} characters, got {len(password)}")
    if len(password) > MAX_LENGTH:
        raise WeakPassword("too_long", f"expected at most {MAX_LENGTH} characters, got {len(password)}")
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=list(context))
    if result["score"] < _MIN_SCORE:
        raise WeakPassword("too_common", f"expected zxcvbn score >= {_MIN_SCORE}, got {result['score']}")


def hasher(params: Argon2Params) -> PasswordHasher:
    return PasswordHasher(time_cost=params.time_cost, memory_cost=params.memory_kib, parallelism=params.parallelism)


def verify_password(params: Argon2Params, password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``. Constant work whatever the outcome."""
    try:
        return hasher(params).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
