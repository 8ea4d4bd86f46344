"""HTTP helpers for the simulator tests: PKCE, login, authorize, token exchanges."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections import defaultdict
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from app.visma.simulator.state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USER

REDIRECT = "http://127.0.0.1:5000/visma/callback"
SCOPES = "openid email profile offline_access tenants vismanet_erp_interactive_api:read"


def claims(jwt: str) -> dict:
    """The payload of a JWT (unverified)."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, email: str = DEMO_USER, password: str = DEMO_PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"email": email, "password": password, "next": "/",
                                       "csrf_token": csrf(page)})


def authorize_params(challenge: str, **overrides) -> dict:
    params = {"response_type": "code", "client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT,
              "scope": SCOPES, "state": "xyz", "code_challenge": challenge,
              "code_challenge_method": "S256", "nonce": "n-1"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(client, challenge: str, email: str = DEMO_USER, **overrides) -> str:
    """Log in, open authorize, press Accept; return the code from the redirect."""
    login(client, email)
    params = authorize_params(challenge, **overrides)
    page = client.get("/connect/authorize", query_string=params)
    if page.status_code == 200:  # the consent page
        page = client.post("/connect/authorize",
                           data={**params, "decision": "accept",
                                 "csrf_token": csrf(page.get_data(as_text=True))})
    assert page.status_code == 302, page.get_data(as_text=True)
    query = query_of(page.headers["Location"])
    assert query["state"] == "xyz"
    return query["code"]


def exchange(client, code: str, verifier: str, redirect_uri: str = REDIRECT, basic: bool = False):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    if basic:
        auth = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
        return client.post("/connect/token", data=data, headers={"Authorization": f"Basic {auth}"})
    data.update(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    return client.post("/connect/token", data=data)


def refresh(client, refresh_token: str):
    return client.post("/connect/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})


def d(value) -> Decimal:
    return Decimal(str(value))


def assert_books_consistent(truth: dict) -> None:
    """Every batch balances; every GL balance row equals the summed journal lines."""
    types = {a["accountCD"]: a["type"] for a in truth["accounts"]}
    moves: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    customer = defaultdict(Decimal)
    for batch in truth["journalTransactions"]:
        lines = batch["journalTransactionLines"]
        debit = sum((d(line["debitAmount"]) for line in lines), Decimal(0))
        credit = sum((d(line["creditAmount"]) for line in lines), Decimal(0))
        assert debit == credit == d(batch["debitTotal"]) == d(batch["creditTotal"]), batch
        assert batch["status"] == "Posted"
        for line in lines:
            pair = moves[(line["accountNumber"], batch["financialPeriod"])]
            pair[0] += d(line["debitAmount"])
            pair[1] += d(line["creditAmount"])
            if line["accountNumber"] == "1500" and line["customerSupplier"]:
                customer[line["customerSupplier"]] += d(line["debitAmount"]) - d(
                    line["creditAmount"])
    rows = {(r["account"]["number"], r["financialPeriod"]): r
            for r in truth["generalLedgerBalances"]}
    periods = [p["period"] for p in truth["financialPeriods"]]
    for account in {a for a, _ in moves}:
        balance = Decimal(0)
        for period in periods:
            if types[account] in ("Income", "Expense") and period.endswith("01"):
                balance = Decimal(0)
            debit, credit = moves.get((account, period), (Decimal(0), Decimal(0)))
            row = rows.get((account, period))
            if row is None:
                assert (account, period) not in moves and balance == 0
                continue
            assert d(row["beginningBalance"]) == balance, (account, period)
            assert d(row["periodToDateDebit"]) == debit, (account, period)
            assert d(row["periodToDateCredit"]) == credit, (account, period)
            balance += debit - credit
            assert d(row["yearToDateBalance"]) == balance, (account, period)
    for (account, _), row in rows.items():
        if account not in {a for a, _ in moves}:  # only voided or deleted lines ever
            assert d(row["periodToDateDebit"]) == d(row["periodToDateCredit"]) == 0
            assert d(row["beginningBalance"]) == d(row["yearToDateBalance"]) == 0
    balances = {r["customer"]["number"]: d(r["yearToDateBalance"])
                for r in truth["customerBalances"]}
    for number, amount in customer.items():
        assert balances[number] == amount
