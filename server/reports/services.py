"""The rules of family reports (家属举报). Every function here only flushes; the caller commits.

**The public side** (no account) is three functions, all a report page needs:
:func:`public_form` (what the form at ``/r/<token>`` shows), :func:`submit` (store a report,
answer its receipt code once) and :func:`status` (what a receipt code may learn). They take
only what the reporter typed and the photos' bytes — never a request — so nothing about the
sender's connection (address, user agent, cookies) can reach a row.

**The enterprise side** is the triage queue. Who sees and does what (the views admit the roles,
these functions filter):

===================  ===========================================================================
who                  what
===================  ===========================================================================
safety_manager,      every report of the enterprise: list, read, confirm (→ a Hazard with source
admin                举报 through :func:`server.hazards.services.report`), reject as not a hazard,
                     reply, grant and pay rewards, read the contact log
supervisor           read only, the reports on sites where they supervise a post — except a report
                     that concerns the site's supervisor (``concerns_supervisor``): no supervisor
                     sees those at all, nor hears of them (the alert goes to managers and head)
designated readers   the sealed contact of a report (any role; the enterprise head by default);
                     each reading is logged (:class:`~server.reports.models.ContactAccess`)
worker               nothing
===================  ===========================================================================

Anything else — another enterprise's report above all — is ``not_found``.

A report's status: ``received`` until triaged; ``not_hazard`` when rejected here; once
confirmed, what its hazard's status says (:data:`~server.reports.models.HAZARD_PROGRESS`), so
"being fixed" and "fixed" follow the hazard loop without being copied.
"""
from __future__ import annotations

import io
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import qrcode
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Role, User
from server.alerts import services as alerts
from server.alerts.models import AlertSettings
from server.database import dialect_insert, get_owned, one_or_not_found, page_of
from server.enterprises.models import Enterprise, Site
from server.errors import ZichaError
from server.extensions import db
from server.posts.grants import supervised_site_ids
from server.posts.models import Post
from server.hazards import services as hazards
from server.hazards.models import Hazard, HazardSource, HazardType
from server.reports import photos as report_photos
from server.reports import receipts, sealing
from server.reports.models import (
    HAZARD_PROGRESS, ContactAccess, FamilyReport, FamilyReportEvent, FamilyReportPhoto, ReportReward, ReportSettings, ReportStatus, RewardStatus,
)

# --------------------------------------------------------------------------- the public link


def new_link_token() -> str:
    """The unguessable part of an enterprise's public report URL: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def public_url(token: str) -> str:
    """The public report page of the enterprise whose link token is ``token``: ``<base>/r/<token>``."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/r/{token}"


def settings_of(enterprise_id: int) -> ReportSettings:
    """The enterprise's report settings, made with a fresh link token on first use (two first
    uses at once make one row: ``ON CONFLICT DO NOTHING``)."""
    settings = db.session.get(ReportSettings, enterprise_id)
    if settings is not None:
        return settings
    now = clock.now()
    db.session.execute(
        dialect_insert(ReportSettings.__table__)
        .values(enterprise_id=enterprise_id, link_token=new_link_token(), link_rotated_at=now, contact_reader_ids=None, updated_at=now)
        .on_conflict_do_nothing()
    )
    return db.session.get(ReportSettings, enterprise_id)


def rotate_link(principal: Principal) -> ReportSettings:
    """A new public link token (the notices are reprinted); the old link stops working at once.
    Receipts already given keep working: they do not depend on the link."""
    settings = settings_of(principal.enterprise_id)
    now = clock.now()
    settings.link_token, settings.link_rotated_at = new_link_token(), now
    settings.updated_at, settings.updated_by_id = now, principal.user_id
    db.session.flush()
    return settings


def _enterprise_for(token: str) -> Enterprise:
    """The enterprise whose current link token is ``token``; any other token is ``not_found``."""
    if not token or len(token) > 64:
        raise ZichaError("not_found")
    enterprise = db.session.scalar(
        sa.select(Enterprise).join(ReportSettings, ReportSettings.enterprise_id == Enterprise.id).where(ReportSettings.link_token == token)
    )
    if enterprise is None:
        raise ZichaError("not_found")
    return enterprise


