"""WSGI entry point for gunicorn: ``gunicorn server.wsgi:app``.

Each worker imports this after the fork, so each opens its own database connections.
"""
from server import create_app

app = create_app()
