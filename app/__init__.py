"""ErpIntegrasjon: the Flask application factory."""

import json
import logging
import os
import secrets

from cryptography.fernet import Fernet
from flask import Flask

from config import Config, ConfigError, config_from_environment


def create_app(
    config_class: type[Config] | None = None, *, instance_path: str | None = None, **overrides
) -> Flask:
    """Build the app. Order matters: config before extensions, extensions before blueprints."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    register_config(app, config_class or config_from_environment(), overrides)
    register_proxies(app)
    register_logging(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    # The admin panel reuses the login manager and the blueprints' templates.
    register_admin(app)
    register_commands(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_security_headers(app)
    return app


def register_config(app: Flask, config_class: type[Config], overrides: dict) -> None:
    app.config.from_object(config_class)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    # Production must name its database; a file in the instance folder is a development default.
    if not app.config.get("SQLALCHEMY_DATABASE_URI") and config_class.ENV_NAME != "production":
        path = os.path.join(app.instance_path, "erpintegrasjon.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if config_class.ENV_NAME == "development":
        register_secrets(app)
    config_class.validate(app.config)
    try:
        Fernet(app.config["TOKEN_ENCRYPTION_KEY"].split(",")[0].strip().encode())
    except (ValueError, AttributeError):
        raise ConfigError(
            "TOKEN_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes). "
            "Make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from None


def register_secrets(app: Flask) -> None:
    """Development only: generate missing secrets once and keep them in the instance folder."""
    path = os.path.join(app.instance_path, "dev-secrets.json")
    stored = {}
    if os.path.exists(path):
        with open(path) as fh:
            stored = json.load(fh)
    generators = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "TOKEN_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    }
    changed = False
    for key, generate in generators.items():
        if app.config.get(key):
            continue
        if key not in stored:
            stored[key] = generate()
            changed = True
        app.config[key] = stored[key]
    if changed:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)


def register_proxies(app: Flask) -> None:
    """Trust X-Forwarded-* from exactly the configured number of proxies, and no one else."""
    count = app.config["TRUSTED_PROXIES"]
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        # APScheduler logs every execution at INFO; the scheduler_job table is the record.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    from app import database, models  # noqa: F401  (models: the whole schema for Alembic)
    from app.auth import login  # noqa: F401  (registers the user loader)

    database.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.api.views import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.integrations.views import bp as integrations_bp
    from app.main.views import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(integrations_bp)
    app.register_blueprint(api_bp)


def register_jobs(app: Flask) -> None:
    """The queue runs the sync package's run kinds; a run's end updates the client's schedule.

    Wired here so that ``app.jobs`` imports neither package above it.
    """
    from app.integrations import schedule
    from app.jobs.executor import RunHooks, init_app
    from app.sync import execute_run

    init_app(app, RunHooks(executor=execute_run, after_success=schedule.after_run_succeeded,
                           after_failure=schedule.after_run_failed))


def register_admin(app: Flask) -> None:
    from app.admin import init_admin

    init_admin(app)


def register_commands(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.demo.cli import demo_cli
    from app.devserver import serve_command
    from app.jobs.cli import worker_command
    from app.sync.cli import sync_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(sync_cli)


def register_template_helpers(app: Flask) -> None:
    from app import template_helpers

    template_helpers.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from app.main import errors

    errors.init_app(app)


def register_security_headers(app: Flask) -> None:
    from app.main import security_headers

    security_headers.init_app(app)
