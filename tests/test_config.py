"""Settings: defaults, then the TOML file, then CONSENT_* variables; no start without secrets."""

import secrets

import pytest

from consent import create_app
from consent.config import load
from consent.errors import ConfigError

KEY = secrets.token_hex(32)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ["CONSENT_SECRET_KEY", "CONSENT_EMAIL_LOOKUP_KEY", "CONSENT_DATABASE_URL", "CONSENT_CONFIG"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONSENT_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path


def test_app_refuses_to_start_without_a_secret_key(clean_env):
    with pytest.raises(ConfigError, match="secret_key must be a random value of at least 32 characters, got 0"):
        create_app()


def test_placeholder_secret_is_refused(clean_env):
    (clean_env / "config.toml").write_text(f'secret_key = "dev"\nemail_lookup_key = "{KEY}"\n')
    with pytest.raises(ConfigError, match="secret_key must be a random value"):
        load(clean_env)


def test_missing_email_lookup_key_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("CONSENT_SECRET_KEY", KEY)
    with pytest.raises(ConfigError, match="email_lookup_key"):
        load(clean_env)


def test_file_then_environment(clean_env, monkeypatch):
    (clean_env / "config.toml").write_text(
        f'secret_key = "{KEY}"\nemail_lookup_key = "{KEY}"\nlogin_idle_minutes = 5\ndefault_language = "fr"\n'
    )
    monkeypatch.setenv("CONSENT_LOGIN_IDLE_MINUTES", "7")
    monkeypatch.setenv("CONSENT_SESSION_COOKIE_SECURE", "true")
    settings = load(clean_env)
    assert settings["LOGIN_IDLE_MINUTES"] == 7  # environment wins over the file
    assert settings["DEFAULT_LANGUAGE"] == "fr"  # the file wins over the default
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["LOGIN_LIFETIME_HOURS"] == 12  # the default stands
    assert settings["DATABASE_URL"] == f"sqlite:///{clean_env / 'consent.db'}"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("secret_key = ", "not valid TOML"),
        ('secret_kee = "x"', "unknown setting 'secret_kee'"),
        ('login_idle_minutes = "soon"', "expected int for login_idle_minutes, got 'soon'"),
        ("session_cookie_secure = 3", "expected bool for session_cookie_secure, got 3"),
        ('default_language = "es"', "default_language: expected one of"),
        ("login_idle_minutes = 0", "login_idle_minutes: expected at least 1, got 0"),
        ("argon2_memory_kib = 4", "argon2_memory_kib: expected at least 8 KiB"),
    ],
)
def test_bad_settings_are_refused_with_their_reason(clean_env, toml, message):
    (clean_env / "config.toml").write_text(f'secret_key = "{KEY}"\nemail_lookup_key = "{KEY}"\n{toml}\n')
    with pytest.raises(ConfigError, match=message):
        load(clean_env)


def test_bad_environment_value_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("CONSENT_SECRET_KEY", KEY)
    monkeypatch.setenv("CONSENT_EMAIL_LOOKUP_KEY", KEY)
    monkeypatch.setenv("CONSENT_ARGON2_TIME_COST", "three")
    with pytest.raises(ConfigError, match="CONSENT_ARGON2_TIME_COST: expected int"):
        load(clean_env)


def test_example_config_documents_every_setting():
    from pathlib import Path

    from consent.config import DEFAULTS

    text = (Path(__file__).parents[1] / "config.example.toml").read_text()
    for key in DEFAULTS:
        assert f"\n{key.lower()} = " in text, key
