"""Serve the simulator standalone: python -m app.tripletex.simulator --port 5002."""

from __future__ import annotations

import argparse

from . import SimulatorConfig, create_simulator_app
from .state import DEMO_CONSUMER_TOKEN, DEMO_FIRM_KEY


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.tripletex.simulator",
                                     description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5002)
    parser.add_argument("--seed", type=int, default=1, help="seed of all generated data")
    parser.add_argument("--vouchers-per-month", type=int, default=12)
    parser.add_argument("--rate-limit", type=int, default=2000,
                        help="calls per window per employee token")
    args = parser.parse_args(argv)
    config = SimulatorConfig(seed=args.seed, vouchers_per_month=args.vouchers_per_month,
                             rate_limit=args.rate_limit)
    app = create_simulator_app(config)
    print(f"Tripletex simulator on http://{args.host}:{args.port} (API at /v2, control at /_sim)\n"
          f"  TRIPLETEX_API_URL=http://{args.host}:{args.port}/v2 "
          f"TRIPLETEX_CONSUMER_TOKEN={DEMO_CONSUMER_TOKEN}\n"
          f"  Regnskapskontorets brukernøkkel (demo): {DEMO_FIRM_KEY}")
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
