"""The user-held key hierarchy: data keys, their wrappings, recovery codes, login keys.

Pure code: no Flask, no database. See docs/security.md for the whole picture.

    password ──Argon2id(salt_pw)──▶ KEK_pw ─┐
    recovery code ──HKDF(salt_rc)──▶ KEK_rc ─┼─ each wraps ─▶ DEK (256-bit data key)
    login token (cookie) ──HKDF──▶ KEK_login ┘                 │
                                                               ├─ seals encrypted fields
                                                               └─ seals the Ed25519 signing key

Every ciphertext is ``version (1 byte) || nonce (12 bytes) || AES-256-GCM(ciphertext || tag)``
and is bound by its associated data to the place it belongs (a row and a column, or the
user a wrapping belongs to), so a ciphertext moved elsewhere fails to open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from consent.errors import DecryptionError, WrongRecoveryCode

#: First byte of every ciphertext this module writes; a new format gets a new number.
_FORMAT_V1 = 0x01
_NONCE_BYTES = 12
_KEY_BYTES = 32
_SALT_BYTES = 16

#: Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or copied by hand
#: survives the usual confusions (normalisation maps O to 0 and I, L to 1).
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECOVERY_CHARS = 32  # 32 x 5 bits = 160 bits of randomness
_RECOVERY_GROUP = 4


@dataclass(frozen=True)
class Argon2Params:
    """Cost of Argon2id. RFC 9106 section 4 recommends t=3, m=64 MiB, p=4 when memory is scarce."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def encode(self) -> str:
        return f"t={self.time_cost},m={self.memory_kib},p={self.parallelism}"

    @classmethod
    def decode(cls, text: str) -> Argon2Params:
        parts = dict(item.split("=", 1) for item in text.split(","))
        return cls(int(parts["t"]), int(parts["m"]), int(parts["p"]))


class DataKey:
    """A user's 256-bit data key (DEK). Seals and opens values bound to associated data."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise ValueError(f"a data key is {_KEY_BYTES} bytes, got {len(key)}")
        self._key = key

    @classmethod
    def generate(cls) -> DataKey:
        return cls(secrets.token_bytes(_KEY_BYTES))

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        return _seal(self._key, plaintext, aad)

    def open(self, sealed: bytes, *, aad: bytes) -> bytes:
        return _open(self._key, sealed, aad)

    def seal_key(self, other: DataKey, *, aad: bytes) -> bytes:
        """Another key, sealed under this one (a key for a narrower purpose)."""
        return _seal(self._key, other._key, aad)

    def open_key(self, sealed: bytes, *, aad: bytes) -> DataKey:
        return DataKey(_open(self._key, sealed, aad))

    def wrap_with(self, kek: bytes, *, aad: bytes) -> bytes:
        """This key encrypted under a key-encryption key."""
        return _seal(kek, self._key, aad)

    @classmethod
    def unwrap(cls, wrapped: bytes, kek: bytes, *, aad: bytes) -> DataKey:
        return cls(_open(kek, wrapped, aad))


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    header = bytes([_FORMAT_V1])
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + _NONCE_BYTES + 16:
        raise DecryptionError(f"ciphertext too short: expected at least 29 bytes, got {len(sealed)}")
    if sealed[0] != _FORMAT_V1:
        raise DecryptionError(f"unknown ciphertext format: expected {_FORMAT_V1}, got {sealed[0]}")
    header, nonce, body = sealed[:1], sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, header + aad)
    except InvalidTag:
        raise DecryptionError("ciphertext does not open with this key and context") from None


def new_salt() -> bytes:
    return secrets.token_bytes(_SALT_BYTES)


def password_kek(password: str, salt: bytes, params: Argon2Params) -> bytes:
    """The key-encryption key derived from a password with Argon2id (RFC 9106)."""
    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=_KEY_BYTES,
        type=Type.ID,
    )


def _hkdf(secret: bytes, *, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=salt, info=info).derive(secret)


# --- recovery codes -------------------------------------------------------------------


def new_recovery_code() -> str:
    """A fresh recovery code with 160 bits of randomness, in groups of four characters."""
    raw = "".join(secrets.choice(_CROCKFORD) for _ in range(_RECOVERY_CHARS))
    return format_recovery_code(raw)


def format_recovery_code(raw: str) -> str:
    return "-".join(raw[i : i + _RECOVERY_GROUP] for i in range(0, len(raw), _RECOVERY_GROUP))


def normalize_recovery_code(code: str) -> str:
    """The canonical form of a typed code: separators dropped, case and look-alikes folded.

    Raises WrongRecoveryCode when what is left cannot be a code.
    """
    text = "".join(ch for ch in code.upper() if ch not in " -\t\r\n")
    text = text.translate(str.maketrans("OIL", "011"))
    if len(text) != _RECOVERY_CHARS or any(ch not in _CROCKFORD for ch in text):
        raise WrongRecoveryCode(f"a recovery code has {_RECOVERY_CHARS} characters from 0-9 and A-Z, got {len(text)}")
    return text


def recovery_kek(code: str, salt: bytes) -> bytes:
    """The key-encryption key derived from a recovery code.

    HKDF, not Argon2: the code carries 160 bits of randomness, so no amount of stretching
    would add to what a brute-force search already faces.
    """
    return _hkdf(normalize_recovery_code(code).encode("ascii"), salt=salt, info=b"consent/recovery-kek/v1")


# --- logins ---------------------------------------------------------------------------


def new_login_token() -> str:
    """The secret kept only in a login's cookie."""
    return secrets.token_urlsafe(_KEY_BYTES)


