"""Settings: the defaults below, then the TOML file, then CONSENT_* environment variables.

Every setting is documented in config.example.toml, where its name is written in lower
case (``secret_key``); in the environment it is upper case behind ``CONSENT_``
(``CONSENT_SECRET_KEY``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from limits import parse_many

from consent.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": "",
    "EMAIL_LOOKUP_KEY": "",
    "DATABASE_URL": "",
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_KIB": 65536,
    "ARGON2_PARALLELISM": 4,
    "LOGIN_IDLE_MINUTES": 30,
    "LOGIN_LIFETIME_HOURS": 12,
    "LOGIN_MAX_FAILURES": 10,
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,
    "ARGON2_MAX_CONCURRENT": 2,
    "GUESSES_PER_ADDRESS": "20 per minute; 200 per hour",
    "REDIS_URL": "",
    "REQUIRE_SECOND_FACTOR": False,
    "DEFAULT_LANGUAGE": "en",
    "SESSION_COOKIE_SECURE": False,
    "TRUSTED_PROXIES": 0,
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "MAX_REPLY_FILE_BYTES": 5 * 1024 * 1024,
    "POST_DELIVERY_DAYS": 3,
    "SMTP_HOST": "",
    "SMTP_PORT": 587,
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": True,
    "SMTP_FROM": "",
    "PUBLIC_URL": "",
    "MAILS_PER_DAY": 20,
    "WITNESSES": [],
    "WITNESS_QUORUM": 0,
    "WITNESS_TIMEOUT_SECONDS": 5,
}

#: Keys long enough that guessing them is out of the question (256 bits in hex).
_MIN_SECRET_LENGTH = 32
#: The interface's languages, each named in itself (as a language menu shows it).
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "de": "Deutsch"}
LANGUAGES = tuple(LANGUAGE_NAMES)


def load(instance_path: Path, test_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The app's settings. Tests pass ``test_config``, which replaces file and environment."""
    settings = dict(DEFAULTS)
    if test_config is not None:
        settings.update(test_config)
    else:
        path = Path(os.environ.get("CONSENT_CONFIG", instance_path / "config.toml"))
        settings.update(_read_toml(path))
        settings.update(_read_environment(os.environ))
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance_path / 'consent.db'}"
    _check(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    settings = {}
    for name, value in data.items():
        key = name.upper()
        if key not in DEFAULTS:
            raise ConfigError(f"{path}: unknown setting {name!r}")
        settings[key] = _coerce(key, value, source=str(path))
    return settings


def _read_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    settings = {}
    for key in DEFAULTS:
        raw = environ.get(f"CONSENT_{key}")
        if raw is not None:
            settings[key] = _coerce(key, raw, source=f"CONSENT_{key}")
    return settings


def _coerce(key: str, value: Any, *, source: str) -> Any:
    """``value`` as the type of the default, or ConfigError."""
    default = DEFAULTS[key]
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
    elif isinstance(default, list):
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        if isinstance(value, str):  # from the environment: comma-separated
            return [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
    elif isinstance(value, str):
        return value
    raise ConfigError(f"{source}: expected {type(default).__name__} for {key.lower()}, got {value!r}")


def _check(settings: dict[str, Any]) -> None:
    for key in ("SECRET_KEY", "EMAIL_LOOKUP_KEY"):
        if len(settings[key]) < _MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{key.lower()} must be a random value of at least {_MIN_SECRET_LENGTH} characters, "
                f"got {len(settings[key])}; `make run` writes one into instance/config.toml, or run: "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
    if settings["DEFAULT_LANGUAGE"] not in LANGUAGES:
        raise ConfigError(f"default_language: expected one of {LANGUAGES}, got {settings['DEFAULT_LANGUAGE']!r}")
    for key in (
        "LOGIN_IDLE_MINUTES",
        "LOGIN_LIFETIME_HOURS",
        "ARGON2_TIME_COST",
        "ARGON2_PARALLELISM",
        "LOGIN_MAX_FAILURES",
        "LOGIN_FAILURE_WINDOW_MINUTES",
        "ARGON2_MAX_CONCURRENT",
        "MAILS_PER_DAY",
    ):
        if settings[key] < 1:
            raise ConfigError(f"{key.lower()}: expected at least 1, got {settings[key]}")
    try:
        parse_many(settings["GUESSES_PER_ADDRESS"])
    except ValueError:
        raise ConfigError(
            f"guesses_per_address: expected limits like '20 per minute; 200 per hour', "
            f"got {settings['GUESSES_PER_ADDRESS']!r}"
        ) from None
    if settings["REDIS_URL"] and not settings["REDIS_URL"].startswith(("redis://", "rediss://", "unix://")):
        # Not echoed: the address may carry the server's password.
        raise ConfigError("redis_url: expected an address starting redis://, rediss:// or unix://")
    if settings["SMTP_HOST"] and "@" not in settings["SMTP_FROM"]:
        raise ConfigError("smtp_from: expected the address the app sends from when smtp_host is set")
    if settings["SMTP_HOST"] and not settings["PUBLIC_URL"].startswith(("https://", "http://")):
        # Links in mails are never built from the request's Host header, which a client chooses.
        raise ConfigError("public_url: expected the app's address (https://...) when smtp_host is set")
    if not 0 <= settings["WITNESS_QUORUM"] <= len(settings["WITNESSES"]):
        raise ConfigError(
            f"witness_quorum: expected 0 (all) to {len(settings['WITNESSES'])} (the number of witnesses), "
            f"got {settings['WITNESS_QUORUM']}"
        )
    if settings["WITNESS_TIMEOUT_SECONDS"] < 1:
        raise ConfigError(f"witness_timeout_seconds: expected at least 1, got {settings['WITNESS_TIMEOUT_SECONDS']}")
    if settings["ARGON2_MEMORY_KIB"] < 8 * settings["ARGON2_PARALLELISM"]:
        raise ConfigError("argon2_memory_kib: expected at least 8 KiB per lane of argon2_parallelism")
