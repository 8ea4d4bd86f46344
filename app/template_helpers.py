"""Jinja filters and globals: Oslo time, relative time, labels (also used by the presenters).

A module of the app root, below every package, like `db_types`: pages of every package
format times the same way.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask

OSLO = ZoneInfo("Europe/Oslo")


def oslo_time(value: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(OSLO).strftime(fmt)


def relative_time(value: datetime | None) -> str:
    """'for 5 min siden', 'om 2 t' — Norwegian, coarse, for freshness at a glance."""
    if value is None:
        return "aldri"
    seconds = (value - datetime.now(UTC)).total_seconds()
    ahead = seconds > 0
    seconds = abs(seconds)
    if seconds < 60:
        amount = "under ett minutt"
    elif seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 86400 * 2:
        amount = f"{int(seconds // 3600)} t"
    else:
        amount = f"{int(seconds // 86400)} dager"
    return f"om {amount}" if ahead else f"for {amount} siden"


def init_app(app: Flask) -> None:
    app.add_template_filter(oslo_time, "oslo")
    app.add_template_filter(relative_time, "relative")

    @app.context_processor
    def inject_globals():
        return {"visma_simulator": app.config.get("VISMA_SIMULATOR", False)}
