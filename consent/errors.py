"""The app's exceptions: one root, ConsentError, and a subclass per thing that can go wrong.

Domain and service code raise these; the web layer turns them into messages for the
person, the command line into exit codes. Messages here are for logs and developers
("expected X, got Y") and never hold a secret or a personal value.
"""

from datetime import timedelta


class ConsentError(Exception):
    """Root of every error this app raises on purpose."""


class ConfigError(ConsentError):
    """The configuration is missing something or holds a value that cannot work."""


class DecryptionError(ConsentError):
    """A ciphertext did not open: wrong key, wrong context, or altered bytes."""


class AccountError(ConsentError):
    """An account operation was refused."""


class EmailTaken(AccountError):
    """An account with this e-mail address already exists."""


class InvalidCredentials(AccountError):
    """The e-mail and password do not match an account (which of the two is not said)."""


class WrongPassword(AccountError):
    """The current password given to confirm an action is not the account's."""


class WrongRecoveryCode(AccountError):
    """The recovery code is malformed or does not open the account's data key."""


class WrongCode(AccountError):
    """A second factor's answer (an authenticator code, a passkey's signature) is not right,
    or was used already."""


class WeakPassword(AccountError):
    """A new password breaks the password policy.

    ``reason`` is one of ``too_short``, ``too_long``, ``too_common``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TooManyAttempts(AccountError):
    """Too many failed attempts for this address lately; wait ``retry_after`` and try again."""

    def __init__(self, message: str, *, retry_after: timedelta = timedelta(minutes=15)) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(ConsentError):
    """The server is doing as much password work as it may at once; retry in a moment."""

    retry_after = timedelta(seconds=1)


class LoginExpired(AccountError):
    """A login was ended by logout, timeout, or a password change."""


class VerificationError(ConsentError):
    """A ledger, bundle, receipt, proof or signature failed a check.

    The message says which check, and where ("event 12: ..."), in "expected X, got Y" form.
    """


class DecisionError(ConsentError):
    """A decision that cannot follow the current state (withdrawing a use never granted...).

    ``reason`` names the rule: ``not_granted``, ``already_granted``, ``already_refused``,
    ``archived``, ``in_future``, ``unknown``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class IntegrityAlarm(ConsentError):
    """What the database holds for a person is not what their key and ledger vouch for.

    ``problems`` lists each finding as (``kind``, detail): the web layer words each kind
    for the person, the detail says where ("use 6f1c...", "size 12"). Nothing is shown or
    signed on top of a state that raised this. Kinds: ``key`` (the stored public key is
    not the person's), ``head`` (the ledger's head or newest checkpoint does not match),
    ``rolled_back`` (the ledger is shorter than the person, their browser or a witness
    last saw it), ``forked`` (another history at a size already signed), ``replayed``
    (an older version of a value), ``relinked`` (a value moved to another row or link),
    ``missing`` (a row that should be there is gone), ``unexpected`` (a row the app never
    wrote), ``unreadable`` (a value that does not open with the person's key),
    ``unsealed`` (no seal yet: the person checks and seals their records), ``witness`` (a
    witness knows the ledger under another key).
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{kind}: {detail}" for kind, detail in problems))
        self.problems = problems
