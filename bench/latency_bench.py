"""Latency benchmark: a full sync of a 200,000-line company when every Visma.net call takes
0.25 s (the simulator's ``latency``), with pages fetched one at a time and with
``VISMA_PAGE_CONCURRENCY`` of them in flight.

    .venv/bin/python bench/latency_bench.py [--lines 200000] [--latency 0.25] [--concurrency 4]
                                            [--database sqlite|URL]

Target: the parallel full sync's wall time <= 1.25 x (calls x latency / concurrency), printed
beside the sequential one's. Each is the company's first full sync, on a fresh database, in a
child process of its own. Prints JSON. ``SYNC_BENCH_PROFILE=FILE`` profiles the syncs' main
thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import requests
from sync_bench import (  # the script's folder is on sys.path; it puts the repository there
    ROOT,
    Bench,
    add_company,
    fresh_database,
    machine,
    peak_rss_mb,
    start_simulator,
)


def child(url: str, tenant: str, database: str, latency: float, concurrency: int) -> dict:
    from app.jobs.models import RunKind

    bench = Bench(url, tenant, database, VISMA_PAGE_CONCURRENCY=concurrency)
    requests.post(f"{url}/_sim/faults", json={"latency": latency}).raise_for_status()
    try:
        status, done, wall, calls, cpu = bench.run(RunKind.FULL_SYNC,
                                                   profile=os.environ.get("SYNC_BENCH_PROFILE"))
    finally:
        requests.post(f"{url}/_sim/faults", json={"latency": 0}).raise_for_status()
    result = {"status": status, "page_concurrency": concurrency, "wall_s": round(wall, 2),
              "api_calls": calls, "cpu_s": cpu, "calls_x_latency_s": round(calls * latency, 2),
              "peak_rss_mb": peak_rss_mb()}
    bench.close()
    return result


def measure(url: str, tenant: str, database: str, latency: float, concurrency: int) -> dict:
    """One first full sync of the company, on a fresh database, in a child process."""
    with fresh_database(database) as db_url:
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, tenant, db_url, str(latency),
             str(concurrency)],
            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, tenant, database, latency, concurrency = args.child
        print(json.dumps(child(url, tenant, database, float(latency), int(concurrency))))
        return
    report = {"benchmark": "latency", "journal_lines": args.lines,
              "latency_s_per_call": args.latency, "machine_before": machine()}
    proc, url = start_simulator()
    try:
        tenant = add_company(url, args.lines)
        sequential = measure(url, tenant, args.database, args.latency, 1)
        parallel = measure(url, tenant, args.database, args.latency, args.concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bound = 1.25 * parallel["api_calls"] * args.latency / args.concurrency
    report.update(
        database=args.database.split(":", 1)[0],
        sequential_full_sync=sequential,
        parallel_full_sync=parallel,
        bound_s=round(bound, 2),
        speed_up=round(sequential["wall_s"] / parallel["wall_s"], 2),
        targets={"parallel_wall_le_1_25_x_calls_x_latency_over_concurrency":
                 parallel["wall_s"] <= bound},
        machine_after=machine(),
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
