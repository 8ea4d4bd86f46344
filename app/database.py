"""Per-dialect engine tuning that SQLAlchemy's URL cannot express, and how database outages
and errors are recognised, named and logged."""

import logging
import threading
import time

from flask import Flask
from sqlalchemy import event

from app.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    # A connection opened after the outage began is the proof that the database is back: after
    # a disconnect the pool drops every older connection, and a query that merely finished on
    # one (or a handshake that began before the outage) proves nothing.
    event.listen(engine, "do_connect", _note_connect_start)
    event.listen(engine, "connect", _note_connected)


def _note_connect_start(dialect, connection_record, cargs, cparams) -> None:
    connection_record.info["connect_started"] = time.monotonic()


def _note_connected(dbapi_connection, connection_record) -> None:
    outage_log.succeeded(connection_record.info.get("connect_started"))


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    # Cascading deletes (integration → clients → synced data) need foreign keys on.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Web requests, the worker and the scheduler share one file: readers must not block writers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# --- outages and database errors -------------------------------------------------------------

# Seconds a client is asked to wait (Retry-After) while the database cannot be reached.
RETRY_AFTER_SECONDS = 30

# PostgreSQL SQLSTATEs (class 53: insufficient resources; 08: connection; 57P: shutdown) and
# SQLite's texts, in the words a user reads in a run's error text.
_SQLSTATE_WORDS = {
    "53100": "databasens disk er full",
    "53200": "databasen er tom for minne",
    "53300": "databasen tar ikke imot flere tilkoblinger",
    "57P01": "databasen ble stoppet",
    "57P02": "databasen ble stoppet",
    "57P03": "databasen starter opp og tar ikke imot tilkoblinger ennå",
}
_SQLITE_WORDS = {
    "database or disk is full": "databasens disk er full",
    "database is locked": "databasen var låst av en annen skriver for lenge",
    "disk i/o error": "databasen fikk en lese- eller skrivefeil på disken",
    "unable to open database file": "databasefilen kunne ikke åpnes",
}


# Conditions in which the database cannot work for now, whatever the statement: PostgreSQL
# SQLSTATE classes (08 connection, 53 resources, 57P shutdown, 58 system) and SQLite's codes.
_OUTAGE_SQLSTATE_PREFIXES = ("08", "53", "57P", "58")
_OUTAGE_SQLITE_CODES = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_BUSY")


def is_outage(error: BaseException) -> bool:
    """True when the error means the database cannot be reached or cannot work right now
    (refused or lost connection, pool exhausted, disk full), not that a statement was wrong."""
    from sqlalchemy import exc

    if isinstance(error, exc.TimeoutError | exc.DisconnectionError):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    sqlite_code = getattr(original, "sqlite_errorname", None)
    if sqlite_code is not None:
        return sqlite_code.startswith(_OUTAGE_SQLITE_CODES)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(_OUTAGE_SQLSTATE_PREFIXES)
    # psycopg reports a refused or broken connection without a SQLSTATE.
    return isinstance(error, exc.OperationalError | exc.InterfaceError)


def describe_database_error(error: BaseException) -> str | None:
    """What went wrong in the database, in Norwegian, for a run's error text; None when the
    error did not come from the database."""
    from sqlalchemy import exc

    if isinstance(error, exc.TimeoutError):
        return "databasen hadde ingen ledig tilkobling"
    if not isinstance(error, exc.DBAPIError):
        return None
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or ""
    text_ = str(original).strip().splitlines()[0] if str(original).strip() else ""
    words = _SQLSTATE_WORDS.get(sqlstate) or next(
        (words for fragment, words in _SQLITE_WORDS.items() if fragment in text_.lower()), None
    )
    if words is None and (sqlstate.startswith("08") or error.connection_invalidated):
        words = "forbindelsen til databasen ble brutt"
    refused = not sqlstate and type(original).__module__.startswith("psycopg")
    if words is None and refused and isinstance(error, exc.OperationalError | exc.InterfaceError):
        words = "databasen kunne ikke nås"  # the server refused or never answered
    if words is None:
        words = "databasen avviste en operasjon"
    return f"{words[0].upper()}{words[1:]} ({type(original).__name__}: {text_[:200]})"


class OutageLog:
    """One log line when the database goes away and one when it is back, however many
    threads poll it meanwhile: an outage must not bury the log in tracebacks."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self._lock = threading.Lock()
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException, doing: str) -> bool:
        """Note a failure; True if it was an outage (logged once), False if the caller should
        report it as the error it is."""
        if not is_outage(error):
            return False
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
                self.logger.error(
                    "Database unreachable while %s (%s); retrying quietly until it is back",
                    doing, describe_database_error(error) or type(error).__name__,
                )
        return True

    def succeeded(self, started_at: float | None = None) -> None:
        """The database answered an attempt begun at ``started_at`` (monotonic): back, unless
        that attempt began before the outage did."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None and (started_at or 0) >= self._down_since:
                self.logger.warning(
                    "Database reachable again after %.0f s", time.monotonic() - self._down_since
                )
                self._down_since = None


# One per process: the worker threads, heartbeats and the scheduler share one state.
outage_log = OutageLog(logging.getLogger("app.database"))
