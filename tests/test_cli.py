from sqlalchemy import select

from app.auth.models import User
from app.extensions import db


def test_users_create_operator(runner, app):
    result = runner.invoke(
        args=["users", "create", "--email", "Ny@Sticos.test", "--role", "operator"],
        input="hemmelig-pw\nhemmelig-pw\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ny@sticos.test"))
        assert user.is_operator and user.check_password("hemmelig-pw")


def test_users_create_rejects_duplicate_email(runner, demo):
    result = runner.invoke(
        args=["users", "create", "--email", "kunde@regnskap.test", "--role", "operator",
              "--password", "whatever-123"]
    )
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_users_create_rejects_unknown_customer(runner, demo):
    result = runner.invoke(
        args=["users", "create", "--email", "x@y.test", "--role", "customer", "--customer",
              "Finnes Ikke AS", "--password", "whatever-123"]
    )
    assert result.exit_code != 0
    assert "No customer named 'Finnes Ikke AS'" in result.output


def test_demo_seed_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])
    assert "5 new object(s)" in first.output
    assert "0 new object(s)" in second.output
    # The logins are printed once, by `flask serve`'s banner (tests/test_devserver.py).
    assert "kunde-demo" not in first.output + second.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 3
