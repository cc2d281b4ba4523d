import pytest

from consent.errors import WeakPassword
from consent.keys import Argon2Params
from consent.passwords import check_new_password, hasher, verify_password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "too_short"),
        ("short pass1", "too_short"),
        ("x" * 257, "too_long"),
        ("password1234", "too_common"),
        ("123456789012", "too_common"),
        ("qwertyuiopasdf", "too_common"),
        ("aaaaaaaaaaaaaaaa", "too_common"),
        ("iloveyou2024!", "too_common"),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(password, reason):
    with pytest.raises(WeakPassword) as caught:
        check_new_password(password)
    assert caught.value.reason == reason


def test_password_built_from_the_email_is_refused():
    with pytest.raises(WeakPassword) as caught:
        check_new_password("adalovelace1815", context=["adalovelace1815@example.org", "adalovelace1815"])
    assert caught.value.reason == "too_common"


@pytest.mark.parametrize(
    "password",
    [
        "plum orchard lantern 42",
        "Zq7!wP3#rT9x",
        "é" * 6 + "ß∂ƒ©˙∆˚¬",
        "a long passphrase " * 7 + "xy",
        "k" + "9Lm2$pQ8vR4&nW6" * 17,
    ],
)
def test_good_passwords_up_to_256_characters_are_accepted(password):
    assert len(password) <= 256
    check_new_password(password)


def test_128_character_password_is_accepted():
    check_new_password("Zq7!wP3#rT9x-uV1" * 8)


def test_hash_verifies_only_the_right_password():
    params = Argon2Params(1, 64, 1)
    stored = hasher(params).hash("plum orchard lantern 42")
    assert stored.startswith("$argon2id$")
    assert verify_password(params, stored, "plum orchard lantern 42")
    assert not verify_password(params, stored, "plum orchard lantern 43")
    assert not verify_password(params, "not a hash", "plum orchard lantern 42")