# --------------------------------------------------------------------------- the public side


@dataclass(frozen=True)
class PublicForm:
    """What the report form shows: whose it is and where a hazard may be."""

    enterprise_name: str
    sites: list[dict]  # {"id", "name"}, by name
    max_photos: int
    max_photo_bytes: int
    timezone: str  # the enterprise's, for showing the dates


def public_form(token: str) -> PublicForm:
    """The form behind the public link ``/r/<token>``; an unknown or rotated token is ``not_found``."""
    enterprise = _enterprise_for(token)
    sites = db.session.execute(sa.select(Site.id, Site.name).where(Site.enterprise_id == enterprise.id).order_by(Site.name, Site.id))
    config = current_app.config
    return PublicForm(enterprise.name, [{"id": s.id, "name": s.name} for s in sites], config["REPORT_MAX_PHOTOS"], config["PHOTO_MAX_BYTES"], enterprise.timezone)


@dataclass(frozen=True)
class Submitted:
    """The answer to a submission. ``receipt`` is shown to the reporter once and never again:
    the server keeps only its hash."""

    receipt: str
    submitted_at: datetime


def submit(token: str, data: Mapping[str, Any], photo_files: Iterable[Any] = ()) -> Submitted:
    """Store a family report sent through the public link ``token``; its receipt code.

    ``data`` is what :class:`server.reports.schemas.ReportIn` loads: ``description`` (required),
    ``site_id`` (one of the enterprise's sites, or None), ``location`` (free text),
    ``anonymous``, ``contact`` and ``concerns_supervisor``. ``photo_files`` are werkzeug
    ``FileStorage`` objects or binary streams (empty ones are skipped; see
    :func:`server.reports.photos.clean` for the limits and refusals).

    An anonymous report keeps no contact even if one was typed: the choice to stay anonymous
    wins. A contact is sealed before it is stored. Photos are checked before anything is
    written, so a refused photo refuses the report and leaves no trace. The managers get an
    in-app alert (never a supervisor). Nothing about the sender's connection is taken or kept.
    """
    enterprise = _enterprise_for(token)
    description = (data.get("description") or "").strip()
    if not description:
        raise ZichaError("validation_failed", {"description": ["describe the hazard"]})
    site_id = data.get("site_id")
    if site_id is not None and db.session.scalar(sa.select(Site.id).where(Site.id == site_id, Site.enterprise_id == enterprise.id)) is None:
        raise ZichaError("validation_failed", {"site_id": ["not a site of this enterprise"]})
    anonymous = bool(data.get("anonymous"))
    contact = "" if anonymous else (data.get("contact") or "").strip()
    cleaned = report_photos.clean(photo_files)
    code = receipts.new_code()
    now = clock.now()
    report = FamilyReport(
        enterprise_id=enterprise.id, receipt_hash=receipts.digest(code), status=ReportStatus.RECEIVED, description=description,
        site_id=site_id, location=(data.get("location") or "").strip(), anonymous=anonymous,
        contact_sealed=sealing.seal(contact) if contact else None, concerns_supervisor=bool(data.get("concerns_supervisor")),
        reply="", created_at=now, updated_at=now,
    )
    db.session.add(report)
    db.session.flush()
    report_photos.store(report, cleaned)
    _event(report, "received", None)
    report.alert_id = alerts.raise_for_report(enterprise.id, report.id)
    db.session.flush()
    return Submitted(code, now)


@dataclass(frozen=True)
class ReceiptStatus:
    """What a receipt code may learn: progress, the enterprise's reply, rewards and dates — never
    who handled the report, nor anything the enterprise keeps about it."""

    enterprise_name: str
    status: ReportStatus
    reply: str
    replied_at: datetime | None
    submitted_at: datetime
    updated_at: datetime
    rewards: list[ReportReward]
    timezone: str  # the enterprise's, for showing the dates


