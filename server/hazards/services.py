"""The rules of the hazard closed loop (隐患闭环). Every function here only flushes.

One function per transition; each checks the caller's role, the hazard's status and the fields
the step needs, changes the hazard and appends one ``hazard_events`` row with who, when, from →
to, the note or reason, the evidence photos and every field it changed (old and new). Nothing is
deleted or overwritten without such a row, so the ledger can always say how a hazard got here.

Who may do what (the views require the roles; the services check the rest):

=================  =================================  ======================================
step               from → to                          who
=================  =================================  ======================================
report             — → reported                       anyone signed in (worker, supervisor,
                                                      safety_manager, admin)
confirm (+grade)   reported → confirmed               safety_manager, admin
reject             reported|confirmed → rejected      safety_manager, admin
assign             confirmed → assigned               safety_manager, admin (重大: the
                                                      五到位 plan must be complete)
rectify            assigned → rectified               the responsible person (any role), or
                                                      any supervisor of the enterprise
verify (pass)      rectified → closed                 safety_manager, admin — never the user
                                                      who rectified it (``hazard_same_verifier``)
verify (fail)      rectified → assigned               the same; it is rectified again
=================  =================================  ======================================

Who sees what: managers see the whole enterprise's ledger; a supervisor the hazards of the posts
they supervise, those they found and those they are responsible for; a worker those they found or
are responsible for. Anything else — another tenant's above all — is ``not_found``.
"""
from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Role, User
from server.checks.models import Check
from server.database import dialect_insert, get_owned, insert_returning_ids, one_or_not_found, page_of
from server.enterprises.models import Enterprise, Site
from server.errors import ZichaError
from server.extensions import db
from server.posts.grants import supervised_post_ids
from server.hazards.models import Hazard, HazardCounter, HazardEvent, HazardGrade, HazardSource, HazardStatus, HazardType, RectifyMode
from server.posts.models import Post, RiskLevel

NUMBER_PREFIX = "YH"  # 隐患
# Colours whose failed items open a hazard draft by themselves (重大 and 较大 risk).
DRAFT_COLOURS = frozenset({RiskLevel.RED, RiskLevel.ORANGE})
# The 五到位 of a 重大 hazard's plan: measures, funds, responsible person, deadline, emergency measures.
MAJOR_PLAN_FIELDS = ("measures", "funds", "responsible_id", "deadline", "emergency_measures")


# --------------------------------------------------------------------------- numbering


def next_number(enterprise_id: int, year: int) -> str:
    """The enterprise's next hazard number for ``year``, e.g. ``YH-2026-0001``."""
    return next_numbers(enterprise_id, year, 1)[0]


def next_numbers(enterprise_id: int, year: int, count: int) -> list[str]:
    """The enterprise's next ``count`` hazard numbers for ``year``, consecutive, in order.

    The counter row is created if missing (``ON CONFLICT DO NOTHING``: two first reports of a year
    do not clash) and bumped by ``count`` with ``UPDATE … RETURNING`` in the caller's transaction:
    the row stays locked until that transaction ends, so concurrent reports get consecutive
    numbers in commit order, and a rolled-back report takes its numbers back — the ledger has no
    holes. One statement whatever ``count`` is, so a push that opens many drafts pays it once.
    """
    table = HazardCounter.__table__
    db.session.execute(dialect_insert(table).values(enterprise_id=enterprise_id, year=year, last=0).on_conflict_do_nothing())
    last = db.session.execute(
        sa.update(table).where(table.c.enterprise_id == enterprise_id, table.c.year == year).values(last=table.c.last + count).returning(table.c.last)
    ).scalar_one()
    return [f"{NUMBER_PREFIX}-{year}-{n:04d}" for n in range(last - count + 1, last + 1)]


def _local_year(moment: datetime, zone: str) -> int:
    return moment.astimezone(ZoneInfo(zone)).year


# --------------------------------------------------------------------------- history


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return getattr(value, "value", value)


