"""Per-dialect engine tuning that SQLAlchemy's URL cannot express."""

from flask import Flask
from sqlalchemy import event

from app.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    # Cascading deletes (integration → clients → synced data) need foreign keys on.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Web requests, the worker and the scheduler share one file: readers must not block writers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
