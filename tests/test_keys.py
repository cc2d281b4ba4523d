"""The key hierarchy on its own: wrap and unwrap, and each way it must refuse."""

import pytest

from consent import keys
from consent.errors import DecryptionError, WrongRecoveryCode
from consent.keys import Argon2Params, DataKey

CHEAP = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)
SALT = bytes(range(16))


def test_sealed_value_opens_with_the_same_key_and_context():
    key = DataKey.generate()
    sealed = key.seal(b"Ada Lovelace", aad=b"profiles.full_name:1")
    assert sealed[0] == 1 and b"Ada" not in sealed
    assert key.open(sealed, aad=b"profiles.full_name:1") == b"Ada Lovelace"


def test_sealing_twice_gives_different_ciphertexts():
    key = DataKey.generate()
    assert key.seal(b"x", aad=b"a") != key.seal(b"x", aad=b"a")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s[:-1] + bytes([s[-1] ^ 1]), "does not open"),
        (lambda s: s[:20] + bytes([s[20] ^ 0x80]) + s[21:], "does not open"),
        (lambda s: b"\x02" + s[1:], "unknown ciphertext format: expected 1, got 2"),
        (lambda s: s[:10], "ciphertext too short: expected at least 29 bytes, got 10"),
    ],
    ids=["tag", "body", "version", "truncated"],
)
def test_tampered_ciphertext_is_refused_with_its_reason(change, reason):
    key = DataKey.generate()
    sealed = key.seal(b"Ada Lovelace", aad=b"ctx")
    with pytest.raises(DecryptionError, match=reason):
        key.open(change(sealed), aad=b"ctx")


def test_ciphertext_moved_to_another_row_is_refused():
    key = DataKey.generate()
    sealed = key.seal(b"Ada", aad=b"profiles.full_name:1")
    with pytest.raises(DecryptionError):
        key.open(sealed, aad=b"profiles.full_name:2")


def test_other_key_cannot_open():
    sealed = DataKey.generate().seal(b"Ada", aad=b"ctx")
    with pytest.raises(DecryptionError):
        DataKey.generate().open(sealed, aad=b"ctx")


def test_password_wrapping_round_trip_and_wrong_password():
    dek = DataKey.generate()
    wrapped = dek.wrap_with(keys.password_kek("plum orchard lantern 42", SALT, CHEAP), aad=b"user-1")
    again = DataKey.unwrap(wrapped, keys.password_kek("plum orchard lantern 42", SALT, CHEAP), aad=b"user-1")
    assert again.seal(b"", aad=b"") and again._key == dek._key
    with pytest.raises(DecryptionError):
        DataKey.unwrap(wrapped, keys.password_kek("plum orchard lantern 43", SALT, CHEAP), aad=b"user-1")
    with pytest.raises(DecryptionError):
        DataKey.unwrap(wrapped, keys.password_kek("plum orchard lantern 42", bytes(16), CHEAP), aad=b"user-1")


def test_password_key_depends_on_cost():
    other = Argon2Params(time_cost=2, memory_kib=64, parallelism=1)
    assert keys.password_kek("pw", SALT, CHEAP) != keys.password_kek("pw", SALT, other)


def test_recovery_code_has_160_bits_in_groups_of_four():
    code = keys.new_recovery_code()
    groups = code.split("-")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    assert len(keys.normalize_recovery_code(code)) * 5 == 160
    assert keys.new_recovery_code() != code


def test_recovery_code_typed_loosely_still_opens():
    dek = DataKey.generate()
    code = "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ"
    wrapped = dek.wrap_with(keys.recovery_kek(code, SALT), aad=b"u")
    typed = " o123 4567 89ab cdef ghjk mnpq rstv wxyz "  # lower case, spaces, O for 0
    assert DataKey.unwrap(wrapped, keys.recovery_kek(typed, SALT), aad=b"u")._key == dek._key


def test_wrong_recovery_code_does_not_open():
    dek = DataKey.generate()
    wrapped = dek.wrap_with(keys.recovery_kek(keys.new_recovery_code(), SALT), aad=b"u")
    with pytest.raises(DecryptionError):
        DataKey.unwrap(wrapped, keys.recovery_kek(keys.new_recovery_code(), SALT), aad=b"u")


@pytest.mark.parametrize("code", ["", "ABCD", "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXY!", "U" * 32, "0" * 33])
def test_malformed_recovery_code_is_refused(code):
    with pytest.raises(WrongRecoveryCode, match="32 characters"):
        keys.normalize_recovery_code(code)


def test_login_token_lookup_and_key_are_unrelated_to_each_other():
    token = keys.new_login_token()
    assert len(token) >= 43
    assert keys.login_lookup(token) != keys.login_kek(token)
    assert keys.login_lookup(token) == keys.login_lookup(token)
    assert keys.login_lookup(keys.new_login_token()) != keys.login_lookup(token)


def test_email_lookup_folds_case_and_depends_on_the_key():
    key = b"k" * 32
    assert keys.email_lookup(" Ada@Example.org ", key) == keys.email_lookup("ada@example.org", key)
    assert keys.email_lookup("ada@example.org", b"j" * 32) != keys.email_lookup("ada@example.org", key)


def test_secrets_stay_out_of_repr():
    pair = keys.SigningKeyPair.generate()
    assert pair.private.hex() not in repr(pair)
    assert repr(DataKey.generate()) == "DataKey(<hidden>)"
    assert len(pair.public) == 32 and len(pair.private) == 32


def test_data_key_length_is_checked():
    with pytest.raises(ValueError, match="a data key is 32 bytes, got 16"):
        DataKey(bytes(16))


def test_argon2_params_round_trip():
    params = Argon2Params(3, 65536, 4)
    assert params.encode() == "t=3,m=65536,p=4"
    assert Argon2Params.decode(params.encode()) == params