def _apply(hazard: Hazard, values: Mapping[str, Any]) -> dict:
    """Set ``values`` on the hazard; the {field: [old, new]} of those that really changed."""
    changes = {}
    for name, new in values.items():
        old = getattr(hazard, name)
        if old != new:
            changes[name] = [_json(old), _json(new)]
            setattr(hazard, name, new)
    return changes


def _record(hazard: Hazard, action: str, before: HazardStatus | None, actor_id: int | None, changes: dict, note: str = "", photos: Sequence[str] = ()) -> HazardEvent:
    now = clock.now()
    hazard.updated_at = now
    event = HazardEvent(
        hazard_id=hazard.id, enterprise_id=hazard.enterprise_id, action=action, from_status=None if before is None else before.value,
        to_status=hazard.status.value, at=now, actor_id=actor_id, note=note or "", photos=list(photos), changes=changes,
    )
    db.session.add(event)
    db.session.flush()
    db.session.expire(hazard, ["events"])
    return event


# --------------------------------------------------------------------------- reporting


def _place(enterprise_id: int, post_id: int | None, site_id: int | None) -> tuple[Post | None, int | None]:
    """The post (inside the enterprise) and the site: a post's site when no site is given."""
    post = get_owned(Post, post_id, enterprise_id) if post_id is not None else None
    if site_id is not None:
        get_owned(Site, site_id, enterprise_id)
    elif post is not None:
        site_id = post.site_id
    return post, site_id


def _active_user(enterprise_id: int, user_id: int, field: str) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.enterprise_id != enterprise_id or not user.active:
        raise ZichaError("validation_failed", {field: ["no active user of this enterprise has this id"]})
    return user


def report(principal: Principal, data: Mapping) -> Hazard:
    """Report a hazard (上报): anyone signed in. It gets the enterprise's next number for the
    year it was reported in (enterprise's zone) and starts ``reported``; grading comes with the
    confirmation. Photos are SHA-256 digests: they travel on their own and may arrive later."""
    now = clock.now()
    post, site_id = _place(principal.enterprise_id, data.get("post_id"), data.get("site_id"))
    found_at = data.get("found_at") or now
    if found_at > now:
        raise ZichaError("validation_failed", {"found_at": ["must not be in the future"]})
    return _create(
        principal.enterprise_id,
        principal.timezone,
        principal.user_id,
        now,
        {
            "client_id": data.get("client_id"),
            "source": data.get("source") or HazardSource.DAILY,
            "type": data.get("type") or HazardType.OTHER,
            "found_at": found_at,
            "post_id": None if post is None else post.id,
            "site_id": site_id,
            "location": data.get("location") or (post.location if post is not None else ""),
            "description": data["description"],
            "basis": data.get("basis") or "",
            "photos_before": list(dict.fromkeys(data.get("photos") or [])),
        },
        data.get("note") or "",
    )


def _create(enterprise_id: int, zone: str, found_by_id: int, now: datetime, values: dict, note: str = "") -> Hazard:
    hazard = Hazard(
        enterprise_id=enterprise_id, number=next_number(enterprise_id, _local_year(now, zone)), status=HazardStatus.REPORTED,
        found_by_id=found_by_id, created_at=now, updated_at=now, **values,
    )
    db.session.add(hazard)
    db.session.flush()
    _record(hazard, "reported", None, found_by_id, {}, note, hazard.photos_before)
    return hazard


class DeviceOutcome(str, enum.Enum):
    """What became of a hazard a device sent (see :func:`create_from_device`)."""

    NEW = "new"              # a new hazard
    MERGED = "merged"        # added to the draft a failed item on a red or orange post opened
    DUPLICATE = "duplicate"  # this id was stored before with this content: a retry
    CONFLICT = "conflict"    # this id was stored before with other content (or by another enterprise)


