"""Post rules: creating and editing posts, QR tokens, and the data printed on labels."""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.models import User
from server.database import get_owned
from server.enterprises.models import Enterprise, Site
from server.errors import ZichaError
from server.extensions import db
from server.posts.labels import LabelData
from server.posts.models import Post, RiskLevel


def new_qr_token() -> str:
    """256 random bits, URL-safe: a label cannot be guessed or enumerated."""
    return secrets.token_urlsafe(32)


def qr_url(token: str) -> str:
    """What a post's QR code encodes: ``<public base URL>/q/<token>``."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/q/{token}"


def _check_supervisor(enterprise_id: int, user_id: int | None) -> None:
    if user_id is not None:
        get_owned(User, user_id, enterprise_id)


def create_post(enterprise_id: int, site_id: int, name: str, risk_level: RiskLevel, location: str = "", supervisor_id: int | None = None) -> Post:
    get_owned(Site, site_id, enterprise_id)
    _check_supervisor(enterprise_id, supervisor_id)
    post = Post(
        enterprise_id=enterprise_id,
        site_id=site_id,
        name=name,
        risk_level=risk_level,
        location=location,
        supervisor_id=supervisor_id,
        qr_token=new_qr_token(),
        created_at=clock.now(),
    )
    db.session.add(post)
    db.session.flush()
    return post


def update_post(enterprise_id: int, post_id: int, changes: dict) -> Post:
    post = get_owned(Post, post_id, enterprise_id)
    if "site_id" in changes:
        get_owned(Site, changes["site_id"], enterprise_id)
    if "supervisor_id" in changes:
        _check_supervisor(enterprise_id, changes["supervisor_id"])
    for key, value in changes.items():
        setattr(post, key, value)
    db.session.flush()
    return post


def rotate_qr_token(enterprise_id: int, post_id: int) -> Post:
    """Give a post a new QR token (reprint); the old token stops resolving at once."""
    post = get_owned(Post, post_id, enterprise_id)
    post.qr_token = new_qr_token()
    post.qr_rotated_at = clock.now()
    db.session.flush()
    return post


def list_posts(enterprise_id: int, site_id: int | None = None) -> list[Post]:
    query = sa.select(Post).where(Post.enterprise_id == enterprise_id).order_by(Post.id)
    if site_id is not None:
        query = query.where(Post.site_id == site_id)
    return list(db.session.scalars(query))


def find_by_token(token: str) -> Post | None:
    """The active post a QR token names, in any enterprise (the public /q/ page's look-up)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Post).where(Post.qr_token == token, Post.active.is_(True)))


def label_data(post: Post) -> LabelData:
    enterprise = db.session.get(Enterprise, post.enterprise_id)
    return LabelData(
        post_name=post.name,
        site_name=post.site.name,
        risk_level=post.risk_level.value,
        url=qr_url(post.qr_token),
        enterprise_name=enterprise.name if enterprise else "",
    )


def site_labels(enterprise_id: int, site_id: int) -> tuple[Site, list[LabelData]]:
    """Labels for every active post of a site, for one printable sheet."""
    site = get_owned(Site, site_id, enterprise_id)
    posts = [p for p in list_posts(enterprise_id, site_id) if p.active]
    if not posts:
        raise ZichaError("not_found", {"site_id": ["this site has no active posts to print"]})
    return site, [label_data(p) for p in posts]
