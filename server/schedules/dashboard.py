"""Dashboard pages: schedules (排查计划) and pauses for stoppages (停产检修).

The same rules as the API (``server/schedules/views.py``, ``server/misses/views.py``):
supervisors, safety managers and admins read every schedule; safety managers and admins create
and change them, and pause or un-pause a post or a schedule. A supervisor sees the pauses of the
posts they supervise. Forms are loaded by the API's own ``ScheduleIn``/``SchedulePatch``/
``PauseIn``/``PauseEnd`` — through thin subclasses that only translate what a person types (a
due window as day + ``hh:mm``, a pause's local date and time) into the API's fields — and handed
to the same services.
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import request, url_for
from flask_babel import gettext as _

from server import clock
from server.accounts import services as accounts
from server.accounts.auth import current
from server.accounts.models import Role
from server.checklists import services as checklists
from server.database import commits, get_owned
from server.errors import ZichaError
from server.manage.pages import HTML, N_, done, form_again, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.misses import services as misses
from server.misses.schemas import PauseEnd, PauseIn
from server.posts import services as posts
from server.posts.models import Post
from server.schedules import services
from server.schedules.models import Schedule
from server.schedules.schemas import ScheduleIn, SchedulePatch
from sync.periods import Frequency

blp = page_blueprint("manage_schedules", __name__, "/manage/schedules", "schedules and pauses")

_EDITORS = (Role.ADMIN, Role.SAFETY_MANAGER)
_PAGE_SIZE = 50
DAY = 24 * 60

FREQUENCY_LABELS = {
    Frequency.SHIFT.value: N_("Every shift"),
    Frequency.DAILY.value: N_("Daily"),
    Frequency.WEEKLY.value: N_("Weekly"),
    Frequency.MONTHLY.value: N_("Monthly"),
    Frequency.QUARTERLY.value: N_("Quarterly"),
    Frequency.YEARLY.value: N_("Yearly"),
}


# --------------------------------------------------------------------------- the due window as people write it

_CLOCK = re.compile(r"^\s*(\d{1,2})\s*[:：]\s*(\d{2})\s*$")


def window_edge(minutes: int | None) -> dict:
    """A window edge in the model's minutes as the form shows it: the day of the period
    (1 = its first day) and the time on that day (``"08:00"``); blank for None."""
    if minutes is None:
        return {"day": "1", "time": ""}
    day, rest = divmod(minutes, DAY)
    return {"day": str(day + 1), "time": f"{rest // 60:02d}:{rest % 60:02d}"}


def window_text(frequency: Frequency, minutes: int | None) -> str:
    """A window edge for a table: a clock time for daily schedules, ``+hh:mm`` after a shift
    starts, ``day N hh:mm`` for longer periods; "period end" for None."""
    if minutes is None:
        return _("period end")
    edge = window_edge(minutes)
    if frequency is Frequency.SHIFT:
        hours, rest = divmod(minutes, 60)
        return f"+{hours:02d}:{rest:02d}"
    if frequency is Frequency.DAILY and minutes <= DAY:
        return "24:00" if minutes == DAY else edge["time"]
    return _("day %(day)s %(time)s", day=edge["day"], time=edge["time"])


def _edge_minutes(data: dict, name: str) -> int | None:
    """``<name>`` (``hh:mm``) on day ``<name>_day`` → minutes from the period's start; the
    complaint under ``<name>`` when it is not a time."""
    text = data.pop(name, None)
    day_text = data.pop(f"{name}_day", None)
    if text is None:
        return None
    match = _CLOCK.match(str(text))
    if not match or int(match[2]) > 59 or int(match[1]) > 24 or (int(match[1]) == 24 and int(match[2]) != 0):
        raise ma.ValidationError({name: [_("Write the time as hh:mm, e.g. 08:30.")]})
    try:
        day = int(day_text) if day_text not in (None, "") else 1
    except (TypeError, ValueError):
        day = 0
    if not 1 <= day <= 366:
        raise ma.ValidationError({f"{name}_day": [_("The day is a number from 1 (the period's first day) to 366.")]})
    return (day - 1) * DAY + int(match[1]) * 60 + int(match[2])


class _WindowForm:
    """Mixin for the API's schedule schemas: ``due_start``/``due_end`` (``hh:mm``) and
    ``due_start_day``/``due_end_day`` become ``due_start_minutes``/``due_end_minutes`` before
    the API's own fields validate them. A blank start is the period's start, a blank end its end."""

    @ma.pre_load
    def _minutes(self, data, **_kwargs):
        data = {key: data[key] for key in data}
        errors = {}
        for name, empty in (("due_start", 0), ("due_end", None)):
            if name not in data:
                data.pop(f"{name}_day", None)
                continue
            try:
                minutes = _edge_minutes(data, name)
            except ma.ValidationError as error:
                errors.update(error.messages)
                continue
            data[f"{name}_minutes"] = empty if minutes is None else minutes
        if errors:
            raise ma.ValidationError(errors)
        return data


class ScheduleForm(_WindowForm, ScheduleIn):
    """``ScheduleIn`` as a person fills it in (the due window as day + hh:mm)."""


class ScheduleEditForm(_WindowForm, SchedulePatch):
    """``SchedulePatch`` as a person fills it in (the due window as day + hh:mm)."""


class PauseForm(PauseIn):
    """``PauseIn`` with the start and end as a person types them: a date and time in the
    enterprise's zone (``2026-11-24T08:00``, what a ``datetime-local`` field sends)."""

    @ma.pre_load
    def _local(self, data, **_kwargs):
        return _localised(data)