def create_from_device(principal: Principal, record: Mapping) -> tuple[Hazard | None, DeviceOutcome]:
    """A hazard a device raised, possibly offline, keyed by its client UUID ``record["id"]``
    (the sync push's records of type ``hazard``; see :mod:`server.hazards.device`).

    ``record`` carries what :func:`report` takes, plus ``check_id`` / ``check_item_id`` when
    raised from a check's failed item. The same id again is a retry: ``duplicate``, never a
    second hazard. The same id with other content is a ``conflict``: the first hazard stays as
    it was and the newcomer is kept in its history (a ``resent`` step), so nothing is lost; an
    id another enterprise used is a ``conflict`` that leaves no trace in either. When a draft
    for the failed item exists (opened when a red or orange post's check is followed up, which
    happens here first if the check still owes it), the device's description and photos are
    added to it (``merged``) instead of opening a second hazard. A check that is not the enterprise's (or not here) is not linked — the hazard is
    stored all the same and its first step says so: a hazard is never refused for a link.
    """
    client_id = uuid.UUID(str(record["id"]))
    photos = list(dict.fromkeys(record.get("photos") or []))
    existing = db.session.scalar(sa.select(Hazard).where(Hazard.client_id == client_id))
    if existing is not None:
        if existing.enterprise_id != principal.enterprise_id:
            return None, DeviceOutcome.CONFLICT
        if record["description"] == existing.description and set(photos) <= set(existing.photos_before):
            return existing, DeviceOutcome.DUPLICATE
        resent = {"description": record["description"], "photos": photos, "check_item_id": record.get("check_item_id")}
        _record(existing, "resent", existing.status, principal.user_id, {"resent": [None, resent]},
                "同一编号再次上传但内容不同，已留存 / the same id sent again with other content, kept here", photos)
        return existing, DeviceOutcome.CONFLICT
    check_id, note = record.get("check_id"), record.get("note") or ""
    if check_id is not None:
        check_id = uuid.UUID(str(check_id))
        if db.session.scalar(sa.select(Check.id).where(Check.id == check_id, Check.enterprise_id == principal.enterprise_id)) is None:
            note = f"{note}\n关联检查 {check_id} 未找到，未关联 / check not found, not linked".strip()
            check_id = None
    item_id = record.get("check_item_id")
    if check_id is not None and item_id is not None:
        from server.checks.follow_up import follow_up

        follow_up([check_id])  # the item's draft, if its check still owes it (stored moments ago)
        draft = db.session.scalar(sa.select(Hazard).where(Hazard.check_id == check_id, Hazard.check_item_id == item_id).with_for_update())
        if draft is not None and draft.client_id is None:
            merged = list(dict.fromkeys([*draft.photos_before, *photos]))
            changes = _apply(draft, {"client_id": client_id, "description": record["description"], "photos_before": merged})
            _record(draft, "described", draft.status, principal.user_id, changes, note, photos)
            return draft, DeviceOutcome.MERGED
        if draft is not None:
            item_id = None  # the item has its hazard already (another report): link to the check only
    hazard = report(principal, {**record, "client_id": client_id, "note": note})
    if check_id is not None:
        hazard.check_id, hazard.check_item_id = check_id, item_id
        db.session.flush()
    return hazard, DeviceOutcome.NEW


