"""Sync benchmark: a full sync of a 200,000-line company from the simulator, against a bare
paging loop over the same pages, a second full sync of the same client (its old copy in place:
the generation carry-over path), then an incremental sync after 1 % of the data changed and an
hour passed. The same is repeated for a company twice that size, to show memory stays flat.

    .venv/bin/python bench/sync_bench.py [--lines 200000] [--no-double] [--database sqlite|URL]

``--database postgresql+psycopg://postgres@127.0.0.1:5432/test`` runs the syncs on PostgreSQL
(in a fresh schema, dropped afterwards); the default is a fresh SQLite file.

With ``SYNC_BENCH_PROFILE=/tmp/full.prof`` the first full sync's main thread is profiled
(cProfile; read it with ``python -m pstats``); ``SYNC_BENCH_PROFILE_RUN=incremental_sync``
profiles the incremental sync instead. Prints JSON. The simulator runs in its own process on loopback (so it does not share our GIL);
each measured sync runs in a fresh child process so its peak RSS is its own.

Targets: full-sync wall time <= 1.3 x the bare loop's on PostgreSQL (goal 1.2), <= 1.2 x on
SQLite; peak RSS < 300 MB and flat when the company doubles; incremental API calls <= 5 % of
the full sync's. The load average before and after is printed: other work on the machine
slows both the bare loop and the sync of one invocation, so the ratios stay comparable.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO_USER, DEMO_PASSWORD = "demo@visma.test", "visma-demo"
REDIRECT = "http://127.0.0.1:9/visma/callback"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.visma.simulator", "--port", str(port), "--journal-lines", "400"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(url + "/_sim/clock", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the simulator did not start")


def add_company(url: str, lines: int) -> str:
    company = requests.post(f"{url}/_sim/tenants", json={
        "name": f"Bench {lines} AS", "journalLines": lines, "users": [DEMO_USER], "approved": True,
    }).json()
    tenant = company["tenantId"]
    token = requests.post(f"{url}/_sim/tenants/{tenant}/token").json()["access_token"]
    started = time.perf_counter()  # the first ERP call generates the company
    requests.get(f"{url}/api/v1/account", headers={"Authorization": f"Bearer {token}"})
    print(f"# generated {lines} lines in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return tenant


HOUR = 3600


def change_one_percent(url: str, tenant: str, lines: int, rng: random.Random) -> int:
    """An hour passes, then about 1 % of the lines change: new vouchers, party updates."""
    requests.post(f"{url}/_sim/clock", json={"advance": HOUR})
    token = requests.post(f"{url}/_sim/tenants/{tenant}/token").json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    accounts = [a["accountCD"] for a in requests.get(f"{url}/api/v1/account", headers=auth).json()
                if a["active"] and a["accountCD"] not in ("1500", "2400")]
    customers = [c["number"] for c in requests.get(
        f"{url}/api/v1/customer", params={"pageSize": 1000, "pageNumber": 1}, headers=auth).json()]
    changed = 0
    target = lines // 100
    while changed < target * 0.9:
        amount = round(rng.uniform(100, 20000), 2)
        chosen = rng.sample(accounts, 3)
        body = {"transactionDate": f"2026-{rng.choice([10, 11]):02d}-{rng.randint(1, 20):02d}",
                "lines": [{"accountNumber": chosen[0], "debitAmount": amount},
                          {"accountNumber": chosen[1], "debitAmount": amount},
                          {"accountNumber": chosen[2], "creditAmount": amount},
                          {"accountNumber": "1500", "creditAmount": amount,
                           "customerSupplier": rng.choice(customers)}]}
        r = requests.post(f"{url}/_sim/tenants/{tenant}/vouchers", json=body)
        if r.status_code < 300:
            changed += 4
    for number in rng.sample(customers, min(20, len(customers))):
        requests.patch(f"{url}/_sim/tenants/{tenant}/customers/{number}",
                       json={"name": f"Endret {number}"})
        changed += 1
    return changed


# -- the child: one app, one company ---------------------------------------------------------


def connect(visma):
    verifier_token = __import__("app.visma.auth", fromlist=["x"])
    verifier, state = verifier_token.new_code_verifier(), verifier_token.new_state()
    browser = requests.Session()
    csrf = lambda html: re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # noqa: E731
    page = browser.get(visma.authorization_url(REDIRECT, state, verifier))
    page = browser.post(page.url, data={"email": DEMO_USER, "password": DEMO_PASSWORD,
                                        "csrf_token": csrf(page.text)}, allow_redirects=False)
    while not page.headers.get("Location", "").startswith(REDIRECT):
        if "decision" in page.text:  # the consent page (a second login skips it)
            page = browser.post(page.url, allow_redirects=False,
                                data={"decision": "accept", "csrf_token": csrf(page.text)})
        else:
            page = browser.get(requests.compat.urljoin(page.url, page.headers["Location"]),
                               allow_redirects=False)
    location = page.headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = visma.exchange_code(code, REDIRECT, verifier)
    return token, visma.userinfo(token)


def bare_loop(url: str, tenant: str) -> dict:
    """Fetch exactly the pages a full sync reads, doing nothing with them but decode JSON."""
    token = requests.post(f"{url}/_sim/tenants/{tenant}/token").json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    api = url + "/api"
    calls = 0
    started = time.perf_counter()
    periods = []
    for path in ("/v1/organization", "/v1/account", "/v1/financialPeriod"):
        periods = session.get(api + path).json()
        calls += 1
    epoch = {"lastModifiedDateTime": "1900-01-01T00:00:00.000"}
    span = {"fromFinPeriod": min(p["period"] for p in periods),
            "toFinPeriod": max(p["period"] for p in periods)}
    for path, params in (
        ("/v2/generalLedgerBalance", epoch), ("/v1/customer", {}), ("/v1/supplier", {}),
        ("/v2/customer/balance", span), ("/v2/supplier/balance", span),
        ("/v2/journaltransaction", epoch),
    ):
        number = 1
        while True:
            page = session.get(api + path, params={**params, "pageNumber": number,
                                                   "pageSize": 1000}).json()
            calls += 1
            meta = page[0].get("metadata") if page else None
            total = meta["totalCount"] if meta else None
            # the end: an empty page, totalCount reached, or (no metadata) a short page
            if not page or (total is not None and number * 1000 >= total) or (
                    total is None and len(page) < 1000):
                break
            number += 1
    return {"wall_s": round(time.perf_counter() - started, 3), "api_calls": calls}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Bench:
    """One app on a fresh database, connected to the simulator with one tenant active."""

    def __init__(self, url: str, tenant: str, database: str, **config) -> None:
        from app import create_app
        from app.audit.operations import Actor
        from app.customers.models import Customer
        from app.extensions import db
        from app.integrations.models import Client
        from app.integrations.operations import create_integration
        from app.integrations.tokens import store_new_grant
        from app.integrations.visma import visma_client
        from app.jobs.models import RunKind
        from config import TestConfig

        self.app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database,
                              VISMA_CONNECT_URL=url, VISMA_API_URL=url + "/api", **config)
        self.actor = Actor.system("bench")
        self.context = self.app.app_context()
        self.context.push()
        db.create_all()
        owner = Customer(name="Bench kunde")
        db.session.add(owner)
        db.session.commit()
        self.integration = create_integration(owner.id, actor=self.actor)
        self.visma = visma_client()
        token, info = connect(self.visma)
        store_new_grant(self.integration, token, info, actor=self.actor)
        self.run(RunKind.REFRESH_CLIENTS)
        client = db.session.scalar(db.select(Client).where(Client.external_id == tenant))
        client.active = True
        db.session.commit()
        self.client_id = client.id

    def run(self, kind, *, profile: str | None = None):
        """One run of ``kind`` now: (status, the finished SyncRun, wall s, API calls, CPU s)."""
        from app.extensions import db
        from app.jobs.models import RunKind, SyncRun, Trigger
        from app.jobs.queue import enqueue
        from app.jobs.worker import run_inline

        client_id = None if kind == RunKind.REFRESH_CLIENTS else self.client_id
        queued, _ = enqueue(kind, integration_id=self.integration.id, client_id=client_id,
                            actor=self.actor, trigger=Trigger.CLI)
        db.session.commit()
        calls = self.visma.api_calls
        profiler = cProfile.Profile() if profile else None
        cpu = _cpu()
        started = time.perf_counter()
        if profiler is not None:  # the main thread only
            profiler.enable()
        status = run_inline(queued.id)
        wall = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu = round(_cpu() - cpu, 2)
        db.session.expire_all()
        return status, db.session.get(SyncRun, queued.id), wall, self.visma.api_calls - calls, cpu

    def close(self) -> None:
        self.visma.close()
        self.context.pop()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(url: str, tenant: str, lines: int, database: str) -> dict:
    from app.jobs.models import RunKind

    bench = Bench(url, tenant, database)
    result: dict = {"journal_lines": lines, "database": database.split(":", 1)[0]}
    cpu = _cpu()
    result["bare_loop"] = bare_loop(url, tenant)
    result["bare_loop"]["cpu_s"] = round(_cpu() - cpu, 2)
    profile = os.environ.get("SYNC_BENCH_PROFILE")
    profiled = os.environ.get("SYNC_BENCH_PROFILE_RUN", RunKind.FULL_SYNC)
    status, done, wall, calls, cpu = bench.run(
        RunKind.FULL_SYNC, profile=profile if profiled == RunKind.FULL_SYNC else None)
    records = sum(v for k, v in (done.counts or {}).items() if not k.endswith("_removed"))
    result["full_sync"] = {
        "status": status, "wall_s": round(wall, 3), "cpu_s": cpu,
        "api_calls": calls, "records": records,
        "records_per_s": round(records / wall), "warnings": len(done.warnings or []),
        "peak_rss_mb": peak_rss_mb(),
    }
    result["ratio_full_to_bare"] = round(wall / result["bare_loop"]["wall_s"], 2)

    status, done, wall, calls2, cpu = bench.run(RunKind.FULL_SYNC)
    result["second_full_sync"] = {
        "status": status, "wall_s": round(wall, 3), "cpu_s": cpu,
        "api_calls": calls2, "ratio_to_first": round(wall / result["full_sync"]["wall_s"], 2),
    }

    changed = change_one_percent(url, tenant, lines, random.Random(7))
    # The hour passes for us too: our clock must not fall an hour behind the simulator's,
    # or our service-token cache would hold a token the simulator already sees as expired
    # (real Visma and we share real time). Shift the cache's clock by the same hour: it
    # then renews the token ahead of expiry as it would after a real hour (one token call,
    # no refused API call).
    ours = bench.visma.service_tokens.clock
    bench.visma.service_tokens.clock = lambda: ours() + HOUR
    status, done, wall, inc_calls, cpu = bench.run(
        RunKind.INCREMENTAL_SYNC, profile=profile if profiled == RunKind.INCREMENTAL_SYNC else None)
    result["incremental_sync"] = {
        "status": status, "changed_lines_or_rows": changed, "wall_s": round(wall, 3),
        "cpu_s": cpu, "api_calls": inc_calls, "share_of_full_calls": round(inc_calls / calls, 3),
        "counts": done.counts,
    }
    result["peak_rss_mb"] = peak_rss_mb()
    bench.close()
    return result


@contextmanager
def fresh_database(database: str):
    """A database URL for one measurement: a new SQLite file or a new PostgreSQL schema."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in database else "?"
        yield f"{database}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure(url: str, lines: int, database: str) -> dict:
    tenant = add_company(url, lines)
    with fresh_database(database) as db_url:
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, tenant, str(lines), db_url],
            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout)


