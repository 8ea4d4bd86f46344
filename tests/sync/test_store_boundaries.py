"""The store is the one writer of synced data, and every system fills the registry's data sets."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from app.accounting.models import BY_NAME, DATASETS, SYNCED_MODELS
from app.sync.engine import READERS
from app.tripletex import datasets as tripletex_datasets

APP = Path(__file__).resolve().parents[2] / "app"
STORE = APP / "accounting" / "store.py"
WRITES = {"delete", "insert", "update"}
GUARDED = {model.__name__ for model in SYNCED_MODELS.values()} | {"Organization", "DatasetState"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _writes_outside_the_store() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path == STORE or "simulator" in path.parts:
            continue
        sync_package = path.parent == APP / "sync"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            called = _name(node.func)
            target = _name(node.args[0]) if node.args else None
            where = f"{path.relative_to(APP.parent)}:{node.lineno}"
            statement = isinstance(node.func, ast.Name) and called in WRITES  # SQLAlchemy's
            if statement and (sync_package or target in GUARDED):
                found.append(f"{where} {called}({target})")
            elif called in GUARDED and path.name != "models.py":
                found.append(f"{where} {called}(…)")
    return found


def test_only_the_store_deletes_inserts_updates_or_creates_synced_rows():
    assert _writes_outside_the_store() == []


def test_the_check_finds_a_write_outside_the_store(tmp_path, monkeypatch):
    """The check above can fail: a sync module deleting rows itself is named."""
    fake = tmp_path / "app"
    (fake / "sync").mkdir(parents=True)
    (fake / "sync" / "engine.py").write_text(
        "from sqlalchemy import delete\n"
        "def discard(model):\n"
        "    db.session.execute(delete(model))\n"
        "def organization():\n"
        "    return Organization(client_id=1)\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "APP", fake)
    assert sorted(_writes_outside_the_store()) == [
        "app/sync/engine.py:3 delete(model)", "app/sync/engine.py:5 Organization(…)"]


def test_visma_net_reads_every_data_set_of_the_registry():
    read = {reader.dataset.name for reader in READERS} | {"journal_batches"}
    assert read == {dataset.name for dataset in DATASETS if not dataset.read_with}
    lines = BY_NAME["journal_lines"]
    assert lines.read_with == "journal_batches"


def test_tripletex_fills_the_same_data_sets():
    # Tripletex names its voucher reader "journal": the batches and, with them, their lines.
    read = {"journal_batches" if d.name == "journal" else d.name
            for d in tripletex_datasets.DATASETS}
    assert read == {dataset.name for dataset in DATASETS if not dataset.read_with}


def test_how_visma_net_reads_follows_its_streams_and_the_registry():
    """Whole lists where the registry says so (deletions show), cursors where the stream has
    one, the filters and period ranges the endpoints require."""
    by_name = {reader.dataset.name: reader for reader in READERS}
    assert {name for name, r in by_name.items() if r.cursor} == {
        "gl_balances", "customers", "suppliers"}
    assert {name for name, r in by_name.items() if r.needs_filter} == {"gl_balances"}
    assert {name for name, r in by_name.items() if r.period_range} == {
        "customer_balances", "supplier_balances"}
