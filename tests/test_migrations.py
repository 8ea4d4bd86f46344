"""The migrations and the models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from config import TestConfig


def _diff_after_upgrade(database_url: str) -> list:
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return diff


def test_sqlite_migrations_match_the_models(tmp_path):
    assert _diff_after_upgrade(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_postgres_migrations_match_the_models(empty_postgres_url):
    assert _diff_after_upgrade(empty_postgres_url) == []


def _one_row_per_synced_table(client_id: int) -> None:
    """A row in every synced table for ``client_id`` (each column's type decides its value)."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from sqlalchemy import insert

    from app.accounting.models import SYNCED_MODELS

    for model in SYNCED_MODELS.values():
        row = {}
        for column in model.__table__.columns:
            if column.primary_key:
                continue
            try:
                kind = column.type.python_type
            except NotImplementedError:  # UTCDateTime
                kind = datetime
            row[column.name] = {str: "1", int: 1, bool: True, Decimal: Decimal("1.00"),
                                date: date(2026, 1, 1), datetime: datetime(2026, 1, 1, tzinfo=UTC),
                                dict: {}}.get(kind)
        row["client_id"] = client_id
        db.session.execute(insert(model).values(**row))


def _synced_rows(client_id: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from app.accounting.models import SYNCED_MODELS

    return {name: db.session.scalar(select(func.count()).select_from(model).where(
        model.client_id == client_id)) for name, model in SYNCED_MODELS.items()}


def _deleting_a_client_deletes_its_synced_rows(database_url: str) -> None:
    """Through the migrations: the synced tables have no foreign key to ``client``; the
    trigger removes a deleted client's rows in every one of them, and no other client's."""
    from tests.factories import ClientFactory

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        upgrade()
        gone, kept = ClientFactory(), ClientFactory()
        db.session.commit()
        gone_id, kept_id = gone.id, kept.id
        for client_id in (gone_id, kept_id):
            _one_row_per_synced_table(client_id)
        db.session.commit()
        db.session.delete(gone.integration)  # the database cascades to its clients
        db.session.commit()
        assert set(_synced_rows(gone_id).values()) == {0}
        assert set(_synced_rows(kept_id).values()) == {1}
        db.session.remove()
        db.engine.dispose()


def test_sqlite_deleting_a_client_deletes_its_synced_rows(tmp_path):
    _deleting_a_client_deletes_its_synced_rows(f"sqlite:///{tmp_path / 'm.db'}")


def test_postgres_deleting_a_client_deletes_its_synced_rows(empty_postgres_url):
    _deleting_a_client_deletes_its_synced_rows(empty_postgres_url)
