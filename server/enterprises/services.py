"""Enterprise and site rules."""
from __future__ import annotations

import sqlalchemy as sa

from server import clock
from server.database import get_owned
from server.enterprises.models import Enterprise, Site
from server.errors import ZichaError
from server.extensions import db
from sync.periods import parse_shifts
from zoneinfo import available_timezones


def create_enterprise(code: str, name: str, timezone: str = "Asia/Shanghai", shifts: list[str] | None = None) -> Enterprise:
    """Create a tenant. The time zone must be an IANA name; periods are computed in it."""
    if timezone not in available_timezones():
        raise ZichaError("validation_failed", {"timezone": ["unknown IANA time zone"]})
    if db.session.scalar(sa.select(Enterprise.id).where(Enterprise.code == code)):
        raise ZichaError("conflict", {"code": ["already taken"]})
    enterprise = Enterprise(code=code, name=name, timezone=timezone, created_at=clock.now())
    if shifts is not None:
        try:
            enterprise.shifts = [t.strftime("%H:%M") for t in parse_shifts(shifts)]
        except ValueError as exc:
            raise ZichaError("validation_failed", {"shifts": [str(exc)]}) from exc
    db.session.add(enterprise)
    db.session.flush()
    return enterprise


def create_site(enterprise_id: int, name: str, parent_id: int | None = None) -> Site:
    if parent_id is not None:
        get_owned(Site, parent_id, enterprise_id)
    site = Site(enterprise_id=enterprise_id, name=name, parent_id=parent_id, created_at=clock.now())
    db.session.add(site)
    db.session.flush()
    return site


def update_site(enterprise_id: int, site_id: int, changes: dict) -> Site:
    site = get_owned(Site, site_id, enterprise_id)
    if "parent_id" in changes and changes["parent_id"] is not None:
        parent = get_owned(Site, changes["parent_id"], enterprise_id)
        # Walk up from the new parent: finding the site itself would make a cycle.
        node: Site | None = parent
        while node is not None:
            if node.id == site.id:
                raise ZichaError("validation_failed", {"parent_id": ["a site cannot be inside itself"]})
            node = node.parent
    for key, value in changes.items():
        setattr(site, key, value)
    db.session.flush()
    return site


def list_sites(enterprise_id: int) -> list[Site]:
    return list(db.session.scalars(sa.select(Site).where(Site.enterprise_id == enterprise_id).order_by(Site.id)))


def site_tree(enterprise_id: int) -> list[tuple[Site, int]]:
    """The enterprise's sites in tree order — each parent followed by its children (by id) —
    with each one's depth (0 for a top-level site), for an indented list."""
    sites = list_sites(enterprise_id)
    children: dict[int | None, list[Site]] = {}
    for site in sites:
        children.setdefault(site.parent_id, []).append(site)
    ordered: list[tuple[Site, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for site in children.get(parent_id, []):
            ordered.append((site, depth))
            walk(site.id, depth + 1)

    walk(None, 0)
    return ordered