def drafts_for_failed_checks(described: Sequence[Mapping]) -> list[int]:
    """A ``reported`` draft for each failed item of each check on a red or orange post, so a
    failed control measure can never quietly disappear; returns the new hazards' ids.

    ``described`` is what :func:`server.alerts.services.describe_failed_checks` answers (the
    caller already has it for the failed-item alert): checks with ``failed_items`` carrying
    ``item_id`` and labels. Source 管控措施实效 (a checklist item is a control measure that did not
    hold), found by the check's author at the check's time, photos from the item's answer. A
    (check, item) that already has its hazard is skipped, so a repeated call changes nothing.
    """
    checks = [c for c in described if RiskLevel(c["risk_level"]) in DRAFT_COLOURS and c.get("failed_items")]
    if not checks:
        return []
    ids = [c["id"] for c in checks]
    known = set(db.session.execute(sa.select(Hazard.check_id, Hazard.check_item_id).where(Hazard.check_id.in_(ids))).all())
    facts = {
        r.id: r
        for r in db.session.execute(
            sa.select(Check.id, Check.user_id, Check.performed_at, Check.answers, Post.site_id, Post.location, Enterprise.timezone)
            .join(Post, Post.id == Check.post_id)
            .join(Enterprise, Enterprise.id == Check.enterprise_id)
            .where(Check.id.in_(ids))
        )
    }
    now = clock.now()
    rows: dict[tuple[int, int], list[dict]] = {}  # (enterprise, year) → new hazards, in order
    for c in checks:
        fact = facts[c["id"]]
        photos = {a["item_id"]: a.get("photos") or [] for a in fact.answers}
        for item in c["failed_items"]:
            item_id = item.get("item_id")
            if (c["id"], item_id) in known:
                continue
            known.add((c["id"], item_id))
            rows.setdefault((c["enterprise_id"], _local_year(now, fact.timezone)), []).append({
                "enterprise_id": c["enterprise_id"], "status": HazardStatus.REPORTED, "source": HazardSource.CONTROL_MEASURE,
                "type": HazardType.OTHER, "found_at": fact.performed_at, "found_by_id": fact.user_id,
                "post_id": c["post_id"], "site_id": fact.site_id, "location": fact.location or "",
                "description": f"检查项不合格：{item.get('label') or item_id}", "check_id": c["id"], "check_item_id": item_id,
                "photos_before": list(photos.get(item_id, [])), "created_at": now, "updated_at": now,
            })
    created: list[int] = []
    for (enterprise_id, year), new in rows.items():
        for row, number in zip(new, next_numbers(enterprise_id, year, len(new))):
            row["number"] = number
        created += _insert_reported(new, now, "检查不合格自动生成的隐患草稿 / draft raised by a failed checklist item")
    return created


def _insert_reported(rows: list[dict], now: datetime, note: str) -> list[int]:
    """Insert new ``reported`` hazards and their first history step in two statements (a push
    may open dozens of drafts: ORM objects one by one cost a flush each); their ids, in order."""
    ids = insert_returning_ids(Hazard.__table__, rows)
    db.session.execute(sa.insert(HazardEvent.__table__), [
        {"hazard_id": hid, "enterprise_id": row["enterprise_id"], "action": "reported", "from_status": None,
         "to_status": HazardStatus.REPORTED.value, "at": now, "actor_id": row["found_by_id"], "note": note,
         "photos": list(row["photos_before"]), "changes": {}}
        for hid, row in zip(ids, rows)
    ])
    return ids


# --------------------------------------------------------------------------- reading


def _visible(principal: Principal) -> list:
    """A filter on hazards: what the caller may see (see the module's table)."""
    clauses = [Hazard.enterprise_id == principal.enterprise_id]
    if principal.role in MANAGERS:
        return clauses
    mine = [Hazard.found_by_id == principal.user_id, Hazard.responsible_id == principal.user_id]
    if principal.role is Role.SUPERVISOR:
        mine.append(Hazard.post_id.in_(supervised_post_ids(principal.enterprise_id, principal.user_id)))
    return [*clauses, sa.or_(*mine)]


def _overdue(now: datetime) -> sa.ColumnElement[bool]:
    """Overdue: still being rectified when the deadline has come (the ledger filter and the sweep agree)."""
    return sa.and_(Hazard.status == HazardStatus.ASSIGNED, Hazard.deadline <= now)


_FILTERS = {
    "status": lambda v: Hazard.status == v,
    "grade": lambda v: Hazard.grade == v,
    "type": lambda v: Hazard.type == v,
    "source": lambda v: Hazard.source == v,
    "site_id": lambda v: Hazard.site_id == v,
    "post_id": lambda v: Hazard.post_id == v,
    "check_id": lambda v: Hazard.check_id == v,
    "since": lambda v: Hazard.found_at >= v,
    "until": lambda v: Hazard.found_at < v,
    "overdue": lambda v: _overdue(clock.now()) if v else sa.not_(_overdue(clock.now())),
}


