"""Serve the simulator standalone: python -m app.visma.simulator --port 5001."""

from __future__ import annotations

import argparse

from . import SimulatorConfig, create_simulator_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.visma.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--seed", type=int, default=1, help="seed of all generated data")
    parser.add_argument("--journal-lines", type=int, default=2000,
                        help="journal lines per demo company")
    parser.add_argument("--throttle-limit", type=int, default=15000,
                        help="ERP calls per hour per (client, tenant)")
    parser.add_argument("--refresh-grace-period", type=int, default=60,
                        help="seconds a used one-time refresh token is still accepted (0: none)")
    parser.add_argument("--issuer", default=None,
                        help="pin the issuer URL (default: the host each request used)")
    args = parser.parse_args(argv)
    config = SimulatorConfig(seed=args.seed, journal_lines=args.journal_lines,
                             throttle_limit=args.throttle_limit, issuer=args.issuer,
                             refresh_grace_period=args.refresh_grace_period)
    app = create_simulator_app(config)
    print(f"Visma.net simulator on http://{args.host}:{args.port} "
          f"(ERP API at /api, control API at /_sim)")
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