def status(receipt_code: str) -> ReceiptStatus:
    """The report a receipt code names. A malformed code and an unknown one are the same
    ``not_found`` (the code is normalised first: case, dashes and spaces do not matter)."""
    digest = receipts.digest(receipt_code)
    report = None if digest is None else db.session.scalar(
        sa.select(FamilyReport).where(FamilyReport.receipt_hash == digest).options(selectinload(FamilyReport.hazard), selectinload(FamilyReport.rewards))
    )
    if report is None:
        raise ZichaError("not_found")
    enterprise = db.session.execute(sa.select(Enterprise.name, Enterprise.timezone).where(Enterprise.id == report.enterprise_id)).one()
    updated_at = report.updated_at if report.hazard is None else max(report.updated_at, report.hazard.updated_at)
    return ReceiptStatus(enterprise.name, report.progress, report.reply, report.replied_at, report.created_at, updated_at, list(report.rewards), enterprise.timezone)


# --------------------------------------------------------------------------- reading


def _visible(principal: Principal) -> list:
    """A filter on reports: what the caller may see in the queue (see the module's table)."""
    clauses = [FamilyReport.enterprise_id == principal.enterprise_id]
    if principal.role in MANAGERS:
        return clauses
    if principal.role is Role.SUPERVISOR:
        return [*clauses, FamilyReport.concerns_supervisor.is_(False), FamilyReport.site_id.in_(supervised_site_ids(principal.enterprise_id, principal.user_id))]
    return [*clauses, sa.false()]


def _progress_is(wanted: ReportStatus) -> sa.ColumnElement[bool]:
    """SQL for "the report's status (as :attr:`FamilyReport.progress` reads it) is ``wanted``"."""
    from_hazard = [h for h, r in HAZARD_PROGRESS.items() if r is wanted]
    return sa.or_(
        sa.and_(FamilyReport.hazard_id.is_(None), FamilyReport.status == wanted),
        FamilyReport.hazard_id.in_(sa.select(Hazard.id).where(Hazard.status.in_(from_hazard))),
    )


_FILTERS = {
    "status": _progress_is,
    "site_id": lambda v: FamilyReport.site_id == v,
    "concerns_supervisor": lambda v: FamilyReport.concerns_supervisor.is_(v),
    "has_contact": lambda v: FamilyReport.contact_sealed.is_not(None) if v else FamilyReport.contact_sealed.is_(None),
    "since": lambda v: FamilyReport.created_at >= v,
    "until": lambda v: FamilyReport.created_at < v,
}

_LOADED = (selectinload(FamilyReport.hazard), selectinload(FamilyReport.photos), selectinload(FamilyReport.site))


def list_reports(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[FamilyReport], int]:
    """The report queue, newest first, filtered by ``status`` (as the reporter sees it),
    ``site_id``, ``concerns_supervisor``, ``has_contact`` and when it arrived (``since``
    inclusive, ``until`` exclusive)."""
    clauses = _visible(principal) + [_FILTERS[name](value) for name, value in filters.items()]
    query = sa.select(FamilyReport).options(*_LOADED).order_by(FamilyReport.created_at.desc(), FamilyReport.id.desc())
    return page_of(FamilyReport, query, clauses, page, page_size)


def report_queue(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[FamilyReport], int]:
    """The triage queue (the dashboard's list): what :func:`list_reports` finds under the same
    filters, those still to triage (received) first, then the newest."""
    clauses = _visible(principal) + [_FILTERS[name](value) for name, value in filters.items()]
    untriaged = sa.case((sa.and_(FamilyReport.hazard_id.is_(None), FamilyReport.status == ReportStatus.RECEIVED), 0), else_=1)
    query = sa.select(FamilyReport).options(*_LOADED).order_by(untriaged, FamilyReport.created_at.desc(), FamilyReport.id.desc())
    return page_of(FamilyReport, query, clauses, page, page_size)