# The ledger's order, most recently found first: the listing's pages and the exports' rows agree.
LEDGER_ORDER = (Hazard.found_at.desc(), Hazard.id.desc())


def ledger_clauses(principal: Principal, filters: Mapping) -> list:
    """The WHERE of the ledger (台账) under ``filters``: what the listing pages through and what
    the exports and statistics (issue 5, part 5) are to read, so all of them agree."""
    return _visible(principal) + [_FILTERS[name](value) for name, value in filters.items()]


def list_hazards(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[Hazard], int]:
    """The ledger: hazards the caller may see, the most recently found first, filtered by status,
    grade, type, source, site, post, check, when found (``since`` inclusive, ``until`` exclusive)
    and ``overdue`` (assigned and past the deadline now)."""
    query = sa.select(Hazard).order_by(*LEDGER_ORDER)
    return page_of(Hazard, query, ledger_clauses(principal, filters), page, page_size)


def hazard_queue(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[Hazard], int]:
    """The ledger as a work queue (the dashboard's list): what :func:`list_hazards` finds under
    the same filters, the overdue ones first (earliest deadline first), then the most recently
    found."""
    now = clock.now()
    first = sa.case((_overdue(now), 0), else_=1)
    query = sa.select(Hazard).order_by(first, sa.case((_overdue(now), Hazard.deadline), else_=None), *LEDGER_ORDER)
    return page_of(Hazard, query, ledger_clauses(principal, filters), page, page_size)


def hazard_for_alert(principal: Principal, alert_id: int) -> Hazard | None:
    """The hazard an ``overdue_hazard`` alert was raised for, if the caller may see it."""
    return db.session.scalar(sa.select(Hazard).where(Hazard.overdue_alert_id == alert_id, *_visible(principal)))


def get_hazard(principal: Principal, hazard_id: int, lock: bool = False) -> Hazard:
    """One hazard the caller may see, with its history; any other id is ``not_found``.
    ``lock``: hold its row until the transaction ends (a transition), so two steps at once on
    the same hazard are taken one after the other and the second finds the new status."""
    query = sa.select(Hazard).where(Hazard.id == hazard_id, *_visible(principal)).options(selectinload(Hazard.events))
    return one_or_not_found(query, Hazard if lock else None)


# --------------------------------------------------------------------------- transitions


# Which statuses each step starts from (the table above); the transitions and
# :func:`available_steps` both read it.
STEP_FROM: dict[str, tuple[HazardStatus, ...]] = {
    "confirm": (HazardStatus.REPORTED,),
    "reject": (HazardStatus.REPORTED, HazardStatus.CONFIRMED),
    "assign": (HazardStatus.CONFIRMED,),
    "rectify": (HazardStatus.ASSIGNED,),
    "verify": (HazardStatus.RECTIFIED,),
}
_MANAGER_STEPS = frozenset({"confirm", "reject", "assign", "verify"})


def available_steps(principal: Principal, hazard: Hazard) -> list[str]:
    """The steps ``principal`` may take on ``hazard`` now, by its status and the caller's role
    (rectify: the responsible person or a supervisor). What only the step itself can judge —
    that the verifier is not the rectifier — is left to the step, which refuses with its reason."""
    steps = []
    for step, allowed in STEP_FROM.items():
        if hazard.status not in allowed:
            continue
        if step in _MANAGER_STEPS and principal.role not in MANAGERS:
            continue
        if step == "rectify" and principal.user_id != hazard.responsible_id and principal.role is not Role.SUPERVISOR:
            continue
        steps.append(step)
    return steps


