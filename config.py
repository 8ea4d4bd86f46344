"""Configuration read from the environment: development, test and production variants."""

import os


class ConfigError(RuntimeError):
    """A configuration value is missing or unusable; the message says which and why."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}.")


class Config:
    """Development defaults; every value can be overridden from the environment.

    Secrets left unset are generated once and kept in the instance folder (see
    ``app.register_secrets``) so a restart keeps sessions and stored tokens readable.
    """

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # One or more Fernet keys, comma-separated: the first encrypts, all decrypt (key rotation).
    TOKEN_ENCRYPTION_KEY = os.environ.get("TOKEN_ENCRYPTION_KEY")
    # None means "a SQLite file in the instance folder", resolved by the factory.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch must still submit

    # Failed-login throttling within the window: per (e-mail, IP) pair, and a far higher
    # ceiling per IP (an office behind one address must not lock its own users out).
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_MAX_FAILURES_PER_IP = _env_int("LOGIN_MAX_FAILURES_PER_IP", 100)
    LOGIN_FAILURE_WINDOW_SECONDS = _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host; 0 trusts none
    # (a client could otherwise pick its own IP and dodge the login throttle).
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    # Visma.net (Visma Connect + ERP API). Defaults are the real services.
    VISMA_CONNECT_URL = os.environ.get("VISMA_CONNECT_URL", "https://connect.visma.com")
    VISMA_API_URL = os.environ.get("VISMA_API_URL", "https://api.finance.visma.net")
    # Two Developer Portal applications: the interactive one (users sign in, consent, list
    # their companies) and the service one (client_credentials + tenant_id, reads the ERP API).
    # The service pair defaults to the interactive pair (one application allowed both grants).
    VISMA_CLIENT_ID = os.environ.get("VISMA_CLIENT_ID")
    VISMA_CLIENT_SECRET = os.environ.get("VISMA_CLIENT_SECRET")
    VISMA_SERVICE_CLIENT_ID = os.environ.get("VISMA_SERVICE_CLIENT_ID")
    VISMA_SERVICE_CLIENT_SECRET = os.environ.get("VISMA_SERVICE_CLIENT_SECRET")
    VISMA_SERVICE_SCOPE = os.environ.get("VISMA_SERVICE_SCOPE", "vismanet_erp_service_api:read")
    # Set by `make run` when the app talks to the bundled simulator; pages then say so.
    VISMA_SIMULATOR = _env_bool("VISMA_SIMULATOR", False)
    VISMA_HTTP_TIMEOUT_SECONDS = _env_int("VISMA_HTTP_TIMEOUT_SECONDS", 30)
    # Retries of 5xx/timeouts (attempts, first back-off) and the longest single wait we accept
    # for a 429's Retry-After or the rate budget before failing the run as throttled.
    VISMA_MAX_ATTEMPTS = _env_int("VISMA_MAX_ATTEMPTS", 5)
    VISMA_BACKOFF_SECONDS = _env_float("VISMA_BACKOFF_SECONDS", 0.5)
    VISMA_MAX_WAIT_SECONDS = _env_int("VISMA_MAX_WAIT_SECONDS", 300)
    # Pages of one stream fetched at once (per client; within its rate-limit budget).
    VISMA_PAGE_CONCURRENCY = _env_int("VISMA_PAGE_CONCURRENCY", 4)
    # Visma Connect app settings: a refresh token dies when unused this long / after this long.
    VISMA_REFRESH_SLIDING_DAYS = _env_int("VISMA_REFRESH_SLIDING_DAYS", 30)
    VISMA_REFRESH_ABSOLUTE_DAYS = _env_int("VISMA_REFRESH_ABSOLUTE_DAYS", 365)
    # The app's grace period for used one-time refresh tokens (Visma Connect: 5-60 s; 0 = off).
    # A refresh whose answer was lost is retried only inside it; 0 never presents a refresh
    # token twice (the integration then asks to be reconnected instead of risking a replay).
    VISMA_REFRESH_GRACE_SECONDS = _env_int("VISMA_REFRESH_GRACE_SECONDS", 0)
    # Tripletex API v2: our application's consumer token (one for all customers; each customer
    # pastes its own employee key) and the API root (test: https://api-test.tripletex.tech/v2).
    TRIPLETEX_CONSUMER_TOKEN = os.environ.get("TRIPLETEX_CONSUMER_TOKEN")
    TRIPLETEX_API_URL = os.environ.get("TRIPLETEX_API_URL", "https://tripletex.no/v2")
    # Retries of Tripletex's 5xx/timeouts: attempts and the first back-off (doubling, jittered).
    TRIPLETEX_MAX_ATTEMPTS = _env_int("TRIPLETEX_MAX_ATTEMPTS", 5)
    TRIPLETEX_BACKOFF_SECONDS = _env_float("TRIPLETEX_BACKOFF_SECONDS", 0.5)
    # Incremental syncs re-read this far behind their bookmark (clock skew between Visma's
    # servers, late commits); the rows stamped at the bookmark itself are always re-read.
    SYNC_LOOKBACK_SECONDS = _env_int("SYNC_LOOKBACK_SECONDS", 60)

    # How often an integration's page asks for its runs' status while work runs.
    STATUS_POLL_SECONDS = _env_float("STATUS_POLL_SECONDS", 2.0)

    # Read API (/api/v1): requests per minute per API key before 429 Too Many Requests.
    API_RATE_LIMIT_PER_MINUTE = _env_int("API_RATE_LIMIT_PER_MINUTE", 600)

    # Background work.
    SCHEDULER_ENABLED = _env_bool("SCHEDULER_ENABLED", True)
    SCHEDULER_TIMEZONE = os.environ.get("SCHEDULER_TIMEZONE", "Europe/Oslo")
    WORKER_THREADS = _env_int("WORKER_THREADS", 2)
    SYNC_INTERVAL_MINUTES = _env_int("SYNC_INTERVAL_MINUTES", 60)
    CLIENT_REFRESH_HOUR = _env_int("CLIENT_REFRESH_HOUR", 5)
    RUN_LEASE_SECONDS = _env_int("RUN_LEASE_SECONDS", 120)
    RUN_MAX_ATTEMPTS = _env_int("RUN_MAX_ATTEMPTS", 3)
    MAX_RUNNING_PER_INTEGRATION = _env_int("MAX_RUNNING_PER_INTEGRATION", 2)
    FAILURES_BEFORE_ATTENTION = _env_int("FAILURES_BEFORE_ATTENTION", 3)
    FAILURES_BEFORE_PAUSE = _env_int("FAILURES_BEFORE_PAUSE", 6)
    # Queue and scheduler tuning (app/jobs).
    WORKER_POLL_SECONDS = _env_int("WORKER_POLL_SECONDS", 2)
    WORKER_SHUTDOWN_GRACE_SECONDS = _env_int("WORKER_SHUTDOWN_GRACE_SECONDS", 30)
    RUN_RETRY_BACKOFF_SECONDS = _env_int("RUN_RETRY_BACKOFF_SECONDS", 60)
    SCHEDULER_TICK_SECONDS = _env_int("SCHEDULER_TICK_SECONDS", 60)
    SCHEDULER_LEADER_RETRY_SECONDS = _env_int("SCHEDULER_LEADER_RETRY_SECONDS", 15)
    GRANT_KEEPALIVE_DAYS = _env_int("GRANT_KEEPALIVE_DAYS", 7)
    RUN_HISTORY_DAYS_SUCCEEDED = _env_int("RUN_HISTORY_DAYS_SUCCEEDED", 30)
    RUN_HISTORY_DAYS_FAILED = _env_int("RUN_HISTORY_DAYS_FAILED", 180)

    @classmethod
    def validate(cls, config: dict) -> None:
        """Raise ConfigError for values that would only fail later, deep inside a request."""
        if config["WORKER_THREADS"] < 0:
            raise ConfigError("WORKER_THREADS must be 0 or more.")
        if not 0 <= config["VISMA_REFRESH_GRACE_SECONDS"] <= 3600:
            raise ConfigError("VISMA_REFRESH_GRACE_SECONDS must be 0 (no grace) to 3600 seconds.")
        if config["TRUSTED_PROXIES"] < 0:
            raise ConfigError("TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies.")
        if config["VISMA_PAGE_CONCURRENCY"] < 1:
            raise ConfigError("VISMA_PAGE_CONCURRENCY must be 1 or more.")
        if not 0 <= config["CLIENT_REFRESH_HOUR"] <= 23:
            raise ConfigError("CLIENT_REFRESH_HOUR must be an hour between 0 and 23.")


class TestConfig(Config):
    """For the test suite: fast hashing, no scheduler, CSRF on (tests prove it is enforced)."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    TOKEN_ENCRYPTION_KEY = "mMS7BlMl9kXm-7vhC2ey2d3VvJzpl0zZ2zOMG4yMzs8="
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SCHEDULER_ENABLED = False
    WORKER_THREADS = 0
    VISMA_CLIENT_ID = "sticos-regnskapsdata-demo"
    VISMA_CLIENT_SECRET = "demo-secret"
    VISMA_SERVICE_CLIENT_ID = "sticos-regnskapsdata-service"
    VISMA_SERVICE_CLIENT_SECRET = "demo-service-secret"
    TRIPLETEX_CONSUMER_TOKEN = "test-sticos-consumer-demo"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Browser tests wait for background work as the page shows it: poll often.
    STATUS_POLL_SECONDS = 0.5