def report_for_alert(principal: Principal, alert_id: int) -> FamilyReport | None:
    """The report a ``report`` alert was raised for, if the caller may see it."""
    return db.session.scalar(sa.select(FamilyReport).where(FamilyReport.alert_id == alert_id, *_visible(principal)))


def available_steps(principal: Principal, report: FamilyReport) -> list[str]:
    """The triage steps ``principal`` may take on ``report`` now (the rules of the functions
    below): ``confirm`` and ``reject`` while received, ``reply`` at any stage, ``reward`` once
    confirmed and not rejected since — all for safety managers and admins — and ``contact`` for
    a designated reader when the reporter left one."""
    steps = []
    if principal.role in MANAGERS:
        if report.status is ReportStatus.RECEIVED:
            steps += ["confirm", "reject"]
        steps.append("reply")
        if report.hazard_id is not None and report.progress is not ReportStatus.NOT_HAZARD:
            steps.append("reward")
    if report.has_contact and principal.user_id in contact_readers(principal.enterprise_id)[0]:
        steps.append("contact")
    return steps


def get_report(principal: Principal, report_id: int, lock: bool = False) -> FamilyReport:
    """One report the caller may see, with its photos, rewards and history; any other id is
    ``not_found``. ``lock``: hold its row until the transaction ends (a triage step)."""
    query = sa.select(FamilyReport).where(FamilyReport.id == report_id, *_visible(principal)).options(
        *_LOADED, selectinload(FamilyReport.rewards), selectinload(FamilyReport.events)
    )
    return one_or_not_found(query, FamilyReport if lock else None)


def report_photo(principal: Principal, report_id: int, sha256: str, variant: str) -> tuple[FamilyReportPhoto, bytes]:
    """A photo of a report the caller may see, and the bytes of its ``display`` copy or ``thumb``."""
    report = get_report(principal, report_id)
    photo = next((p for p in report.photos if p.sha256 == sha256), None)
    if photo is None:
        raise ZichaError("not_found")
    return photo, report_photos.served_copy(photo, variant)


# --------------------------------------------------------------------------- triage


def _require_manager(principal: Principal) -> None:
    # The views already require these roles; the service says so too, for callers that are not views.
    if principal.role not in MANAGERS:
        raise ZichaError("forbidden")


def _event(report: FamilyReport, action: str, actor_id: int | None, note: str = "") -> None:
    now = clock.now()
    report.updated_at = now
    db.session.add(FamilyReportEvent(report_id=report.id, enterprise_id=report.enterprise_id, action=action, at=now, actor_id=actor_id, note=note))
    db.session.flush()
    db.session.expire(report, ["events"])


def _set_reply(report: FamilyReport, text: str | None) -> None:
    if text:
        report.reply, report.replied_at = text, clock.now()


def _untriaged(principal: Principal, report_id: int, action: str) -> FamilyReport:
    _require_manager(principal)
    report = get_report(principal, report_id, lock=True)
    if report.status is not ReportStatus.RECEIVED:
        raise ZichaError("report_transition_invalid", {"status": report.progress.value, "action": action, "allowed_from": [ReportStatus.RECEIVED.value]})
    return report


def _triaged(principal: Principal, report: FamilyReport, note: str) -> None:
    if report.alert_id is not None:
        alerts.resolve_by_system(report.alert_id, principal.user_id, note)


