"""Fixtures for the sync engine tests: an app wired to a simulator over real HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.accounting.models import SYNCED_MODELS, Organization
from app.accounting.queries import current_rows
from app.audit.operations import Actor
from app.customers.models import Customer
from app.extensions import db
from app.integrations.models import Client, Integration
from app.integrations.operations import create_integration
from app.integrations.tokens import store_new_grant
from app.integrations.visma import visma_client
from app.jobs.models import SyncRun, Trigger
from app.jobs.queue import enqueue
from app.jobs.worker import run_inline
from app.sync import mapping
from app.visma.auth import new_code_verifier, new_state
from app.visma.simulator import SimulatorConfig
from app.visma.simulator.state import DEMO_PASSWORD, DEMO_USER
from app.visma.simulator.testing import RunningSimulator, start_simulator
from config import TestConfig
from tests.conftest import sqlite_database

ACTOR = Actor.system("test")
REDIRECT = "http://127.0.0.1:9/visma/callback"


@dataclass
class SyncEnv:
    app: Flask
    sim: RunningSimulator

    # -- setup ----------------------------------------------------------------------------

    def connect(self, email: str = DEMO_USER, customer: str = "Regnskap AS") -> Integration:
        """A connected integration: the full authorization-code dance against the simulator."""
        owner = db.session.scalar(select(Customer).where(Customer.name == customer))
        if owner is None:
            owner = Customer(name=customer)
            db.session.add(owner)
            db.session.commit()
        integration = create_integration(owner.id, actor=ACTOR)
        visma = visma_client()
        verifier, state = new_code_verifier(), new_state()
        browser = requests.Session()
        page = browser.get(visma.authorization_url(REDIRECT, state, verifier))
        page = browser.post(page.url, data={"email": email, "password": DEMO_PASSWORD,
                                            "csrf_token": _csrf(page.text)}, allow_redirects=False)
        while not page.headers.get("Location", "").startswith(REDIRECT):
            if "decision" in page.text:  # the consent page (a second login skips it)
                page = browser.post(page.url, allow_redirects=False,
                                    data={"decision": "accept", "csrf_token": _csrf(page.text)})
            else:
                page = browser.get(requests.compat.urljoin(page.url, page.headers["Location"]),
                                   allow_redirects=False)
        location = page.headers["Location"]
        code = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}["code"]
        token = visma.exchange_code(code, REDIRECT, verifier)
        store_new_grant(integration, token, visma.userinfo(token), actor=ACTOR)
        return integration

    def run(self, kind: str, integration: Integration, client: Client | None = None,
            params: dict | None = None) -> SyncRun:
        run, _ = enqueue(kind, integration_id=integration.id,
                         client_id=client.id if client else None, actor=ACTOR,
                         trigger=Trigger.CLI, params=params)
        db.session.commit()
        run_id = run.id
        run_inline(run_id)
        db.session.expire_all()
        return db.session.get(SyncRun, run_id)

    def client_named(self, integration: Integration, name: str) -> Client:
        return db.session.scalar(
            select(Client).where(Client.integration_id == integration.id, Client.name == name)
        )

    def activate(self, client: Client) -> None:
        client.active = True
        client.is_new = False
        db.session.commit()

    def tenant(self, name: str) -> str:
        return self.sim.state.tenant_id(name)

    # -- comparing with the simulator's ground truth ----------------------------------------

    def expected(self, tenant_id: str) -> dict[str, dict]:
        truth = self.sim.state.truth(tenant_id)
        result: dict[str, dict] = {name: {} for name in SYNCED_MODELS}

        def put(dataset, row):
            model = SYNCED_MODELS[dataset]
            result[dataset][tuple(row[k] for k in model.natural_key)] = _comparable(model, row)

        for r in truth["accounts"]:
            put("accounts", mapping.account_row(r))
        for r in truth["financialPeriods"]:
            put("periods", mapping.period_row(r))
        for r in truth["generalLedgerBalances"]:
            put("gl_balances", mapping.gl_balance_row(r))
        for r in truth["journalTransactions"]:
            batch, lines = mapping.journal_rows(r, now=None)
            put("journal_batches", batch)
            for line in lines:
                put("journal_lines", line)
        for r in truth["customers"]:
            put("customers", mapping.party_row(r))
        for r in truth["suppliers"]:
            put("suppliers", mapping.party_row(r))
        # the truth's balances span the company's financial periods, as the engine asks
        periods = [p["period"] for p in truth["financialPeriods"]]
        span = {"from_period": min(periods), "to_period": max(periods)}
        for r in truth["customerBalances"]:
            put("customer_balances", mapping.party_balance_row(r, "customer", **span))
        for r in truth["supplierBalances"]:
            put("supplier_balances", mapping.party_balance_row(r, "supplier", **span))
        return result

    def stored(self, client_id: int) -> dict[str, dict]:
        result = {}
        for name, model in SYNCED_MODELS.items():
            rows = db.session.scalars(current_rows(model, client_id)).all()
            found = {}
            for row in rows:
                values = {c.name: getattr(row, c.name) for c in model.__table__.columns}
                key = tuple(values[k] for k in model.natural_key)
                assert key not in found, f"{name}: duplicate {key}"
                found[key] = _comparable(model, values)
            result[name] = found
        return result

    def assert_equal_to_truth(self, client: Client) -> None:
        db.session.expire_all()
        expected, stored = self.expected(client.external_id), self.stored(client.id)
        for name in SYNCED_MODELS:
            missing = set(expected[name]) - set(stored[name])
            extra = set(stored[name]) - set(expected[name])
            assert not missing and not extra, (
                f"{name}: missing {sorted(missing)[:5]} ({len(missing)}), "
                f"extra {sorted(extra)[:5]} ({len(extra)})")
            wrong = [k for k in expected[name] if expected[name][k] != stored[name][k]]
            assert not wrong, (
                f"{name}: {len(wrong)} rows differ, e.g. {wrong[0]}: "
                f"expected {expected[name][wrong[0]]}, stored {stored[name][wrong[0]]}")
        org = db.session.scalar(select(Organization).where(Organization.client_id == client.id))
        assert org is not None and org.name == client.name == self.sim.state.truth(
            client.external_id)["organizations"][0]["name"]


def _comparable(model, row: dict) -> dict:
    skip = {"id", "client_id", "generation", "row_hash", "changed_at", "deleted_at"}
    out = {}
    for column in model.__table__.columns:
        if column.name in skip:
            continue
        value = row.get(column.name)
        if hasattr(value, "quantize"):
            value = value.quantize(mapping.CENT)
        out[column.name] = value
    return out


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def make_env(tmp_path, sim: RunningSimulator, **config) -> SyncEnv:
    options = {
        "VISMA_CONNECT_URL": sim.url,
        "VISMA_API_URL": sim.api_url,
        "VISMA_BACKOFF_SECONDS": 0.01,
        "VISMA_HTTP_TIMEOUT_SECONDS": 5,
        "VISMA_MAX_WAIT_SECONDS": 5,
    }
    options.update(config)
    if "SQLALCHEMY_DATABASE_URI" not in options:
        options["SQLALCHEMY_DATABASE_URI"] = sqlite_database(tmp_path / "sync.db")
    app = create_app(TestConfig, **options)
    with app.app_context():
        db.create_all()  # a no-op on the prepared databases; builds any other one
    return SyncEnv(app, sim)


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(journal_lines=400)


@pytest.fixture
def sim(sim_config):
    running = start_simulator(sim_config)
    yield running
    running.stop()


@pytest.fixture
def env(tmp_path, sim):
    environment = make_env(tmp_path, sim)
    with environment.app.app_context():
        yield environment
        db.session.remove()
        visma_client().close()
        db.engine.dispose()
