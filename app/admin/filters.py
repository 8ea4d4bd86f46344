"""List filters with Norwegian operation names; times typed in Oslo time, compared in UTC."""

from datetime import datetime, timedelta

from flask_admin.contrib.sqla import filters as sqla
from flask_admin.model import filters as base

from app.db_types import utcnow
from app.template_helpers import OSLO


class Er(sqla.FilterEqual):
    def operation(self):
        return "er"


class Inneholder(sqla.FilterLike):
    def operation(self):
        return "inneholder"


class IdEr(sqla.IntEqualFilter):
    def operation(self):
        return "er"


class JaNei(sqla.BooleanEqualFilter):
    def operation(self):
        return "er"


def _oslo_to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=OSLO)


class Etter(sqla.DateTimeGreaterFilter):
    """Typed in Oslo time (the picker has no zone); UTCDateTime columns want aware values."""

    def clean(self, value):
        return _oslo_to_utc(super().clean(value))

    def operation(self):
        return "etter"


class Foer(sqla.DateTimeSmallerFilter):
    def clean(self, value):
        return _oslo_to_utc(super().clean(value))

    def operation(self):
        return "før"


class Mellom(sqla.DateTimeBetweenFilter):
    def clean(self, value):
        return [_oslo_to_utc(v) for v in super().clean(value)]

    def operation(self):
        return "mellom"


class Valg(sqla.FilterEqual):
    """Equality with a fixed list of (value, Norwegian label) options."""

    def __init__(self, column, name, labels: dict):
        super().__init__(column, name, options=[(str(k), v) for k, v in labels.items()])

    def operation(self):
        return "er"


class AldriSynkronisert(sqla.BaseSQLAFilter, base.BaseBooleanFilter):
    """Clients never synced (Ja) or synced at least once (Nei)."""

    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(column.is_(None) if value == "1" else column.isnot(None))

    def operation(self):
        return "er"


class EldreEnnDager(sqla.BaseSQLAFilter, base.BaseIntFilter):
    """'Utdatert i N dager': data older than N days, or never synced at all."""

    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        cutoff = utcnow() - timedelta(days=int(value))
        return query.filter((column < cutoff) | column.is_(None))

    def operation(self):
        return "dager eller mer"