def _take(principal: Principal, hazard_id: int, action: str) -> tuple[Hazard, HazardStatus]:
    allowed = STEP_FROM[action]
    hazard = get_hazard(principal, hazard_id, lock=True)
    if hazard.status not in allowed:
        raise ZichaError("hazard_transition_invalid", {"status": hazard.status.value, "action": action, "allowed_from": [s.value for s in allowed]})
    return hazard, hazard.status


def _require_manager(principal: Principal) -> None:
    # The views already require these roles; the service says so too, for callers that are not views.
    if principal.role not in MANAGERS:
        raise ZichaError("forbidden")


def confirm(principal: Principal, hazard_id: int, data: Mapping) -> Hazard:
    """评估: a safety manager or admin confirms the hazard is real and grades it 一般 or 重大;
    type, basis and description may be corrected at the same time (the event keeps the old)."""
    _require_manager(principal)
    hazard, before = _take(principal, hazard_id, "confirm")
    values = {"status": HazardStatus.CONFIRMED, "grade": data["grade"]}
    values.update({k: data[k] for k in ("type", "basis", "description") if data.get(k) is not None})
    return _done(hazard, "confirmed", before, principal, _apply(hazard, values), data.get("note"))


def reject(principal: Principal, hazard_id: int, data: Mapping) -> Hazard:
    """不属实: a safety manager or admin rejects a reported (or confirmed, not yet assigned)
    hazard, with the reason. The hazard stays in the ledger as rejected."""
    _require_manager(principal)
    hazard, before = _take(principal, hazard_id, "reject")
    changes = _apply(hazard, {"status": HazardStatus.REJECTED, "reject_reason": data["reason"]})
    return _done(hazard, "rejected", before, principal, changes, data["reason"])


def assign(principal: Principal, hazard_id: int, data: Mapping) -> Hazard:
    """下达整改: a safety manager or admin names the responsible person (an active user of the
    enterprise), the deadline and the mode (即查即改 / 限期整改). A 重大 hazard is assigned only
    with its whole 五到位 plan — measures, funds, responsible person, deadline, emergency measures
    — else ``hazard_plan_incomplete`` lists what is missing."""
    _require_manager(principal)
    hazard, before = _take(principal, hazard_id, "assign")
    _active_user(principal.enterprise_id, data["responsible_id"], "responsible_id")
    if hazard.grade is HazardGrade.MAJOR:
        missing = [name for name in MAJOR_PLAN_FIELDS if data.get(name) in (None, "")]
        if missing:
            raise ZichaError("hazard_plan_incomplete", {name: ["required for a major hazard (重大隐患五到位)"] for name in missing})
    data = {**data, "deadline": _deadline(principal, data)}
    names = ("responsible_id", "responsible_department", "deadline", "mode", "measures", "funds", "emergency_measures")
    values = {"status": HazardStatus.ASSIGNED, **{k: data[k] for k in names if data.get(k) is not None}}
    return _done(hazard, "assigned", before, principal, _apply(hazard, values), data.get("note"))


def _deadline(principal: Principal, data: Mapping) -> datetime:
    """The deadline of an assignment: as given; for 即查即改 (fixed on the spot) without one, the
    end of today in the enterprise's zone; 限期整改 must name one."""
    if data.get("deadline") is not None:
        return data["deadline"]
    if data.get("mode") is not RectifyMode.ON_THE_SPOT:
        raise ZichaError("validation_failed", {"deadline": ["required for 限期整改 (by_deadline)"]})
    local = clock.now().astimezone(ZoneInfo(principal.timezone))
    return datetime.combine(local.date() + timedelta(days=1), time.min, local.tzinfo).astimezone(timezone.utc)


