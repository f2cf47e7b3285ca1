"""Account rules: creating users, signing in on a device, tokens, revoking a lost phone."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.models import ApiToken, Device, Role, User
from server.accounts.passwords import hash_password, verify_password
from server.database import get_owned
from server.enterprises.models import Enterprise
from server.errors import ZichaError
from server.extensions import db


def hash_token(token: str) -> str:
    """Tokens are stored as their SHA-256: a leaked database holds no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(enterprise_id: int, username: str, display_name: str, role: Role, password: str, phone: str | None = None) -> User:
    """Add a user to an enterprise; usernames are unique inside one enterprise."""
    exists = db.session.scalar(
        sa.select(User.id).where(User.enterprise_id == enterprise_id, User.username == username)
    )
    if exists:
        raise ZichaError("conflict", {"username": ["already taken in this enterprise"]})
    user = User(
        enterprise_id=enterprise_id,
        username=username,
        display_name=display_name,
        role=role,
        phone=phone,
        password_hash=hash_password(password),
        created_at=clock.now(),
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class SignIn:
    token: str
    api_token: ApiToken
    user: User
    device: Device | None


def check_password(enterprise_code: str, username: str, password: str) -> User:
    """The active user these credentials name, or ``invalid_credentials`` (401).

    Lockout: after ``SIGN_IN_MAX_FAILURES`` wrong passwords in a row the account refuses every
    password with ``account_locked`` (429) for ``SIGN_IN_LOCK_MINUTES``; a right password resets
    the count. The count is flushed before the refusal is raised, so the caller must commit on
    that error too (the sign-in views do) or the lockout would never engage. A locked account is
    refused before its password is hashed: guessing costs the server nothing while it is locked.
    """
    now = clock.now()
    user = db.session.scalar(
        sa.select(User).join(Enterprise, Enterprise.id == User.enterprise_id).where(
            Enterprise.code == enterprise_code, User.username == username
        )
    )
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise ZichaError("account_locked", {"retry_after_seconds": int((user.locked_until - now).total_seconds()) + 1})
    if not verify_password(user.password_hash if user else None, password) or not user.active:
        if user is not None:
            _count_failure(user, now)
        raise ZichaError("invalid_credentials")
    if user.failed_sign_ins or user.locked_until is not None:
        user.failed_sign_ins, user.locked_until = 0, None
    return user


def _count_failure(user: User, now) -> None:
    config = current_app.config
    # One UPDATE that adds in the database: two wrong guesses at once both count.
    failures = db.session.execute(
        sa.update(User).where(User.id == user.id).values(failed_sign_ins=User.failed_sign_ins + 1).returning(User.failed_sign_ins)
    ).scalar_one()
    if failures >= config["SIGN_IN_MAX_FAILURES"]:
        db.session.execute(
            sa.update(User).where(User.id == user.id).values(failed_sign_ins=0, locked_until=now + timedelta(minutes=config["SIGN_IN_LOCK_MINUTES"]))
        )
    db.session.flush()


def sign_in(
    enterprise_code: str, username: str, password: str, device_info: dict | None, ttl: timedelta | None = None, roles: frozenset[Role] | None = None
) -> SignIn:
    """Check the password and issue a bearer token, bound to the device when one is given.

    A device is known by its app's install id; signing in from a revoked device is refused
    until an administrator restores it, so a lost phone stays locked out. ``ttl`` shortens the
    token's life (the dashboard's sessions); the default is ``TOKEN_TTL_DAYS``. ``roles``: only
    these may sign in here (``forbidden`` for the others, after the password was found right).
    """
    user = check_password(enterprise_code, username, password)
    if roles is not None and user.role not in roles:
        raise ZichaError("forbidden")
    now = clock.now()
    device = None
    if device_info:
        device = db.session.scalar(
            sa.select(Device).where(Device.enterprise_id == user.enterprise_id, Device.install_id == device_info["install_id"])
        )
        if device is None:
            device = Device(enterprise_id=user.enterprise_id, install_id=device_info["install_id"], created_at=now)
            db.session.add(device)
        elif device.revoked_at is not None:
            raise ZichaError("device_revoked")
        device.name = device_info.get("name", device.name or "")
        device.platform = device_info.get("platform", device.platform or "")
        device.user_id = user.id
        device.last_seen_at = now
        db.session.flush()
    token = secrets.token_urlsafe(32)
    api_token = ApiToken(
        enterprise_id=user.enterprise_id,
        user_id=user.id,
        device_id=device.id if device else None,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + (ttl or timedelta(days=current_app.config["TOKEN_TTL_DAYS"])),
    )
    db.session.add(api_token)
    db.session.flush()
    return SignIn(token, api_token, user, device)


def revoke_token(token_id: int) -> None:
    """Sign out: the token stops working at once."""
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=clock.now())
    )