class PauseEndForm(PauseEnd):
    """``PauseEnd`` with the end as a local date and time (blank: now)."""

    @ma.pre_load
    def _local(self, data, **_kwargs):
        return _localised(data)


def _localised(data) -> dict:
    """The form's naive local times (``starts_at``, ``ends_at``) given the enterprise's zone,
    so the API's aware-datetime fields take them; anything unreadable is left for them to refuse."""
    data = {key: data[key] for key in data}
    zone = ZoneInfo(current().timezone)
    for name in ("starts_at", "ends_at"):
        value = data.get(name)
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is None:
                data[name] = moment.replace(tzinfo=zone).isoformat()
    return data


# --------------------------------------------------------------------------- schedules


def _form_context(schedule: Schedule | None = None) -> dict:
    """The choices of a schedule's form: posts, published checklists, frequencies, people."""
    enterprise_id = current().enterprise_id
    people = [u for u in accounts.list_users(enterprise_id) if u.active and u.role is not Role.WORKER]
    if schedule is not None and schedule.responsible is not None and schedule.responsible not in people:
        people.append(schedule.responsible)
    return {
        "schedule": schedule,
        "posts": posts.list_posts(enterprise_id),
        "checklists": [c for c in checklists.list_checklists(enterprise_id) if c.current_version_id is not None],
        "frequencies": list(Frequency),
        "frequency_labels": FREQUENCY_LABELS,
        "people": people,
    }


def _schedule_values(schedule: Schedule) -> dict:
    start, end = window_edge(schedule.due_start_minutes), window_edge(schedule.due_end_minutes)
    return {
        "due_start": start["time"], "due_start_day": start["day"], "due_end": end["time"], "due_end_day": end["day"],
        "responsible_id": str(schedule.responsible_id or ""), "active": "true" if schedule.active else "false",
    }


@blp.route("/", methods=["GET"])
@signed_in()
@blp.response(200, description="Schedules, optionally of one post (?post_id=): checklist, frequency, due window, responsible, active, paused now", **HTML)
def schedules():
    """Every schedule of the enterprise, or of one post."""
    enterprise_id = current().enterprise_id
    post_id = request.args.get("post_id", type=int)
    post = get_owned(Post, post_id, enterprise_id) if post_id else None
    paused_posts, paused_schedules = misses.paused_now(enterprise_id)
    return render(
        "schedules/list.html",
        schedules=services.list_schedules(enterprise_id, post_id),
        post=post,
        posts=posts.list_posts(enterprise_id),
        paused_posts=paused_posts,
        paused_schedules=paused_schedules,
        frequency_labels=FREQUENCY_LABELS,
        window_text=window_text,
    )


@blp.route("/new", methods=["GET"])
@signed_in(*_EDITORS)
@blp.response(200, description="The form for a new schedule (admin, safety manager)", **HTML)
def new():
    """A new schedule: post, checklist, frequency, due window, responsible person."""
    values = {"post_id": request.args.get("post_id", ""), "frequency": Frequency.DAILY.value, "due_start_day": "1", "due_end_day": "1"}
    return render("schedules/form.html", values=values, **_form_context())


@blp.route("/", methods=["POST"])
@signed_in(*_EDITORS)
@blp.response(303, description="Created: to the new schedule's page")
@blp.alt_response(422, description="Invalid input: the form again as typed, with the message", **HTML)
@commits
def create():
    """Put a checklist on a post at a frequency (admin, safety manager)."""
    try:
        schedule = services.create_schedule(current().enterprise_id, form_data(ScheduleForm()))
    except ZichaError as error:
        return form_again(error, "schedules/form.html", **_form_context())
    return done(_("Schedule created."), to=url_for("manage_schedules.schedule", schedule_id=schedule.id))