def rectify(principal: Principal, hazard_id: int, data: Mapping) -> Hazard:
    """整改完成: the responsible person or a supervisor reports the rectification with its
    evidence (what was done, photos after, cost, when completed). Anyone else: ``hazard_not_responsible``."""
    hazard, before = _take(principal, hazard_id, "rectify")
    if principal.user_id != hazard.responsible_id and principal.role is not Role.SUPERVISOR:
        raise ZichaError("hazard_not_responsible", {"responsible_id": hazard.responsible_id})
    now = clock.now()
    completed_at = data.get("completed_at") or now
    if completed_at > now:
        raise ZichaError("validation_failed", {"completed_at": ["must not be in the future"]})
    photos = list(dict.fromkeys(data.get("photos") or []))
    values = {
        "status": HazardStatus.RECTIFIED, "rectified_by_id": principal.user_id, "rectification_note": data["description"],
        "completed_at": completed_at, "photos_after": photos,
    }
    if data.get("cost") is not None:
        values["cost"] = data["cost"]
    return _done(hazard, "rectified", before, principal, _apply(hazard, values), data["description"], photos)


def verify(principal: Principal, hazard_id: int, data: Mapping) -> Hazard:
    """复查验收: a safety manager or admin other than the rectifier checks the work. Passed: the
    hazard is closed (销号). Failed: it goes back to ``assigned`` (a new deadline may be given,
    which allows a new overdue alert) and is rectified again; the note says what is wrong."""
    _require_manager(principal)
    hazard, before = _take(principal, hazard_id, "verify")
    if principal.user_id == hazard.rectified_by_id:
        raise ZichaError("hazard_same_verifier", {"rectified_by_id": hazard.rectified_by_id})
    passed = data["passed"]
    values: dict[str, Any] = {
        "status": HazardStatus.CLOSED if passed else HazardStatus.ASSIGNED, "verifier_id": principal.user_id,
        "verified_at": clock.now(), "verification_passed": passed, "verification_note": data.get("note") or "",
    }
    if not passed and data.get("deadline") is not None:
        values.update(deadline=data["deadline"], overdue_alert_id=None)
    photos = data.get("photos") or []
    return _done(hazard, "verified" if passed else "verification_failed", before, principal, _apply(hazard, values), data.get("note") or "", photos)


def _done(hazard: Hazard, action: str, before: HazardStatus, principal: Principal, changes: dict, note: str | None, photos: Sequence[str] = ()) -> Hazard:
    _record(hazard, action, before, principal.user_id, changes, note or "", photos)
    return hazard


# --------------------------------------------------------------------------- deadlines


def overdue(now: datetime) -> list[int]:
    """Assigned hazards past their deadline that have no overdue alert yet: raise one each through
    the alert mechanism (:func:`server.alerts.services.raise_for_overdue_hazards`), link it to the
    hazard and record an ``overdue`` event; returns the alerts' ids. A hazard is alerted once per
    deadline (a failed verification with a new deadline may alert again). The periodic runner
    holds a lease, so one sweep runs at a time; a repeated run finds nothing left. Only flushes."""
    from server.alerts.services import raise_for_overdue_hazards

    due = db.session.scalars(
        sa.select(Hazard)
        .where(_overdue(now), Hazard.overdue_alert_id.is_(None))
        .order_by(Hazard.deadline, Hazard.id)
    ).all()
    if not due:
        return []
    posts = {p.id: p for p in db.session.execute(sa.select(Post.id, Post.name, Post.supervisor_id).where(Post.id.in_({h.post_id for h in due if h.post_id} or {0})))}
    rows = [
        {
            "hazard_id": h.id, "enterprise_id": h.enterprise_id, "number": h.number, "grade": h.grade or HazardGrade.GENERAL,
            "description": h.description, "deadline": h.deadline, "post_id": h.post_id, "post_name": posts[h.post_id].name if h.post_id in posts else "",
            "responsible_id": h.responsible_id, "supervisor_id": posts[h.post_id].supervisor_id if h.post_id in posts else None,
        }
        for h in due
    ]
    alert_ids = raise_for_overdue_hazards(rows)
    for hazard, alert_id in zip(due, alert_ids):
        changes = _apply(hazard, {"overdue_alert_id": alert_id})
        _record(hazard, "overdue", hazard.status, None, changes, "逾期未整改，已提醒 / past its deadline, alert raised")
    return alert_ids
