"""`flask demo seed`: create the demo customers and logins (idempotent)."""

import click
from flask.cli import AppGroup

from app.demo.seed import DEMO_LOGINS, seed_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
def seed_command() -> None:
    """Create the demo customers and logins; running it again changes nothing."""
    created = seed_demo()
    click.echo(f"Demo seed: {created} new object(s).")
    click.echo("Demo logins:")
    for email, password, what in DEMO_LOGINS:
        click.echo(f"  {email:<24} {password:<14} {what}")