def revoke_device(enterprise_id: int, device_id: int, by_user_id: int) -> Device:
    """A lost phone: revoke the device and every token issued to it."""
    device = get_owned(Device, device_id, enterprise_id)
    now = clock.now()
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_by_id = by_user_id
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.device_id == device.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    db.session.flush()
    return device


def restore_device(enterprise_id: int, device_id: int) -> Device:
    """Allow a revoked device to sign in again (its old tokens stay dead)."""
    device = get_owned(Device, device_id, enterprise_id)
    device.revoked_at = None
    device.revoked_by_id = None
    db.session.flush()
    return device


def list_devices(enterprise_id: int) -> list[Device]:
    return list(db.session.scalars(sa.select(Device).where(Device.enterprise_id == enterprise_id).order_by(Device.id)))


def update_me(enterprise_id: int, user_id: int, changes: dict) -> User:
    """Change the caller's own preferences (today: ``locale``, the language of their digests)."""
    user = get_owned(User, user_id, enterprise_id)
    for key, value in changes.items():
        setattr(user, key, value)
    db.session.flush()
    return user


def list_users(enterprise_id: int) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.enterprise_id == enterprise_id).order_by(User.id)))


def _revoke_user_tokens(user_id: int, keep_token_id: int | None = None) -> None:
    """End every live token of a user (API and dashboard alike), but ``keep_token_id``."""
    stmt = sa.update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep_token_id is not None:
        stmt = stmt.where(ApiToken.id != keep_token_id)
    db.session.execute(stmt.values(revoked_at=clock.now()).execution_options(synchronize_session=False))


def update_user(enterprise_id: int, user_id: int, changes: dict, by_user_id: int) -> User:
    """An admin changes a user's ``display_name``, ``phone`` (None clears it), ``role`` or
    ``active``. Users are deactivated, never deleted: their checks and hazards keep their name.

    Deactivating revokes every token the user holds, so their phone and their dashboard stop at
    once (and reactivating does not bring old sessions back). Nobody may deactivate themselves
    or take away their own admin role (``self_lockout``): only admins change users, so this
    keeps at least one active admin in every enterprise.
    """
    user = get_owned(User, user_id, enterprise_id)
    if user.id == by_user_id and (changes.get("active") is False or changes.get("role", user.role) is not user.role):
        raise ZichaError("self_lockout")
    for key in ("display_name", "phone", "role", "active"):
        if key in changes:
            setattr(user, key, changes[key])
    if changes.get("active") is False:
        _revoke_user_tokens(user.id)
    db.session.flush()
    return user


def set_password(enterprise_id: int, user_id: int, password: str, keep_token_id: int | None = None) -> User:
    """An admin sets a new password for a user (a forgotten or leaked one). The user's other
    sessions and phones are signed out (``keep_token_id``: the caller's own session, when an
    admin sets their own), and a lockout is lifted, so the new password works at once."""
    user = get_owned(User, user_id, enterprise_id)
    user.password_hash = hash_password(password)
    user.failed_sign_ins, user.locked_until = 0, None
    _revoke_user_tokens(user.id, keep_token_id)
    db.session.flush()
    return user


def unlock(enterprise_id: int, user_id: int) -> User:
    """Lift a sign-in lockout before it runs out (the wrong-password count starts over)."""
    user = get_owned(User, user_id, enterprise_id)
    user.failed_sign_ins, user.locked_until = 0, None
    db.session.flush()
    return user
