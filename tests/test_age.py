"""consent/age.py against pyrage (both ways) and against damaged files: every refusal is an
AgeError with its reason, and nothing but a prefix is ever written before it."""

from __future__ import annotations

import hashlib
import hmac
import io
import os

import pyrage
import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from pyrage import passphrase as pyrage_passphrase
from pyrage import x25519

from consent import age

PASSPHRASE = "seven lanterns over the bay"
FAST = 10  # scrypt at 2^10 in the tests: the format is the same, the cost is not

SIZES = [0, 1, age.CHUNK - 1, age.CHUNK, age.CHUNK + 1, 3 * age.CHUNK, 3 * age.CHUNK + 17]


def _log_n(sealed: bytes) -> int:
    return int(sealed.split(b"\n")[1].split(b" ")[3])


@pytest.mark.parametrize("size", SIZES)
def test_pyrage_opens_what_it_writes_and_it_opens_itself(size):
    plaintext = os.urandom(size)
    sealed = age.encrypt(plaintext, PASSPHRASE, log_n=FAST)
    assert sealed.startswith(b"age-encryption.org/v1\n-> scrypt ") and _log_n(sealed) == FAST
    assert pyrage_passphrase.decrypt(sealed, PASSPHRASE) == plaintext
    assert age.decrypt(sealed, PASSPHRASE) == plaintext
    chunks = max(1, -(-size // age.CHUNK))  # an empty file is one empty chunk
    header = sealed.index(b"\n", sealed.index(b"\n---") + 1) + 1 + 16
    assert len(sealed) - header == size + 16 * chunks


def test_the_default_work_factor_is_2_18():
    sealed = age.encrypt(b"secret", PASSPHRASE)
    assert _log_n(sealed) == age.SCRYPT_LOG_N == 18
    assert pyrage_passphrase.decrypt(sealed, PASSPHRASE) == b"secret"


def test_it_opens_what_pyrage_writes():
    """pyrage picks its own work factor (2^20 measured here): opened within the cap."""
    plaintext = os.urandom(2 * age.CHUNK + 5)
    sealed = pyrage_passphrase.encrypt(plaintext, PASSPHRASE)
    assert age.decrypt(sealed, PASSPHRASE, max_log_n=max(age.MAX_LOG_N, _log_n(sealed))) == plaintext


def test_a_file_for_an_x25519_recipient_is_refused_with_a_clear_message():
    identity = x25519.Identity.generate()
    sealed = pyrage.encrypt(b"for a key", [identity.to_public()])
    with pytest.raises(age.AgeError, match=r"encrypted to a key .*not with a passphrase") as refused:
        age.decrypt(sealed, PASSPHRASE)
    assert refused.value.reason == "recipient"


def test_a_wrong_passphrase_is_refused():
    sealed = age.encrypt(b"secret", PASSPHRASE, log_n=FAST)
    with pytest.raises(age.AgeError, match="the passphrase does not open this file") as refused:
        age.decrypt(sealed, "another passphrase entirely")
    assert refused.value.reason == "passphrase"


@pytest.mark.parametrize("size", [0, 100, age.CHUNK, 3 * age.CHUNK + 17])
def test_a_file_cut_anywhere_is_refused(size):
    sealed = age.encrypt(os.urandom(size), PASSPHRASE, log_n=FAST)
    header_end = sealed.index(b"\n", sealed.index(b"\n---") + 1) + 1
    cuts = {5, header_end - 3, header_end, header_end + 10, header_end + 16, len(sealed) - 1}
    cuts |= {header_end + 16 + n * (age.CHUNK + 16) for n in range(1, size // age.CHUNK + 1)}  # chunk boundaries
    for cut in sorted(c for c in cuts if 0 < c < len(sealed)):
        out = io.BytesIO()
        with pytest.raises(age.AgeError) as refused:
            age.decrypt_stream(io.BytesIO(sealed[:cut]), out, PASSPHRASE)
        assert refused.value.reason in ("header", "payload"), (cut, refused.value)
        # Nothing written but chunks that verified (at most what precedes the cut):
        assert len(out.getvalue()) <= max(0, cut - header_end - 16)


def test_a_damaged_payload_is_refused():
    sealed = bytearray(age.encrypt(os.urandom(2 * age.CHUNK), PASSPHRASE, log_n=FAST))
    sealed[-100] ^= 1
    with pytest.raises(age.AgeError, match="cut short or damaged") as refused:
        age.decrypt(bytes(sealed), PASSPHRASE)
    assert refused.value.reason == "payload"


def _handmade(chunks: list[tuple[bytes, bool]]) -> bytes:
    """An age file with the chunks given, each marked last or not as given."""
    file_key, salt = os.urandom(16), os.urandom(16)
    wrapped = ChaCha20Poly1305(age._scrypt(PASSPHRASE, salt, FAST)).encrypt(bytes(12), file_key, None)
    header = b"age-encryption.org/v1\n-> scrypt %s %d\n%s\n---" % (
        age._b64(salt).encode(),
        FAST,
        age._b64(wrapped).encode(),
    )
    mac = hmac.new(age._hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = os.urandom(16)
    payload = ChaCha20Poly1305(age._hkdf(file_key, nonce, b"payload"))
    body = b"".join(payload.encrypt(age._nonce(n, last), chunk, None) for n, (chunk, last) in enumerate(chunks))
    return header + b" " + age._b64(mac).encode() + b"\n" + nonce + body


def test_chunks_marked_wrongly_are_refused():
    full = os.urandom(age.CHUNK)
    assert age.decrypt(_handmade([(full, True)]), PASSPHRASE) == full  # the helper is right
    assert pyrage_passphrase.decrypt(_handmade([(full, True)]), PASSPHRASE) == full
    refusals = {
        "an empty last chunk": [(full, False), (b"", True)],  # the spec: only for an empty file
        "cut short or damaged": [(b"abc", False)],  # never marked last: cut at a chunk's end
    }
    for message, chunks in refusals.items():
        with pytest.raises(age.AgeError, match=message) as refused:
            age.decrypt(_handmade(chunks), PASSPHRASE)
        assert refused.value.reason == "payload"
    with pytest.raises(age.AgeError, match="cut short or damaged"):  # a last chunk, then more
        age.decrypt(_handmade([(full, True), (b"abc", True)]), PASSPHRASE)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda h: h.replace(b"-> scrypt ", b"-> scrypt  "), "header"),
        (lambda h: h.replace(b" 10\n", b" 11\n"), "passphrase"),  # another key: the wrap fails
        (lambda h: h.replace(b"age-encryption.org/v1", b"age-encryption.org/v2"), "header"),
        (lambda h: h[:-2] + (b"A" if h[-2:-1] != b"A" else b"B") + b"\n", "header"),  # the MAC
        (lambda h: h.replace(b"\n---", b"\n-> extra stanza\n---"), "header"),
    ],
)
def test_an_edited_header_is_refused(edit, reason):
    sealed = age.encrypt(b"secret", PASSPHRASE, log_n=FAST)
    header_end = sealed.index(b"\n", sealed.index(b"\n---") + 1) + 1
    edited = edit(sealed[:header_end]) + sealed[header_end:]
    assert edited != sealed
    with pytest.raises(age.AgeError) as refused:
        age.decrypt(edited, PASSPHRASE)
    assert refused.value.reason == reason, refused.value


def test_a_header_changed_with_the_passphrase_known_is_refused_by_its_mac():
    """One file's header with another file's MAC (both well formed): the HMAC refuses it."""
    one = age.encrypt(b"secret", PASSPHRASE, log_n=FAST)
    other = age.encrypt(b"secret", PASSPHRASE, log_n=FAST)
    end_one = one.index(b"\n", one.index(b"\n---") + 1) + 1
    end_other = other.index(b"\n", other.index(b"\n---") + 1) + 1
    mixed = one[: one.index(b"\n---") + 4] + other[other.index(b"\n---") + 4 : end_other] + one[end_one:]
    with pytest.raises(age.AgeError, match="header was changed") as refused:
        age.decrypt(mixed, PASSPHRASE)
    assert refused.value.reason == "header"


def test_a_work_factor_above_the_cap_is_refused_before_any_scrypt():
    sealed = age.encrypt(b"secret", PASSPHRASE, log_n=FAST)
    costly = sealed.replace(b" 10\n", b" 21\n", 1)
    with pytest.raises(age.AgeError, match=r"at most 2\^20, got 2\^21") as refused:
        age.decrypt(costly, PASSPHRASE)  # 2^21 would be 2 GiB: refused at once, not tried
    assert refused.value.reason == "work_factor"
    with pytest.raises(age.AgeError, match=r"at most 2\^9, got 2\^10"):
        age.decrypt(sealed, PASSPHRASE, max_log_n=9)
    with pytest.raises(ValueError, match="2\\^21"):
        age.encrypt(b"secret", PASSPHRASE, log_n=21)


def test_more_than_the_limit_is_refused():
    sealed = age.encrypt(os.urandom(age.CHUNK + 10), PASSPHRASE, log_n=FAST)
    assert len(age.decrypt(sealed, PASSPHRASE, limit=age.CHUNK + 10)) == age.CHUNK + 10
    with pytest.raises(age.AgeError, match=f"at most {age.CHUNK + 9} bytes") as refused:
        age.decrypt(sealed, PASSPHRASE, limit=age.CHUNK + 9)
    assert refused.value.reason == "too_large"


def test_streams_a_chunk_at_a_time():
    class Counting(io.BytesIO):
        largest = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            Counting.largest = max(Counting.largest, len(data))
            return data

    plaintext = os.urandom(5 * age.CHUNK)
    sealed = io.BytesIO()
    age.encrypt_stream(Counting(plaintext), sealed, PASSPHRASE, log_n=FAST)
    assert Counting.largest == age.CHUNK
    Counting.largest = 0
    out = io.BytesIO()
    assert age.decrypt_stream(Counting(sealed.getvalue()), out, PASSPHRASE) == len(plaintext)
    assert out.getvalue() == plaintext and Counting.largest <= age.CHUNK + 16