def confirm(principal: Principal, report_id: int, data: Mapping) -> FamilyReport:
    """已确认: a safety manager or admin confirms a received report. A Hazard is reported through
    the hazard loop (:func:`server.hazards.services.report`) with source 举报, found by the
    confirming manager at the moment the report arrived, with the report's site, location,
    description (or a corrected one) and photos, and linked to the report; from then on the
    report's status follows the hazard. ``reply`` optionally answers the reporter at once."""
    report = _untriaged(principal, report_id, "confirm")
    hazard = hazards.report(principal, {
        "description": data.get("description") or report.description,
        "source": HazardSource.REPORT,
        "type": data.get("type") or HazardType.OTHER,
        "site_id": report.site_id,
        "location": report.location,
        "found_at": report.created_at,
        "photos": report_photos.as_evidence(principal, report),
        "note": f"由家属举报 #{report.id} 转入 / from family report #{report.id}",
    })
    report.hazard_id, report.status = hazard.id, ReportStatus.CONFIRMED
    _set_reply(report, data.get("reply"))
    _event(report, "confirmed", principal.user_id, data.get("note") or hazard.number)
    _triaged(principal, report, f"已确认为隐患 {hazard.number} / confirmed as hazard {hazard.number}")
    db.session.expire(report, ["hazard"])
    return report


def reject(principal: Principal, report_id: int, data: Mapping) -> FamilyReport:
    """不属实: a safety manager or admin rejects a received report, with the reply the reporter
    reads (why it is not a hazard). A confirmed report is rejected through its hazard instead."""
    report = _untriaged(principal, report_id, "reject")
    report.status = ReportStatus.NOT_HAZARD
    _set_reply(report, data["reply"])
    _event(report, "rejected", principal.user_id, data.get("note") or data["reply"])
    _triaged(principal, report, "经核实不属实 / not a hazard")
    return report


def reply(principal: Principal, report_id: int, data: Mapping) -> FamilyReport:
    """Answer the reporter (shown on the status page), at any stage; a new reply replaces the
    shown one and the history keeps every reply given."""
    _require_manager(principal)
    report = get_report(principal, report_id, lock=True)
    _set_reply(report, data["reply"])
    _event(report, "replied", principal.user_id, data["reply"])
    return report


def grant_reward(principal: Principal, report_id: int, data: Mapping) -> FamilyReport:
    """举报奖励: record a reward granted for a confirmed report (``amount`` in yuan, ``note``).
    A report not (or no longer) confirmed — received, or not a hazard — gets none
    (``report_transition_invalid``). The reporter sees it through the receipt."""
    _require_manager(principal)
    report = get_report(principal, report_id, lock=True)
    if report.hazard_id is None or report.progress is ReportStatus.NOT_HAZARD:
        raise ZichaError("report_transition_invalid", {"status": report.progress.value, "action": "grant_reward"})
    amount: Decimal = data["amount"]
    db.session.add(ReportReward(
        report_id=report.id, enterprise_id=report.enterprise_id, amount=amount, status=RewardStatus.GRANTED,
        note=data.get("note") or "", granted_at=clock.now(), granted_by_id=principal.user_id,
    ))
    _event(report, "reward_granted", principal.user_id, f"{amount:.2f}")
    db.session.expire(report, ["rewards"])
    return report


def pay_reward(principal: Principal, report_id: int, reward_id: int, data: Mapping) -> FamilyReport:
    """Record that a granted reward was paid (已发放). Paying twice is ``report_reward_paid``."""
    _require_manager(principal)
    report = get_report(principal, report_id, lock=True)
    reward = db.session.get(ReportReward, reward_id)
    if reward is None or reward.report_id != report.id:
        raise ZichaError("not_found")
    if reward.status is RewardStatus.PAID:
        raise ZichaError("report_reward_paid", {"paid_at": reward.paid_at.isoformat()})
    reward.status, reward.paid_at, reward.paid_by_id = RewardStatus.PAID, clock.now(), principal.user_id
    _event(report, "reward_paid", principal.user_id, data.get("note") or f"{reward.amount:.2f}")
    db.session.expire(report, ["rewards"])
    return report


# --------------------------------------------------------------------------- sealed contacts


def contact_readers(enterprise_id: int) -> tuple[list[int], bool]:
    """Who may read sealed contacts, and whether that is the default: the users the settings
    name, or else the enterprise head named in the alert settings (nobody when none is named —
    an admin then designates someone; admins are not readers by their role)."""
    named = db.session.scalar(sa.select(ReportSettings.contact_reader_ids).where(ReportSettings.enterprise_id == enterprise_id))
    if named is not None:
        return list(named), False
    head = db.session.scalar(sa.select(AlertSettings.head_user_id).where(AlertSettings.enterprise_id == enterprise_id))
    return ([head] if head is not None else []), True


