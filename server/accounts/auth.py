"""Bearer-token authentication and role checks for API views.

``@require(Role.ADMIN, …)`` on a view: the caller must send ``Authorization: Bearer <token>``
for a live token (not expired, not revoked, its device not revoked, its user active) and hold
one of the roles. The resulting :class:`Principal` is in ``g.principal``. Every role × endpoint
pair is therefore written next to the endpoint, where a reviewer sees it.
"""
from __future__ import annotations

import functools
from copy import deepcopy
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import g, request
from flask_smorest.utils import deepupdate

from server import clock
from server.accounts.models import ApiToken, Device, Role, User
from server.accounts.services import hash_token
from server.enterprises.models import Enterprise
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
    # The enterprise's calendar rides along: nearly every request needs it to name a period.
    timezone: str
    shifts: tuple[str, ...]


_LOOKUP = (
    sa.select(
        ApiToken.id, ApiToken.expires_at, ApiToken.device_id, User.id, User.enterprise_id, User.role,
        Device.last_seen_at, Enterprise.timezone, Enterprise.shifts,
    )
    .join(User, User.id == ApiToken.user_id)
    .join(Enterprise, Enterprise.id == User.enterprise_id)
    .outerjoin(Device, Device.id == ApiToken.device_id)
    .where(ApiToken.token_hash == sa.bindparam("h"), ApiToken.revoked_at.is_(None), User.active.is_(True), Device.revoked_at.is_(None))
)


def authenticate() -> Principal:
    """Resolve the request's bearer token to a principal, or raise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ZichaError("unauthorized")
    return principal_for_token(token.strip())


def principal_for_token(token: str) -> Principal:
    """The principal of a live token, or ``invalid_token`` (401). The API's bearer tokens and
    the dashboard's sessions (which hold a token in their cookie) both resolve here, so expiry,
    sign-out, a deactivated user and a revoked device end both the same way."""
    # Core on the session's connection: this runs on every request, the ORM layer adds nothing here.
    row = db.session.connection().execute(_LOOKUP, {"h": hash_token(token)}).first()
    now = clock.now()
    if row is None:
        raise ZichaError("invalid_token")
    token_id, expires_at, device_id, user_id, enterprise_id, role, last_seen, timezone, shifts = row
    if expires_at <= now:
        raise ZichaError("invalid_token")
    if device_id is not None and (last_seen is None or last_seen < now - _LAST_SEEN_RESOLUTION):
        db.session.execute(sa.update(Device).where(Device.id == device_id).values(last_seen_at=now))
        db.session.commit()
    return Principal(user_id, enterprise_id, Role(role), device_id, token_id, timezone, tuple(shifts))


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

        # Document the bearer requirement the way flask-smorest's Blueprint.doc does, without
        # adding another wrapper call to every request.
        wrapper._apidoc = deepupdate(deepcopy(getattr(view, "_apidoc", {})), {"manual_doc": {"security": BEARER}})
        return wrapper

    return decorator


def current() -> Principal:
    """The authenticated caller of this request."""
    return g.principal


def caller_page(lister, filters, pagination_parameters):
    """One page of a listing for the caller, for a ``blp.paginate`` view: ``lister(principal,
    filters, page, page_size)`` answers the rows and the total, which goes in ``X-Pagination``."""
    rows, total = lister(current(), filters, pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return rows
