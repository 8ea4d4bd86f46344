"""WSGI entry point: `gunicorn wsgi:app` (production) or `flask --app wsgi …`."""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # A misconfiguration is the operator's to fix: say what is wrong, not where it was noticed.
    sys.exit(f"Configuration error: {exc}")