def machine() -> dict:
    """What the figures ran on, and how busy it was (other work shares these cores)."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": model,
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--no-double", action="store_true", help="skip the doubled company")
    parser.add_argument("--database", default="sqlite",
                        help="sqlite (a fresh file, the default) or a PostgreSQL URL")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, tenant, lines, database = args.child
        print(json.dumps(child(url, tenant, int(lines), database)))
        return
    proc, url = start_simulator()
    try:
        report = {"benchmark": "sync", "machine_before": machine(),
                  **measure(url, args.lines, args.database)}
        ratio_limit = 1.2 if args.database == "sqlite" else 1.3
        report["targets"] = {
            f"ratio_full_to_bare_le_{ratio_limit}": report["ratio_full_to_bare"] <= ratio_limit,
            "second_full_sync_same_league": report["second_full_sync"]["ratio_to_first"] <= 1.5,
            "peak_rss_lt_300_mb": report["peak_rss_mb"] < 300,
            "incremental_calls_le_5_percent":
                report["incremental_sync"]["share_of_full_calls"] <= 0.05,
        }
        if not args.no_double:
            doubled = measure(url, args.lines * 2, args.database)
            report["doubled"] = {
                "journal_lines": doubled["journal_lines"],
                "peak_rss_mb": doubled["peak_rss_mb"],
                "full_sync_wall_s": doubled["full_sync"]["wall_s"],
                "ratio_full_to_bare": doubled["ratio_full_to_bare"],
                "incremental_share_of_full_calls":
                    doubled["incremental_sync"]["share_of_full_calls"],
            }
            report["targets"]["peak_rss_lt_300_mb_doubled"] = doubled["peak_rss_mb"] < 300
            # flat: the doubled company's peak within a quarter of the first's
            report["targets"]["peak_rss_flat_when_doubled"] = (
                doubled["peak_rss_mb"] <= 1.25 * report["peak_rss_mb"])
        report["machine_after"] = machine()
        print(json.dumps(report, indent=2))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
