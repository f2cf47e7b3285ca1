"""Command line: ``flask --app server …`` or the ``zicha`` script (same commands).

``zicha serve --demo`` is README command 1: migrate the embedded SQLite database, load the demo
enterprise if it is not there yet, and serve with gunicorn on 127.0.0.1.
"""
from __future__ import annotations

import os
import shutil
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from server.accounts.models import Role
from server.alerts.cli import alerts_cli
from server.changes.cli import changes_cli
from server.misses.cli import misses_cli
from server.notifications.cli import notifications_cli
from server.jobs.cli import jobs_cli
from server.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(enterprise_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(changes_cli)
    app.cli.add_command(alerts_cli)
    app.cli.add_command(misses_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(jobs_cli)


@click.group("enterprise", help="Manage enterprises (tenants).")
def enterprise_cli():
    pass


@enterprise_cli.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
@with_appcontext
def create_enterprise(code, name, timezone):
    """Create an enterprise with CODE and NAME."""
    from server.enterprises.services import create_enterprise as create

    enterprise = create(code, name, timezone)
    db.session.commit()
    click.echo(f"enterprise {enterprise.id} {enterprise.code} created")


@click.group("user", help="Manage users.")
def user_cli():
    pass


@user_cli.command("create")
@click.argument("enterprise_code")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option()
@with_appcontext
def create_user(enterprise_code, username, display_name, role, password):
    """Create a user in the enterprise ENTERPRISE_CODE."""
    import sqlalchemy as sa

    from server.accounts.services import create_user as create
    from server.enterprises.models import Enterprise

    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.code == enterprise_code))
    if enterprise is None:
        raise click.ClickException(f"no enterprise {enterprise_code!r}")
    user = create(enterprise.id, username, display_name, Role(role), password)
    db.session.commit()
    click.echo(f"user {user.id} {user.username} created")


@click.command("demo")
@click.option("--if-absent", is_flag=True, help="Do nothing when the demo enterprise exists.")
@with_appcontext
def demo_command(if_absent):
    """Create the demo enterprise (Chinese data) and print how to sign in."""
    from server.demo.data import DEMO_CODE, demo_exists, load_demo, sign_in_help

    if demo_exists():
        if not if_absent:
            raise click.ClickException(f"the demo enterprise {DEMO_CODE!r} already exists")
    else:
        load_demo()
        db.session.commit()
    click.echo(sign_in_help())


@click.command("serve")
@click.option("--demo", is_flag=True, help="Load the demo enterprise if absent.")
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
@with_appcontext
def serve_command(demo, bind, workers):
    """Migrate the database, optionally load the demo, and serve with gunicorn."""
    from flask import current_app
    from flask_migrate import upgrade

    if not os.environ.get("ZICHA_PUBLIC_BASE_URL"):
        # QR codes must point where this server really listens; gunicorn's workers inherit it.
        os.environ["ZICHA_PUBLIC_BASE_URL"] = f"http://{bind}"
        current_app.config["PUBLIC_BASE_URL"] = f"http://{bind}"
    upgrade()
    if demo:
        from server.demo.data import demo_exists, load_demo, sign_in_help

        if not demo_exists():
            load_demo()
            db.session.commit()
        click.echo(sign_in_help())
    gunicorn = shutil.which("gunicorn") or "gunicorn"
    args = [gunicorn, "--workers", str(workers), "--bind", bind, "--access-logfile", "-", "--logger-class", "server.accesslog.GunicornLogger", "server.wsgi:app"]
    click.echo(f"serving on http://{bind}  (API docs: http://{bind}/api/v1/docs)")
    sys.stdout.flush()
    os.execvp(args[0], args)


def _create_app():
    from server import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Zicha server commands.")
