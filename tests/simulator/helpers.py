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


def gl_series(row: dict) -> tuple[str, str, str]:
    """A GL balance row's (account, subaccount, branch); the newer subaccount object too."""
    sub = row.get("subAccountCd") or (row.get("subaccount") or {}).get("subaccountNumber") or ""
    return row["account"]["number"], sub, row["branch"]["number"]


def line_series(line: dict) -> tuple[str, str, str]:
    return (line["accountNumber"], (line.get("subaccount") or {}).get("subaccountNumber", ""),
            line["branch"])


def assert_books_consistent(truth: dict) -> None:
    """Every batch balances; every ACTUAL GL balance row equals the journal lines summed per
    account, subaccount, branch and period; the ACTUAL trial balance is zero every period;
    customer balances (per branch) equal the lines on the receivables account."""
    types = {a["accountCD"]: a["type"] for a in truth["accounts"]}
    moves: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    customer = defaultdict(Decimal)
    for batch in truth["journalTransactions"]:
        lines = batch["journalTransactionLines"]
        debit = sum((d(line["debitAmount"]) for line in lines), Decimal(0))
        credit = sum((d(line["creditAmount"]) for line in lines), Decimal(0))
        assert debit == credit == d(batch["debitTotal"]) == d(batch["creditTotal"]), batch
        assert batch["status"] == "Posted"
        for line in lines:
            pair = moves[(*line_series(line), batch["financialPeriod"])]
            pair[0] += d(line["debitAmount"])
            pair[1] += d(line["creditAmount"])
            if line["accountNumber"] == "1500" and line["customerSupplier"]:
                customer[(line["customerSupplier"], line["branch"])] += d(
                    line["debitAmount"]) - d(line["creditAmount"])
    actual = [r for r in truth["generalLedgerBalances"] if r["ledger"]["id"] == "ACTUAL"]
    rows = {(*gl_series(r), r["financialPeriod"]): r for r in actual}
    assert len(rows) == len(actual), "two ACTUAL rows share a key"
    periods = [p["period"] for p in truth["financialPeriods"]]
    series = {key[:3] for key in moves}
    for key in series:
        balance = Decimal(0)
        for period in periods:
            if types[key[0]] in ("Income", "Expense") and period.endswith("01"):
                balance = Decimal(0)
            debit, credit = moves.get((*key, period), (Decimal(0), Decimal(0)))
            row = rows.get((*key, period))
            if row is None:
                assert (*key, period) not in moves and balance == 0
                continue
            assert d(row["beginningBalance"]) == balance, (key, period)
            assert d(row["periodToDateDebit"]) == debit, (key, period)
            assert d(row["periodToDateCredit"]) == credit, (key, period)
            balance += debit - credit
            assert d(row["yearToDateBalance"]) == balance, (key, period)
    for key, row in rows.items():
        if key[:3] not in series:  # only voided or deleted lines ever
            assert d(row["periodToDateDebit"]) == d(row["periodToDateCredit"]) == 0
            assert d(row["beginningBalance"]) == d(row["yearToDateBalance"]) == 0
    for period in periods:
        in_period = [r for r in actual if r["financialPeriod"] == period]
        assert sum(d(r["periodToDateDebit"]) for r in in_period) == sum(
            d(r["periodToDateCredit"]) for r in in_period), period
    balances = {(r["customer"]["number"], r["branchNumber"]["number"]): d(r["yearToDateBalance"])
                for r in truth["customerBalances"]}
    for key, amount in customer.items():
        assert balances[key] == amount, key
