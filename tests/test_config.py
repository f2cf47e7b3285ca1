"""Configuration: safe defaults, and production refuses unsafe settings."""
import pytest

from server import create_app
from server.config import DEFAULT_SECRET_KEY, UnsafeConfiguration


@pytest.mark.parametrize(
    "overrides",
    [
        {"ZICHA_ENV": "production"},
        {"ZICHA_ENV": "production", "SECRET_KEY": "short"},
        {"ZICHA_ENV": "production", "SECRET_KEY": "k" * 40, "DEBUG": True},
    ],
)
def test_production_refuses_unsafe_settings(overrides, tmp_path):
    with pytest.raises(UnsafeConfiguration):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", **overrides})


def test_production_starts_with_a_real_secret(tmp_path):
    from cryptography.fernet import Fernet

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "ZICHA_ENV": "production", "SECRET_KEY": "k" * 40,
        "REPORT_CONTACT_KEY": Fernet.generate_key().decode(),  # production seals reporters' contacts with its own key
    })
    assert app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY


def test_environment_variables_configure_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("ZICHA_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("ZICHA_PUBLIC_BASE_URL", "https://check.example.cn/")
    monkeypatch.setenv("ZICHA_TOKEN_TTL_DAYS", "7")
    monkeypatch.setenv("ZICHA_RATELIMIT_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("ZICHA_REPORT_LIMIT_SUBMIT_PER_CLIENT", "3 per minute")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")
    assert app.config["PUBLIC_BASE_URL"] == "https://check.example.cn"
    assert app.config["TOKEN_TTL_DAYS"] == 7
    assert app.config["RATELIMIT_TRUSTED_PROXIES"] == 1 and app.config["REPORT_LIMIT_SUBMIT_PER_CLIENT"] == "3 per minute"
    assert app.config["SESSION_COOKIE_SECURE"]  # the report page's cookie travels over HTTPS only


def test_sqlite_is_durable(app):
    from server.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
