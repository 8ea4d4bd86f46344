"""`flask users …`: manage logins from the command line."""

import click
from flask.cli import AppGroup

from app.auth.operations import UserError, create_user

users_cli = AppGroup("users", help="Manage user logins.")


@users_cli.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--role", type=click.Choice(["operator", "customer"]), required=True)
@click.option("--customer", "customer_name", help="Customer name (required for --role customer).")
@click.password_option(help="Prompted for when omitted.")
def create_command(email: str, role: str, customer_name: str | None, password: str) -> None:
    """Create a login."""
    try:
        user = create_user(email=email, role=role, password=password, customer_name=customer_name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} {user.email}.")