def _schedule_context(schedule: Schedule) -> dict:
    principal = current()
    paused_posts, paused_schedules = misses.paused_now(principal.enterprise_id)
    pauses, _total = misses.list_pauses(principal, {"schedule_id": schedule.id}, 1, _PAGE_SIZE)
    post_pauses, _total = misses.list_pauses(principal, {"post_id": schedule.post_id}, 1, _PAGE_SIZE)
    return {
        **_form_context(schedule),
        "paused": schedule.id in paused_schedules or schedule.post_id in paused_posts,
        "pauses": sorted(pauses + post_pauses, key=lambda p: (p.starts_at, p.id), reverse=True),
        "window_text": window_text,
        "now": clock.now(),
    }


@blp.route("/<int:schedule_id>", methods=["GET"])
@signed_in()
@blp.response(200, description="A schedule: its facts and pauses; for managers the edit form and a pause form", **HTML)
def schedule(schedule_id):
    """One schedule."""
    schedule = get_owned(Schedule, schedule_id, current().enterprise_id)
    return render("schedules/detail.html", values=_schedule_values(schedule), **_schedule_context(schedule))


@blp.route("/<int:schedule_id>", methods=["POST"])
@signed_in(*_EDITORS)
@blp.response(303, description="Saved: back to the schedule")
@blp.alt_response(422, description="Invalid input: the form again as typed, with the message", **HTML)
@commits
def update(schedule_id):
    """Change a schedule's due window or responsible person, or switch it on or off (admin,
    safety manager). Post, checklist and frequency stay: periods already judged hang on them."""
    try:
        services.update_schedule(
            current().enterprise_id, schedule_id, form_data(ScheduleEditForm(), blank_is_none=("due_start", "due_end", "responsible_id"))
        )
    except ZichaError as error:
        schedule = get_owned(Schedule, schedule_id, current().enterprise_id)
        return form_again(error, "schedules/detail.html", **_schedule_context(schedule))
    return done(_("Schedule saved."))


# --------------------------------------------------------------------------- pauses

_STATES = {"in_force": True, "other": False}


@blp.route("/pauses", methods=["GET"])
@signed_in()
@blp.response(200, description="Pauses in force now (?state=in_force) or the others (?state=other: ended or not started), of one post or schedule (?post_id=, ?schedule_id=); for managers a form to pause", **HTML)
def pauses():
    """Pauses for stoppages, newest first (supervisors: their posts')."""
    principal = current()
    state = request.args.get("state", "in_force")
    if state not in _STATES:
        state = "in_force"
    filters = {"active": _STATES[state]}
    for name in ("post_id", "schedule_id"):
        value = request.args.get(name, type=int)
        if value:
            filters[name] = value
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = misses.list_pauses(principal, filters, page, _PAGE_SIZE)
    enterprise_id = principal.enterprise_id
    return render(
        "schedules/pauses.html",
        pauses=rows,
        state=state,
        page=page,
        pages=max(math.ceil(total / _PAGE_SIZE), 1),
        args={k: v for k, v in request.args.items() if k != "page"},
        posts=posts.list_posts(enterprise_id),
        schedules=services.list_schedules(enterprise_id),
        frequency_labels=FREQUENCY_LABELS,
        values={"post_id": str(filters.get("post_id", "")), "schedule_id": str(filters.get("schedule_id", "")), "reason": ""},
        now=clock.now(),
    )


@blp.route("/pauses", methods=["POST"])
@signed_in(*_EDITORS)
@blp.response(303, description="Paused: back to the page the form was on")
@commits
def create_pause():
    """Pause a post or one schedule for a stoppage, from now or a given local time, until
    lifted or a given end (admin, safety manager): periods that overlap it are not misses."""
    pause = misses.create_pause(current(), form_data(PauseForm()))
    target = pause.post.name if pause.post else f"{pause.schedule.post.name} · {pause.schedule.checklist.name}"
    return done(_("Paused: %(target)s.", target=target))


@blp.route("/pauses/<int:pause_id>/end", methods=["POST"])
@signed_in(*_EDITORS)
@blp.response(303, description="Ended: back to the page the form was on")
@commits
def end_pause(pause_id):
    """Lift a pause now (admin, safety manager); missed-check detection resumes from then."""
    data = form_data(PauseEndForm())
    misses.end_pause(current(), pause_id, data["ends_at"])
    return done(_("The pause is ended; checks are due again from now on."))