def login_lookup(token: str) -> bytes:
    """What the database stores to find a login: a hash, from which the token cannot be had.

    Tokens are ASCII; UTF-8 (the same bytes for them) lets a forged non-ASCII one simply
    find nothing instead of failing."""
    return hashlib.sha256(b"consent/login-lookup/v1\x00" + token.encode("utf-8")).digest()


def login_kek(token: str) -> bytes:
    """The key that wraps the data key inside a login's row; it exists only in the cookie."""
    return _hkdf(token.encode("utf-8"), salt=None, info=b"consent/login-kek/v1")


# --- account e-mail lookup ------------------------------------------------------------


def email_lookup(email: str, key: bytes) -> bytes:
    """A keyed blind index of an account e-mail, so the database never holds the address.

    The address is folded to lower case first: people type their e-mail both ways.
    """
    return hmac.new(key, email.strip().lower().encode("utf-8"), hashlib.sha256).digest()


def attempts_key(purpose: str, email: str, key: bytes) -> bytes:
    """What failed attempts of one kind ("login", "reset") against one address are counted
    under: keyed like the account lookup, so the database holds no address."""
    message = purpose.encode() + b"\x00" + email.strip().lower().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def new_device_id() -> bytes:
    return secrets.token_bytes(16)


def _device_tag(device: bytes, email: str, key: bytes) -> bytes:
    message = b"consent/device/v1\x00" + device + email.strip().lower().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def device_mark(device: bytes, email: str, key: bytes) -> str:
    """What a browser keeps once it has logged in to ``email``: its device id with a tag
    that only the server can make, for that address. It names no address itself."""
    return (base64.urlsafe_b64encode(device + _device_tag(device, email, key))).decode("ascii").rstrip("=")


def device_of(mark: str, email: str, key: bytes) -> bytes | None:
    """The device id a mark carries when it was made for ``email``; None otherwise."""
    try:
        raw = base64.urlsafe_b64decode(mark + "=" * (-len(mark) % 4))
    except (ValueError, UnicodeEncodeError):
        return None
    device, tag = raw[:16], raw[16:]
    if len(device) != 16 or not hmac.compare_digest(tag, _device_tag(device, email, key)):
        return None
    return device


# --- links sent by e-mail ---------------------------------------------------------


def _link_key(purpose: str, secret: bytes) -> Fernet:
    key = _hkdf(secret, salt=None, info=b"consent/link/v1:" + purpose.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal_link(purpose: str, value: str, secret: bytes, *, now: datetime) -> str:
    """A token for a link sent by e-mail: ``value`` encrypted and authenticated for this
    ``purpose`` ("register", "email"), so the address it carries is unreadable in logs."""
    return _link_key(purpose, secret).encrypt_at_time(value.encode("utf-8"), int(now.timestamp())).decode("ascii")


def open_link(purpose: str, token: str, secret: bytes, *, now: datetime, max_age: timedelta) -> str | None:
    """The value a link's token carries, or None when it is altered, made for another
    purpose or instance, or older than ``max_age``."""
    try:
        value = _link_key(purpose, secret).decrypt_at_time(
            token.encode("ascii"), int(max_age.total_seconds()), int(now.timestamp())
        )
    except (InvalidToken, UnicodeEncodeError):
        return None
    return value.decode("utf-8")


# --- signing keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKeyPair:
    """An Ed25519 key pair as raw bytes; the private half never leaves memory unsealed."""

    public: bytes
    private: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> SigningKeyPair:
        key = Ed25519PrivateKey.generate()
        raw = serialization.Encoding.Raw
        return cls(
            public=key.public_key().public_bytes(raw, serialization.PublicFormat.Raw),
            private=key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()),
        )


def feed_kek(token: str) -> bytes:
    """The key a calendar feed's secret URL carries; it opens that feed and nothing else."""
    return _hkdf(token.encode("utf-8"), salt=None, info=b"consent/feed-kek/v1")
