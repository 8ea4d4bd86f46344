"""App factory for `flask worker` subprocesses in tests: the database URL and config overrides
come from the environment (JOBS_TEST_DATABASE_URL, JOBS_TEST_OVERRIDES as JSON)."""

import json
import os

from app import create_app
from config import TestConfig


def create():
    overrides = json.loads(os.environ.get("JOBS_TEST_OVERRIDES", "{}"))
    return create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=os.environ["JOBS_TEST_DATABASE_URL"], **overrides
    )
