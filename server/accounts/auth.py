"""Bearer-token authentication and role checks for API views.

``@require(Role.ADMIN, …)`` on a view: the caller must send ``Authorization: Bearer <token>``
for a live token (not expired, not revoked, its device not revoked, its user active) and hold
one of the roles. The resulting :class:`Principal` is in ``g.principal``. Every role × endpoint
pair is therefore written next to the endpoint, where a reviewer sees it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import g, request
from flask_smorest import Blueprint

from server import clock
from server.accounts.models import ApiToken, Device, Role, User
from server.accounts.services import hash_token
from server.errors import ZichaError
from server.extensions import db

# Writing last_seen_at on every request would turn every read into a write.
_LAST_SEEN_RESOLUTION = timedelta(minutes=5)

BEARER = [{"bearerAuth": []}]


@dataclass(frozen=True)
class Principal:
    user_id: int
    enterprise_id: int
    role: Role
    device_id: int | None
    token_id: int


_LOOKUP = (
    sa.select(ApiToken.id, ApiToken.expires_at, ApiToken.device_id, User.id, User.enterprise_id, User.role, Device.last_seen_at)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Device, Device.id == ApiToken.device_id)
    .where(ApiToken.token_hash == sa.bindparam("h"), ApiToken.revoked_at.is_(None), User.active.is_(True), Device.revoked_at.is_(None))
)


def authenticate() -> Principal:
    """Resolve the request's bearer token to a principal, or raise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ZichaError("unauthorized")
    row = db.session.execute(_LOOKUP, {"h": hash_token(token.strip())}).first()
    now = clock.now()
    if row is None:
        raise ZichaError("invalid_token")
    token_id, expires_at, device_id, user_id, enterprise_id, role, last_seen = row
    if expires_at <= now:
        raise ZichaError("invalid_token")
    if device_id is not None and (last_seen is None or last_seen < now - _LAST_SEEN_RESOLUTION):
        db.session.execute(sa.update(Device).where(Device.id == device_id).values(last_seen_at=now))
        db.session.commit()
    return Principal(user_id, enterprise_id, Role(role), device_id, token_id)


def require(*roles: Role):
    """Decorator: authenticate, then allow only ``roles`` (any role when none are named)."""
    allowed = frozenset(roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if allowed and principal.role not in allowed:
                raise ZichaError("forbidden")
            g.principal = principal
            return view(*args, **kwargs)

        return Blueprint.doc(security=BEARER)(wrapper)

    return decorator


def current() -> Principal:
    """The authenticated caller of this request."""
    return g.principal