# Secrets that are public because they are in this repository (tests, the demo, the
# simulator's demo app): production refuses each of them.
PUBLIC_SECRETS = {
    TestConfig.SECRET_KEY,
    TestConfig.TOKEN_ENCRYPTION_KEY,
    TestConfig.VISMA_CLIENT_SECRET,  # the simulator's DEMO_CLIENT_SECRET
    TestConfig.VISMA_SERVICE_CLIENT_SECRET,  # the simulator's DEMO_SERVICE_CLIENT_SECRET
    TestConfig.TRIPLETEX_CONSUMER_TOKEN,  # the Tripletex simulator's demo consumer token
}
MIN_SECRET_KEY_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 12


def _weak_secret_reason(value: str) -> str | None:
    """Why a SECRET_KEY is guessable, or None. Random keys of 32+ characters never trip this."""
    if len(value) < MIN_SECRET_KEY_LENGTH:
        return f"too short: use at least {MIN_SECRET_KEY_LENGTH} random characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return "too few different characters"
    for period in range(1, len(value) // 2 + 1):
        if value == (value[:period] * (len(value) // period + 1))[: len(value)]:
            return f"a repeated pattern ({value[:period]!r}…)"
    return None


class ProductionConfig(Config):
    """Refuses to start without real secrets, and names the missing or public one."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REQUIRED = (
        "SECRET_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "SQLALCHEMY_DATABASE_URI",
        "VISMA_CLIENT_ID",
        "VISMA_CLIENT_SECRET",
        "TRIPLETEX_CONSUMER_TOKEN",
    )
    ENV_NAMES = {"SQLALCHEMY_DATABASE_URI": "DATABASE_URL"}

    @classmethod
    def validate(cls, config: dict) -> None:
        super().validate(config)
        for key in cls.REQUIRED:
            if not config.get(key):
                name = cls.ENV_NAMES.get(key, key)
                raise ConfigError(f"{name} is not set: production needs a real value for it.")
        for key in ("SECRET_KEY", "VISMA_CLIENT_SECRET", "VISMA_SERVICE_CLIENT_SECRET",
                    "TRIPLETEX_CONSUMER_TOKEN"):
            if config.get(key) in PUBLIC_SECRETS:
                raise ConfigError(f"{key} is a test or demo value from the repository: set a real one.")
        for fernet_key in config["TOKEN_ENCRYPTION_KEY"].split(","):
            if fernet_key.strip() in PUBLIC_SECRETS:
                raise ConfigError(
                    "TOKEN_ENCRYPTION_KEY holds the repository's test key: anyone can decrypt "
                    "tokens stored with it. Make a new key (see README)."
                )
        reason = _weak_secret_reason(config["SECRET_KEY"])
        if reason:
            raise ConfigError(f"SECRET_KEY is not random enough: {reason}.")


CONFIGS = {"development": Config, "production": ProductionConfig, "test": TestConfig}


def config_from_environment() -> type[Config]:
    name = os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"APP_ENV must be one of {', '.join(sorted(CONFIGS))}, got {name!r}."
        ) from None
