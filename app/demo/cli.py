"""`flask demo seed`: create the demo customers and logins (idempotent)."""

import click
from flask.cli import AppGroup

from app.demo.seed import seed_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
def seed_command() -> None:
    """Create the demo customers and logins; running it again changes nothing."""
    created = seed_demo()
    # The logins are printed by `flask serve` (make run) and listed in the README: once.
    click.echo(f"Demo seed: {created} new object(s).")
