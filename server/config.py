"""Configuration read from environment variables, with safe defaults.

Every setting can be given as ``ZICHA_<NAME>`` in the environment; ``create_app(overrides)``
takes the same names for tests. Production (``ZICHA_ENV=production``) refuses to start with
the default secret key, with debug on or without its own key for sealed contacts — a forgotten
default is a hole, not a convenience.
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-insecure-change-me"

_INSTANCE = Path(os.environ.get("ZICHA_INSTANCE_PATH", Path.cwd() / "instance"))


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"ZICHA_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    """Read every setting once; the result is a plain dict for ``app.config``."""
    return {
        "ZICHA_ENV": _env("ENV", "development"),
        "SECRET_KEY": _env("SECRET_KEY", DEFAULT_SECRET_KEY),
        "DEBUG": _env_bool("DEBUG", False),
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", f"sqlite:///{_INSTANCE / 'zicha.db'}"),
        # What a printed QR code points at: the address phones reach the server by.
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "TOKEN_TTL_DAYS": _env_int("TOKEN_TTL_DAYS", 30),
        # A body larger than this is refused with 413 before any parsing.
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        "MAX_PAGE_SIZE": 200,
        # Device clocks may run a little ahead; more than this is treated as wrong.
        "CLOCK_SKEW_TOLERANCE_SECONDS": _env_int("CLOCK_SKEW_TOLERANCE_SECONDS", 300),
        "DEFAULT_TIMEZONE": _env("DEFAULT_TIMEZONE", "Asia/Shanghai"),
        # Sync pull: change-log rows (tombstones included) older than this are pruned by
        # `zicha changes prune`; a device that has not pulled for longer starts over with a snapshot.
        "CHANGE_RETENTION_DAYS": _env_int("CHANGE_RETENTION_DAYS", 30),
        # Missed checks (server/misses): a period is judged this long after it closes, so a check
        # done on time and synced a little late is not a miss; the first sweep ever looks back
        # this many days (not to the beginning of time).
        "MISS_GRACE_MINUTES": _env_int("MISS_GRACE_MINUTES", 120),
        "MISS_LOOKBACK_DAYS": _env_int("MISS_LOOKBACK_DAYS", 7),
        # Periodic jobs (misses, escalation, delivery, digests) in every served process, claimed
        # through database leases so they never double; 0 when only a systemd timer should run them.
        "JOBS_ENABLED": _env_bool("JOBS", True),
        "JOBS_TICK_SECONDS": _env_int("JOBS_TICK_SECONDS", 5),
        # Photos (server/photos): storage, limits and the tus upload area.
        "PHOTO_STORAGE": _env("PHOTO_STORAGE", "local"),  # "local" or "s3"
        "PHOTO_DIR": _env("PHOTO_DIR", str(_INSTANCE / "photos")),  # local storage; outside any web root
        # Bodies being received and unfinished tus uploads; local disk even when storage is S3.
        "PHOTO_TEMP_DIR": _env("PHOTO_TEMP_DIR", str(_INSTANCE / "photo-uploads")),
        "PHOTO_MAX_BYTES": _env_int("PHOTO_MAX_BYTES", 25 * 1024 * 1024),
        "PHOTO_MAX_PIXELS": _env_int("PHOTO_MAX_PIXELS", 50_000_000),
        "PHOTO_DISPLAY_PX": _env_int("PHOTO_DISPLAY_PX", 1600),
        "PHOTO_THUMB_PX": _env_int("PHOTO_THUMB_PX", 320),
        "PHOTO_UPLOAD_TTL_HOURS": _env_int("PHOTO_UPLOAD_TTL_HOURS", 24),
        # Unfinished tus uploads one user may hold at once (each reserves up to PHOTO_MAX_BYTES of disk).
        "PHOTO_MAX_OPEN_UPLOADS": _env_int("PHOTO_MAX_OPEN_UPLOADS", 20),
        "PHOTO_S3_BUCKET": _env("PHOTO_S3_BUCKET"),
        "PHOTO_S3_PREFIX": _env("PHOTO_S3_PREFIX", ""),
        "PHOTO_S3_ENDPOINT_URL": _env("PHOTO_S3_ENDPOINT_URL"),  # empty: AWS itself
        "PHOTO_S3_REGION": _env("PHOTO_S3_REGION", "us-east-1"),
        "PHOTO_S3_ACCESS_KEY_ID": _env("PHOTO_S3_ACCESS_KEY_ID"),  # empty: boto3's own credential chain
        "PHOTO_S3_SECRET_ACCESS_KEY": _env("PHOTO_S3_SECRET_ACCESS_KEY"),
        # Notifications (server/notifications): the delivery worker's retries, and the SMTP relay
        # e-mail channels send through (the server's, not the tenant's: see the README).
        "NOTIFY_MAX_ATTEMPTS": _env_int("NOTIFY_MAX_ATTEMPTS", 8),
        "NOTIFY_BACKOFF_SECONDS": _env_int("NOTIFY_BACKOFF_SECONDS", 30),
        "NOTIFY_BACKOFF_MAX_SECONDS": _env_int("NOTIFY_BACKOFF_MAX_SECONDS", 3600),
        "NOTIFY_TIMEOUT_SECONDS": _env_int("NOTIFY_TIMEOUT_SECONDS", 5),
        "SMTP_HOST": _env("SMTP_HOST"),  # empty: e-mail channels cannot be created
        "SMTP_PORT": _env_int("SMTP_PORT", 25),
        "SMTP_SECURITY": _env("SMTP_SECURITY", "starttls"),  # none, starttls or ssl
        "SMTP_USERNAME": _env("SMTP_USERNAME"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_FROM": _env("SMTP_FROM", "zicha@localhost"),
        # Family reports (server/reports). REPORT_CONTACT_KEY: Fernet key(s), comma-separated, the
        # first sealing and all opening reporters' contacts; required in production. Unset in
        # development and tests, a stable key is derived from SECRET_KEY (server/reports/sealing.py).
        "REPORT_CONTACT_KEY": _env("REPORT_CONTACT_KEY"),
        "REPORT_MAX_PHOTOS": _env_int("REPORT_MAX_PHOTOS", 5),
        # The public form's body (text and photos together); each photo is also held to PHOTO_MAX_BYTES.
        "REPORT_MAX_CONTENT_LENGTH": _env_int("REPORT_MAX_CONTENT_LENGTH", 40 * 1024 * 1024),
        # Rate limits (server/ratelimits.py) of the public report page and endpoints. memory://
        # counts per process; several workers should share a store (redis://host:6379) to count
        # together. Limits in Flask-Limiter's notation, ";" between several.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",  # no burst at a window's edge
        "RATELIMIT_HEADERS_ENABLED": True,  # Retry-After on a 429
        "RATELIMIT_KEY_PREFIX": "zicha",
        # Reverse proxies in front that append to X-Forwarded-For (0: clients connect directly).
        "RATELIMIT_TRUSTED_PROXIES": _env_int("RATELIMIT_TRUSTED_PROXIES", 0),
        "REPORT_LIMIT_SUBMIT_PER_CLIENT": _env("REPORT_LIMIT_SUBMIT_PER_CLIENT", "5 per minute;50 per day"),
        # Reports stored per enterprise link (generous: only stored reports count, spam refused
        # per client or caught by the honeypot does not).
        "REPORT_LIMIT_SUBMIT_PER_LINK": _env("REPORT_LIMIT_SUBMIT_PER_LINK", "100 per hour;500 per day"),
        "REPORT_LIMIT_STATUS_PER_CLIENT": _env("REPORT_LIMIT_STATUS_PER_CLIENT", "20 per minute;200 per day"),
        "REPORT_LIMIT_FORM_PER_CLIENT": _env("REPORT_LIMIT_FORM_PER_CLIENT", "60 per minute"),
        # The report page's CSRF token (Flask-WTF) lives in a session cookie scoped to /r, sent
        # over HTTPS only when the public address is HTTPS; a form left open half a day still submits.
        "WTF_CSRF_TIME_LIMIT": 12 * 3600,
        "SESSION_COOKIE_PATH": "/r",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env("PUBLIC_BASE_URL", "http://").startswith("https://"),
        # Sign-in (API and dashboard): wrong passwords in a row before an account locks, and for how long.
        "SIGN_IN_MAX_FAILURES": _env_int("SIGN_IN_MAX_FAILURES", 5),
        "SIGN_IN_LOCK_MINUTES": _env_int("SIGN_IN_LOCK_MINUTES", 15),
        # The dashboard's session (server/manage): its own cookie, scoped to /manage, never sent to
        # the API or the public pages; a signed-in browser lasts this long without signing in again.
        "MANAGE_SESSION_COOKIE_NAME": "zicha_manage",
        "MANAGE_SESSION_HOURS": _env_int("MANAGE_SESSION_HOURS", 12),
        # Sign-in attempts per client (a daily-keyed hash of its address, server/ratelimits.py),
        # on top of the per-account lockout: one address cannot try many accounts quickly.
        "MANAGE_LIMIT_SIGN_IN_PER_CLIENT": _env("MANAGE_LIMIT_SIGN_IN_PER_CLIENT", "10 per minute;100 per hour"),
        "JSON_AS_ASCII": False,
        # flask-smorest / OpenAPI
        "API_TITLE": "Zicha API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": _env("SWAGGER_UI_URL", "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"),
    }


class UnsafeConfiguration(RuntimeError):
    """Raised at start-up when production settings would be unsafe."""


def check_production_safety(config: dict) -> None:
    """Refuse to run production with a default secret or debug on."""
    if config.get("ZICHA_ENV") != "production":
        return
    if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY) or len(config["SECRET_KEY"]) < 32:
        raise UnsafeConfiguration("ZICHA_SECRET_KEY must be set to a random value of 32+ characters in production")
    if config.get("DEBUG"):
        raise UnsafeConfiguration("ZICHA_DEBUG must be off in production")
    _check_contact_key(config.get("REPORT_CONTACT_KEY"))


def report_contact_keys(value: str | None) -> list[str]:
    """The Fernet keys a ``REPORT_CONTACT_KEY`` value names, in order (empty when unset)."""
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def _check_contact_key(value: str | None) -> None:
    """Production seals reporters' contacts with its own key, never one derived from SECRET_KEY
    (changing that would make every sealed contact unreadable)."""
    from cryptography.fernet import Fernet

    keys = report_contact_keys(value)
    if not keys:
        raise UnsafeConfiguration("ZICHA_REPORT_CONTACT_KEY must be set in production (a Fernet key; it seals reporters' contacts)")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise UnsafeConfiguration("ZICHA_REPORT_CONTACT_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated") from None