def set_contact_readers(principal: Principal, reader_ids: list[int] | None) -> ReportSettings:
    """Name who may read sealed contacts (``None``: back to the enterprise head). Each must be an
    active user of the enterprise (another tenant's id is ``not_found``). The change is written
    to the contact log, so a reader who made themselves one is seen doing it."""
    before, _default = contact_readers(principal.enterprise_id)
    if reader_ids is not None:
        reader_ids = sorted(set(reader_ids))
        for user_id in reader_ids:
            if not get_owned(User, user_id, principal.enterprise_id).active:
                raise ZichaError("validation_failed", {"contact_reader_ids": [f"user {user_id} is not active"]})
    settings = settings_of(principal.enterprise_id)
    now = clock.now()
    settings.contact_reader_ids, settings.updated_at, settings.updated_by_id = reader_ids, now, principal.user_id
    after, _default = contact_readers(principal.enterprise_id)
    db.session.add(ContactAccess(
        enterprise_id=principal.enterprise_id, report_id=None, user_id=principal.user_id, action="readers_changed", at=now,
        details={"from": before, "to": after, "default": reader_ids is None},
    ))
    db.session.flush()
    return settings


@dataclass(frozen=True)
class ContactReading:
    report_id: int
    contact: str | None  # None: the reporter left none (or stayed anonymous)
    read_at: datetime


def read_contact(principal: Principal, report_id: int) -> ContactReading:
    """Open a report's sealed contact: only for a designated reader (anyone else:
    ``report_contact_forbidden``), and logged — who, when, which report — in the same
    transaction as the answer. A reader who supervises the site of a report that concerns its
    supervisor does not see that report at all (``not_found``)."""
    report = db.session.get(FamilyReport, report_id)
    if report is None or report.enterprise_id != principal.enterprise_id:
        raise ZichaError("not_found")
    if principal.user_id not in contact_readers(principal.enterprise_id)[0]:
        raise ZichaError("report_contact_forbidden")
    if report.concerns_supervisor and report.site_id is not None and db.session.scalar(
        supervised_site_ids(principal.enterprise_id, principal.user_id).where(Post.site_id == report.site_id).limit(1)
    ) is not None:
        raise ZichaError("not_found")
    now = clock.now()
    db.session.add(ContactAccess(enterprise_id=report.enterprise_id, report_id=report.id, user_id=principal.user_id, action="read", at=now, details={}))
    db.session.flush()
    contact = None if report.contact_sealed is None else sealing.unseal(report.contact_sealed)
    return ContactReading(report.id, contact, now)


def contact_log(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[ContactAccess], int]:
    """The contact log, newest first: every reading and every change of the readers, filtered by
    ``report_id``, ``user_id`` and ``action``."""
    clauses = [ContactAccess.enterprise_id == principal.enterprise_id]
    clauses += [getattr(ContactAccess, name) == value for name, value in filters.items()]
    query = sa.select(ContactAccess).order_by(ContactAccess.at.desc(), ContactAccess.id.desc())
    return page_of(ContactAccess, query, clauses, page, page_size)


def link_qr_png(enterprise_id: int) -> bytes:
    """The public report link as a QR code (PNG), for notices, group chats and payslips."""
    image = qrcode.make(describe_settings(enterprise_id)["public_url"], box_size=10, border=4)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def describe_settings(enterprise_id: int) -> dict:
    """The settings as the managers see them: the public link and who reads contacts."""
    settings = settings_of(enterprise_id)
    readers, default = contact_readers(enterprise_id)
    return {
        "link_token": settings.link_token, "public_url": public_url(settings.link_token), "link_rotated_at": settings.link_rotated_at,
        "contact_reader_ids": readers, "readers_default": default, "updated_at": settings.updated_at,
    }
