"""Which posts a supervisor sees: the ones they supervise, plus every post of a site granted to them.

The issue's rule is "a supervisor only their own posts unless granted more"; the grant is a
whole site (a 车间主任 over several teams). :func:`supervised_post_ids` is the one definition of
that scope — checks, misses, pauses, hazards, family reports and the overview all filter through
it. A grant widens what a supervisor *sees*; alerts still go to each post's own supervisor.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from server import clock
from server.accounts.models import Role, User
from server.database import get_owned
from server.enterprises.models import Site
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post, SiteGrant


def supervised_post_ids(enterprise_id: int, user_id: int) -> sa.Select:
    """A ``SELECT`` of the ids of the posts this supervisor sees (for ``column.in_(...)``)."""
    granted = sa.select(SiteGrant.site_id).where(SiteGrant.enterprise_id == enterprise_id, SiteGrant.user_id == user_id)
    return sa.select(Post.id).where(Post.enterprise_id == enterprise_id, sa.or_(Post.supervisor_id == user_id, Post.site_id.in_(granted)))


def supervised_site_ids(enterprise_id: int, user_id: int) -> sa.Select:
    """A ``SELECT`` of the sites where this supervisor sees at least one post, or the whole site."""
    return sa.select(Post.site_id).where(Post.id.in_(supervised_post_ids(enterprise_id, user_id)))


def granted_sites(enterprise_id: int, user_id: int) -> list[Site]:
    """The sites granted to a user, by name."""
    get_owned(User, user_id, enterprise_id)
    return list(
        db.session.scalars(
            sa.select(Site).join(SiteGrant, SiteGrant.site_id == Site.id)
            .where(SiteGrant.enterprise_id == enterprise_id, SiteGrant.user_id == user_id).order_by(Site.name, Site.id)
        )
    )


def set_granted_sites(enterprise_id: int, user_id: int, site_ids: Iterable[int], by_user_id: int) -> list[Site]:
    """Make ``site_ids`` exactly the sites granted to a supervisor (an empty list takes every
    grant back). Every site must be the enterprise's (``not_found`` otherwise: another tenant's
    id looks like no id); only supervisors take grants — managers see everything already."""
    user = get_owned(User, user_id, enterprise_id)
    wanted = set(site_ids)
    for site_id in wanted:
        get_owned(Site, site_id, enterprise_id)
    if wanted and user.role is not Role.SUPERVISOR:
        raise ZichaError("validation_failed", {"site_ids": ["only a supervisor can be granted sites"]})
    have = set(db.session.scalars(sa.select(SiteGrant.site_id).where(SiteGrant.enterprise_id == enterprise_id, SiteGrant.user_id == user_id)))
    if have - wanted:
        db.session.execute(sa.delete(SiteGrant).where(SiteGrant.user_id == user_id, SiteGrant.site_id.in_(have - wanted)))
    now = clock.now()
    for site_id in sorted(wanted - have):
        db.session.add(SiteGrant(user_id=user_id, site_id=site_id, enterprise_id=enterprise_id, granted_by_id=by_user_id, granted_at=now))
    db.session.flush()
    return granted_sites(enterprise_id, user_id)
