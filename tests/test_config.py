import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.visma.simulator.state import DEMO_CLIENT_SECRET, DEMO_SERVICE_CLIENT_SECRET
from config import Config, ConfigError, ProductionConfig, TestConfig

RANDOM_SECRET_KEY = secrets.token_urlsafe(48)
RANDOM_FERNET_KEY = Fernet.generate_key().decode()


class BareProduction(ProductionConfig):
    SECRET_KEY = None
    TOKEN_ENCRYPTION_KEY = None
    SQLALCHEMY_DATABASE_URI = None
    VISMA_CLIENT_ID = None
    VISMA_CLIENT_SECRET = None
    TRIPLETEX_CONSUMER_TOKEN = None


class Complete(BareProduction):
    SECRET_KEY = RANDOM_SECRET_KEY
    TOKEN_ENCRYPTION_KEY = RANDOM_FERNET_KEY
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    VISMA_CLIENT_ID = "sticos"
    VISMA_CLIENT_SECRET = "a-real-secret-from-visma"
    TRIPLETEX_CONSUMER_TOKEN = "a-real-consumer-token"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(BareProduction, instance_path=str(tmp_path))


def test_production_names_each_missing_secret(tmp_path):
    class NoDatabase(BareProduction):
        SECRET_KEY = RANDOM_SECRET_KEY
        TOKEN_ENCRYPTION_KEY = RANDOM_FERNET_KEY

    with pytest.raises(ConfigError, match="DATABASE_URL is not set"):
        create_app(NoDatabase, instance_path=str(tmp_path))

    class NoVismaSecret(NoDatabase):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.db'}"
        VISMA_CLIENT_ID = "sticos"

    with pytest.raises(ConfigError, match="VISMA_CLIENT_SECRET is not set"):
        create_app(NoVismaSecret, instance_path=str(tmp_path))

    class NoTripletexToken(NoVismaSecret):
        VISMA_CLIENT_SECRET = "secret"

    with pytest.raises(ConfigError, match="TRIPLETEX_CONSUMER_TOKEN is not set"):
        create_app(NoTripletexToken, instance_path=str(tmp_path))


def test_production_starts_with_every_secret(tmp_path):
    app = create_app(Complete, instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TOKEN_ENCRYPTION_KEY", TestConfig.TOKEN_ENCRYPTION_KEY, "TOKEN_ENCRYPTION_KEY holds the repository's test key"),
        ("TOKEN_ENCRYPTION_KEY", f"{RANDOM_FERNET_KEY},{TestConfig.TOKEN_ENCRYPTION_KEY}", "TOKEN_ENCRYPTION_KEY holds"),
        ("VISMA_CLIENT_SECRET", DEMO_CLIENT_SECRET, "VISMA_CLIENT_SECRET is a test or demo value"),
        ("VISMA_SERVICE_CLIENT_SECRET", DEMO_SERVICE_CLIENT_SECRET,
         "VISMA_SERVICE_CLIENT_SECRET is a test or demo value"),
        ("SECRET_KEY", TestConfig.SECRET_KEY, "SECRET_KEY is a test or demo value"),
        ("SECRET_KEY", "x" * 40, "SECRET_KEY is not random enough"),
        ("SECRET_KEY", "abcdefghijklmnop" * 3, "SECRET_KEY is not random enough: a repeated pattern"),
        ("SECRET_KEY", "password1234" * 4, "SECRET_KEY is not random enough"),
        ("SECRET_KEY", "short-but-random-8f3a", "SECRET_KEY is not random enough: too short"),
    ],
    # Fixed ids: the random key in one case must not make xdist workers collect differently.
    ids=["test-fernet-key", "test-fernet-key-among-others", "demo-client-secret",
         "demo-service-secret", "test-secret-key", "one-character", "repeated-alphabet",
         "repeated-word", "too-short"],
)
def test_production_refuses_known_and_guessable_secrets(tmp_path, variable, value, message):
    with pytest.raises(ConfigError, match=message):
        create_app(Complete, instance_path=str(tmp_path), **{variable: value})


def test_production_refuses_them_from_the_environment_too(tmp_path):
    environment = {
        **os.environ, "APP_ENV": "production", "SECRET_KEY": RANDOM_SECRET_KEY,
        "TOKEN_ENCRYPTION_KEY": TestConfig.TOKEN_ENCRYPTION_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "VISMA_CLIENT_ID": "sticos",
        "VISMA_CLIENT_SECRET": "a-real-secret-from-visma",
        "TRIPLETEX_CONSUMER_TOKEN": "a-real-consumer-token",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
        env=environment, capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=60,
    )
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEY holds the repository's test key" in result.stdout + result.stderr


def test_an_unusable_encryption_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY is not a valid Fernet key"):
        create_app(TestConfig, instance_path=str(tmp_path), TOKEN_ENCRYPTION_KEY="not-a-key")


def test_development_generates_secrets_once_and_keeps_them(tmp_path):
    class Dev(Config):
        SECRET_KEY = None
        TOKEN_ENCRYPTION_KEY = None
        SQLALCHEMY_DATABASE_URI = None

    first = create_app(Dev, instance_path=str(tmp_path))
    second = create_app(Dev, instance_path=str(tmp_path))
    assert first.config["SECRET_KEY"] and first.config["TOKEN_ENCRYPTION_KEY"]
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["TOKEN_ENCRYPTION_KEY"] == first.config["TOKEN_ENCRYPTION_KEY"]
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'erpintegrasjon.db'}"
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0


def test_a_bad_number_in_the_environment_is_named(monkeypatch):
    from config import _env_int

    monkeypatch.setenv("WORKER_THREADS", "many")
    with pytest.raises(ConfigError, match="WORKER_THREADS must be a whole number"):
        _env_int("WORKER_THREADS", 2)


def test_a_bad_decimal_in_the_environment_is_named(monkeypatch):
    from config import _env_float

    monkeypatch.setenv("VISMA_BACKOFF_SECONDS", "halv")
    with pytest.raises(ConfigError, match="VISMA_BACKOFF_SECONDS must be a number"):
        _env_float("VISMA_BACKOFF_SECONDS", 0.5)


def test_the_cli_reports_a_bad_setting_without_a_traceback(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "production", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "current"],
        cwd=str(Path(__file__).resolve().parent.parent),
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode != 0
    assert "Configuration error: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
